package templates

import "embed"

// Scaffolds holds the project templates, one directory per template under
// scaffold/ (scaffold/vm-dev, scaffold/vm-minimal). The files are copied
// verbatim, by vmhook new and by `nix flake init -t`, so they contain no
// placeholders. The all: prefix keeps dotfiles such as .envrc.
//
//go:embed all:scaffold
var Scaffolds embed.FS
