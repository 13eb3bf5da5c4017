package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/stdlib"
)

func doctorCommands(r *rt) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "doctor",
			Usage: "check that Lima, direnv and the shell integration are set up",
			Description: "Prints one line per check, with what to do about each one that fails,\n" +
				"and exits 1 when any fails. Run it from the shell you use.",
			Action: func(c *cli.Context) error {
				if c.Args().Len() > 0 {
					return usagef("vmhook doctor takes no arguments")
				}
				return r.doctor(c.Context)
			},
		},
	}
}

// doctorCheck is one line of vmhook doctor.
type doctorCheck struct {
	name string
	ok   bool
	// warn marks a check that passed with a remark worth acting on.
	warn bool
	msg  string
}

func checkOK(name, format string, args ...any) doctorCheck {
	return doctorCheck{name: name, ok: true, msg: fmt.Sprintf(format, args...)}
}

func checkFailed(name, format string, args ...any) doctorCheck {
	return doctorCheck{name: name, msg: fmt.Sprintf(format, args...)}
}

func (r *rt) doctor(ctx context.Context) error {
	env, err := r.env()
	if err != nil {
		return err
	}
	checks := []doctorCheck{
		r.checkLimactl(ctx),
		checkUser(),
		r.checkLimaHome(env),
		r.checkHook(),
		r.checkEnter(),
		r.checkStdlib(env),
		r.checkDirenv(ctx),
		checkLockDir(env),
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	failed := 0
	for _, c := range checks {
		mark := "ok"
		switch {
		case !c.ok:
			mark = "FAIL"
			failed++
		case c.warn:
			mark = "warn"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", mark, c.name, c.msg)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("%d of %d checks failed", failed, len(checks))}
	}
	return nil
}

// commandOutput runs a short query such as --version, bounded in time.
func (r *rt) commandOutput(ctx context.Context, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = r.environ
	// Killed at the time-out, it may have left a child holding its output
	// open: stop waiting for that soon after.
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, lastLineOf(msg))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func lastLineOf(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (r *rt) checkLimactl(ctx context.Context) doctorCheck {
	lima, err := r.limactl()
	if err != nil {
		return checkFailed("limactl", "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := lima.Output(ctx, "--version")
	version := strings.TrimSpace(string(out))
	if err != nil {
		return checkFailed("limactl", "%s --version failed: %v; reinstall Lima or set LIMACTL to a working limactl", lima.Path, err)
	}
	c := checkOK("limactl", "%s (%s)", lima.Path, version)
	if v := projectvm.ParseLimaVersion(version); !v.Known() || v.Major < 1 || v.Major > 2 {
		c.warn = true
		c.msg += "; vmhook supports Lima v1.x and v2.x (tested with 1.0.7 and 2.2.0)"
	}
	return c
}

func checkUser() doctorCheck {
	if os.Geteuid() == 0 {
		return checkFailed("user", "running as root, which Lima refuses; run vmhook as your own user")
	}
	return checkOK("user", "not root")
}

func (r *rt) checkLimaHome(env projectvm.Env) doctorCheck {
	where := "LIMA_HOME " + env.LimaHome
	if r.getenv("LIMA_HOME") == "" {
		where = "LIMA_HOME unset, using " + env.LimaHome
	}
	// The VM of the project loaded in this shell, else the shortest name
	// vmhook can fall back to (a hash with the -dev suffix).
	name := r.getenv("VMHOOK_VM")
	if name == "" {
		name = "vm-00000000-dev"
	}
	if err := projectvm.CheckSocketBudget(env.LimaHome, name); err != nil {
		return checkFailed("lima home", "%s: %v", where, err)
	}
	c := checkOK("lima home", "%s (socket paths for %s fit)", where, name)
	// Lima merges its own config files into every instance; mounts there
	// reach VMs that vmhook keeps to the project (or, named, to nothing).
	for _, g := range projectvm.GlobalLimaMounts(env.LimaHome) {
		c.warn = true
		if g.Err != nil {
			c.msg += fmt.Sprintf("; cannot read %s: %v", g.Path, g.Err)
			continue
		}
		c.msg += fmt.Sprintf("; %s mounts %s in every VM, vmhook's included (%s): move those mounts to the VMs that need them", g.Path, strings.Join(g.Mounts, ", "), g.When)
	}
	return c
}

// checkHook reads the marker the hook exports, "SHELL PID". The PID tells the
// shell that loaded the hook from a child shell that merely inherited it.
func (r *rt) checkHook() doctorCheck {
	marker := r.getenv("VMHOOK_HOOK")
	shell := filepath.Base(r.getenv("SHELL"))
	fix := "add `eval \"$(vmhook init SHELL)\"` to your shell's rc file, after direnv's hook"
	switch shell {
	case "bash":
		fix = "add `eval \"$(vmhook init bash)\"` to ~/.bashrc, after direnv's hook"
	case "zsh":
		fix = "add `eval \"$(vmhook init zsh)\"` to ~/.zshrc, after direnv's hook"
	case "fish":
		fix = "add `vmhook init fish | source` to ~/.config/fish/config.fish, after direnv's hook"
	}
	if marker == "" {
		return checkFailed("hook", "not loaded in this shell; %s", fix)
	}
	name, pidText, _ := strings.Cut(marker, " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return checkFailed("hook", "VMHOOK_HOOK=%q is not what the hook sets; unset it and %s", marker, fix)
	}
	if pid != os.Getppid() {
		return checkFailed("hook", "loaded in another %s (pid %d), not in the shell running doctor (pid %d); %s", name, pid, os.Getppid(), fix)
	}
	return checkOK("hook", "%s hook loaded in this shell (pid %d)", name, pid)
}

// checkEnter says whether the hook enters VMs through vmhook-enter.
func (r *rt) checkEnter() doctorCheck {
	self := r.selfPath()
	if p := enterPath(self); p != "" {
		if !entry.Supported {
			c := checkOK("enter", "%s installed; it hands every entry to vmhook shell here (records need Linux's /proc)", p)
			c.warn = true
			return c
		}
		return checkOK("enter", "the hook enters through %s", p)
	}
	c := checkOK("enter", "no vmhook-enter beside %s: the hook enters through vmhook shell, a few milliseconds slower; install both with go install ./cmd/...", self)
	c.warn = true
	return c
}

// direnvConfigDir is where direnv looks for lib/*.sh and direnvrc.
func (r *rt) direnvConfigDir(env projectvm.Env) string {
	if d := r.getenv("DIRENV_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(env.ConfigHome, "direnv")
}

func (r *rt) checkStdlib(env projectvm.Env) doctorCheck {
	dir := filepath.Join(r.direnvConfigDir(env), "lib")
	fix := fmt.Sprintf("run: mkdir -p %s && vmhook stdlib > %s", shellQuote(dir), shellQuote(filepath.Join(dir, "vmhook.sh")))
	libs, _ := filepath.Glob(filepath.Join(dir, "*.sh"))
	current := stdlib.Render(r.selfPath())
	for _, lib := range libs {
		b, err := os.ReadFile(lib)
		if err != nil || !bytes.Contains(b, []byte("use_vm()")) {
			continue
		}
		if string(b) != current {
			c := checkOK("stdlib", "%s is from another vmhook; refresh it: vmhook stdlib > %s", lib, shellQuote(lib))
			c.warn = true
			return c
		}
		return checkOK("stdlib", "%s", lib)
	}
	return checkFailed("stdlib", "use vm is not installed for direnv (no use_vm in %s/*.sh); %s", dir, fix)
}

func (r *rt) checkDirenv(ctx context.Context) doctorCheck {
	p, ok := entry.LookPath("direnv", r.getenv("PATH"))
	if !ok {
		return checkFailed("direnv", "direnv not found on PATH; install it with your package manager")
	}
	version, err := r.commandOutput(ctx, p, "version")
	if err != nil {
		return checkFailed("direnv", "%s version failed: %v; reinstall direnv", p, err)
	}
	return checkOK("direnv", "%s (%s)", p, version)
}

func checkLockDir(env projectvm.Env) doctorCheck {
	dir := env.LockDir()
	fix := "fix its permissions, or set XDG_STATE_HOME to a writable directory"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return checkFailed("locks", "cannot create %s: %v; %s", dir, unwrapPath(err), fix)
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return checkFailed("locks", "cannot write in %s: %v; %s", dir, unwrapPath(err), fix)
	}
	f.Close()
	os.Remove(f.Name())
	return checkOK("locks", "%s is writable", dir)
}

// unwrapPath drops the path from a *PathError, which the message names already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
