// Command vmhook-enter enters a project's running VM as `vmhook shell
// --project DIR [-- CMD ARGS…]` would, in a fraction of vmhook's start-up
// time: the prompt hook and vm-shell call it. It repeats the last decision
// vmhook recorded for DIR (package entry) when nothing it was taken from
// has changed, and otherwise runs `vmhook shell` with the same arguments,
// from the vmhook binary installed beside it. It never decides anything
// itself.
package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"

	"github.com/vmhook/vmhook/internal/entry"
)

func main() {
	args := os.Args[1:]
	self, err := os.Executable()
	if err != nil {
		os.Stderr.WriteString("vmhook-enter: cannot find its own path (" + err.Error() + "); run vmhook shell instead\n")
		os.Exit(127)
	}
	vmhook := filepath.Join(filepath.Dir(self), "vmhook")
	environ := os.Environ()
	if r, ok := decided(args, environ, vmhook); ok {
		for _, s := range r.Said {
			os.Stderr.WriteString(s)
		}
		// As from vmhook, limactl gets SIGINT and SIGTERM as they are by
		// default even when the hook ignores them while entering (a
		// handled signal is reset by exec, an ignored one is not).
		if signal.Ignored(syscall.SIGINT) || signal.Ignored(syscall.SIGTERM) {
			signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM)
		}
		// Should the exec fail, vmhook decides, and says why.
		_ = syscall.Exec(r.Path, r.Argv, environ)
	}
	err = syscall.Exec(vmhook, append([]string{"vmhook", "shell"}, args...), environ)
	os.Stderr.WriteString("vmhook-enter: cannot run " + vmhook + " (" + err.Error() + "); install vmhook beside vmhook-enter\n")
	os.Exit(127)
}

// decided returns the recorded decision for args if it still holds. Only
// the forms the hook and vm-shell use are known: --project DIR, then
// optionally -- CMD ARGS…; anything else is vmhook's to read.
func decided(args, environ []string, vmhook string) (*entry.Record, bool) {
	project, cmd, ok := parse(args)
	if !ok || !entry.Supported || !filepath.IsAbs(project) {
		return nil, false
	}
	dir := entry.Dir(environ)
	path := entry.Path(dir, project, cmd)
	if path == "" {
		return nil, false
	}
	r, err := entry.Load(path, dir, project)
	if err != nil {
		return nil, false
	}
	terminal := isTerminal(0) && isTerminal(1)
	if !cmd && !terminal {
		return nil, false // vmhook explains
	}
	if !r.Check(project, cmd, environ, vmhook, terminal, isTerminal(2)) {
		return nil, false
	}
	// The decision holds wherever in the project the shell stands; the
	// guest directory is this run's, by vmhook's own rule.
	r.Argv = slices.Clone(r.Argv)
	if i := slices.Index(r.Argv, "--workdir"); i > 0 && i+1 < len(r.Argv) {
		r.Argv[i+1] = entry.Workdir(project, "")
	}
	if cmd {
		// The decision is what comes before the command, which is this
		// run's: everything after the first --.
		r.Argv = append(r.Argv[:len(r.Argv):len(r.Argv)], args[slices.Index(args, "--")+1:]...)
	}
	return r, true
}

// parse reads --project DIR (or --project=DIR, -p DIR) and reports whether
// a command follows after --.
func parse(args []string) (project string, cmd, ok bool) {
	if len(args) == 0 {
		return "", false, false
	}
	switch name, value, inline := strings.Cut(args[0], "="); {
	case name != "--project" && name != "-p":
		return "", false, false
	case inline:
		project, args = value, args[1:]
	case len(args) < 2:
		return "", false, false
	default:
		project, args = args[1], args[2:]
	}
	if project == "" || strings.HasPrefix(project, "-") {
		return "", false, false
	}
	switch {
	case len(args) == 0:
		return project, false, true
	case args[0] == "--" && len(args) > 1:
		return project, true, true
	}
	return "", false, false
}

// isTerminal reports whether fd is a terminal, as vmhook tells.
func isTerminal(fd uintptr) bool { return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd) }
