# The host-side dev shell: the tools that drive this project's VM. direnv
# loads it with `use nix` when flakes are off; flake.nix reuses it.
{ pkgs ? import <nixpkgs> { } }:

pkgs.mkShell {
  packages = [
    pkgs.lima
    pkgs.just
  ];
}
