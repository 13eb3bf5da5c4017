{
  description = "vmhook: a Lima VM for every project, entered when you cd into it";

  # No inputs: the templates are plain files, so `nix flake init -t` and
  # `nix flake show` need nothing fetched.
  outputs = { self }:
    let
      # `nix flake init` refuses to overwrite a file that differs: Nix 2.8
      # stops at the first one, having written the files before it; newer
      # Nix writes the others and exits non-zero. An existing repository
      # nearly always has a .gitignore and often an .envrc, so the flake
      # templates leave those two to `vmhook new .`, which merges them.
      scaffold = name: builtins.path {
        name = "vmhook-${name}";
        path = ./templates/scaffold + "/${name}";
        filter = path: type: !(builtins.elem (baseNameOf path) [ ".envrc" ".gitignore" ]);
      };
    in
    {
      templates = {
        vm-dev = {
          path = scaffold "vm-dev";
          description = "Project with its own Lima VM, a Nix dev shell and just recipes";
          welcomeText = ''
            # A vmhook project

            This directory now has `vmhook.yaml`, a Nix dev shell (`flake.nix`,
            `shell.nix`) and a `justfile`. Finish with `vmhook new .`: it adds
            `use vm` to `.envrc` and `.direnv/`, `.lima/` to `.gitignore`,
            keeping what they hold, and writes anything still missing.

            - Install the direnv extension once: `vmhook stdlib > ~/.config/direnv/lib/vmhook.sh`
            - Run `direnv allow`: the VM is created and entered at the next prompt.
            - Or, without the shell hook: `vmhook shell`. See `vmhook status` and `just --list`.
          '';
        };
        vm-minimal = {
          path = scaffold "vm-minimal";
          description = "Project with its own Lima VM: .envrc and vmhook.yaml only";
          welcomeText = ''
            # A vmhook project

            This directory now has `vmhook.yaml`. Finish with
            `vmhook new --template vm-minimal .`: it adds `use vm` to `.envrc`
            and `.direnv/`, `.lima/` to `.gitignore`, keeping what they hold.

            - Install the direnv extension once: `vmhook stdlib > ~/.config/direnv/lib/vmhook.sh`
            - Run `direnv allow`: the VM is created and entered at the next prompt.
            - Or, without the shell hook: `vmhook shell`. See `vmhook status`.
          '';
        };
        default = self.templates.vm-dev;
      };
    };
}
