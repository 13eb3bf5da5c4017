// Package detect reads a repository vmhook new is adopted into and says, as
// a commented vmhook.yaml, what its VM needs: the ports its dev servers use,
// the toolchain to install in the guest (the version the repository pins, or
// the distribution's), and how its dependencies are installed again when a
// lockfile changes. Every choice carries the file (and line or field) that
// led to it.
//
// What is recognised is one table, in table.go: Detectors (one row per kind
// of project: its marker files and a function from a read-only view of a
// directory to what it found), Toolchains (how each language is installed in
// the guest) and Frameworks (dev server commands and their default ports).
// A new stack is a row in Detectors, with its function in a file of its own
// beside the others (node.go, ruby.go, …). Detect (walk.go) runs them in the
// root, in the workspaces a monorepo names and in the directories just below
// the root; Render (render.go) turns what they found into vmhook.yaml.
//
// Pinned versions are installed with mise, which reads .tool-versions,
// mise.toml and the idiomatic .nvmrc, .node-version, .python-version and
// .ruby-version files itself, so the guest follows the repository when a
// pin changes (the step compares a hash of the pin files at every boot)
// and the host's version manager, whichever it is, reads the same files.
// Without a pin the distribution's packages are installed with apt-get
// (Debian and Ubuntu; a guest without apt-get fails the step with one line).
// Go needs no pin of its own: go.mod's go and toolchain lines are honoured by
// the go command (GOTOOLCHAIN=auto); Rust's rust-toolchain file by rustup.
//
// The repository is untrusted input. Every file is read through Repo: at
// most 256 KiB each and a fixed number in all, without following symbolic
// links (a link is treated as absent and noted), without blocking (a FIFO
// or device is refused after a non-blocking open, never read), and nothing
// in it is executed or written. What cannot be read becomes a note ("could
// not read package.json: …") and the rest goes on.
//
// Nothing read from the repository reaches a script unchecked: directory
// names must be plain words (others are skipped), versions and tool names
// match a narrow pattern, and file names are quoted as one shell word.
//
// It imports only the standard library, go.yaml.in/yaml/v3,
// internal/safefile and internal/shellquote; it must not import projectvm,
// cmd/... or urfave/cli: it
// knows vmhook.yaml's fields only as text, and a test in cmd/vmhook loads
// what it writes through the real settings loader.
package detect
