{
  description = "vmhook: a Lima VM for every project, entered when you cd into it";

  # No inputs: the templates are plain files, so `nix flake init -t` and
  # `nix flake show` need nothing fetched.
  outputs = { self }: {
    templates = {
      vm-dev = {
        path = ./templates/scaffold/vm-dev;
        description = "Project with its own Lima VM, a Nix dev shell and just recipes";
        welcomeText = ''
          # A vmhook project

          This directory now has `.envrc` (`use vm`), `vmhook.yaml`, a Nix dev
          shell (`flake.nix`, `shell.nix`) and a `justfile`.

          - Install the direnv extension once: `vmhook stdlib > ~/.config/direnv/lib/vmhook.sh`
          - Run `direnv allow`: the VM is created and entered at the next prompt.
          - Or, without the shell hook: `vmhook shell`. See `vmhook status` and `just --list`.
        '';
      };
      vm-minimal = {
        path = ./templates/scaffold/vm-minimal;
        description = "Project with its own Lima VM: .envrc and vmhook.yaml only";
        welcomeText = ''
          # A vmhook project

          This directory now has `.envrc` (`use vm`) and `vmhook.yaml`.

          - Install the direnv extension once: `vmhook stdlib > ~/.config/direnv/lib/vmhook.sh`
          - Run `direnv allow`: the VM is created and entered at the next prompt.
          - Or, without the shell hook: `vmhook shell`. See `vmhook status`.
        '';
      };
      default = self.templates.vm-dev;
    };
  };
}
