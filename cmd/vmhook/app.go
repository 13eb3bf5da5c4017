package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/projectvm"
)

// Main runs vmhook and returns its exit code. It is the only place that turns
// errors into output.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	return (&rt{args: args, stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}).main()
}

// main is Main for the run r describes.
func (r *rt) main() int {
	args := r.args
	r.start = time.Now()
	ctx, stop := withSignals(context.Background(), r.stderr)
	defer stop()
	r.say = printer{w: r.stderr, color: isTerminal(r.stderr) && r.getenv("NO_COLOR") == "", said: &r.said}
	// urfave/cli runs the action when "--" precedes the completion flag; a
	// completion request must never start or enter anything.
	if n := len(args); n > 1 && args[n-1] == "--generate-bash-completion" {
		if i := slices.Index(args, "--"); i >= 0 && i < n-1 {
			return exitOK
		}
	}
	var err error
	if cl, cmd, ok := shellFast(args); ok && !r.fullCLI {
		// The shell command as urfave/cli would run it: it has no
		// settings flags, so flagsFrom would give none.
		cl.ctx = ctx
		err = r.shell(cl, projectvm.Flags{}, cmd)
	} else {
		err = newApp(r).RunContext(ctx, args)
	}
	if s := signalOf(ctx); s != nil && err != nil {
		err = interruption(s, err)
	}
	if err != nil {
		var ee *exitError
		if !(errors.As(err, &ee) && ee.msg == "") {
			r.say.errorLine(err)
		}
	}
	return exitCode(err)
}

// rt is what one vmhook run sees of the world.
type rt struct {
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	say            printer
	// execFn, when set, stands in for syscall.Exec (benchmarks).
	execFn func(path string, argv, env []string) error
	// fullCLI makes every run go through urfave/cli, the shell's fast
	// path included (tests compare the two).
	fullCLI bool
	// start is when the run began; said are the lines it printed, and
	// busy is set once it showed progress or started the VM: what
	// recordEntry needs to know.
	start time.Time
	said  []string
	busy  atomic.Bool
	// saidOnce is set when the run said something meant for this entry
	// only (what the guest's environment left out, after a change), which
	// a recorded decision must not repeat.
	saidOnce bool
	// command is set when the run ends in a command (vmhook shell -- CMD),
	// whose stderr is the command's: the ports line is left to status.
	command bool
}

func (r *rt) getenv(k string) string { return entry.Getenv(r.environ, k) }

func (r *rt) env() (projectvm.Env, error) {
	return projectvm.NewEnv(r.environ, projectvm.Host{OS: runtime.GOOS, Arch: runtime.GOARCH, UID: os.Getuid()})
}

// interactive reports whether both stdin and stdout are terminals.
func (r *rt) interactive() bool { return isTerminal(r.stdin) && isTerminal(r.stdout) }

func (r *rt) limactl() (*projectvm.Command, error) {
	c, err := projectvm.FindLimactl(r.getenv("LIMACTL"))
	if err != nil {
		return nil, err
	}
	c.Env = r.environ
	c.ExecFunc = r.execFn
	return c, nil
}

// durationEnv reads a positive duration from the environment variable name,
// def when it is unset.
func (r *rt) durationEnv(name string, def time.Duration) (time.Duration, error) {
	v := r.getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a duration; set it to e.g. 15m or 90s, or unset it", name, v)
	}
	return d, nil
}

// manager wires a Manager with progress output for people.
func (r *rt) manager(env projectvm.Env) (*projectvm.Manager, error) {
	lima, err := r.limactl()
	if err != nil {
		return nil, err
	}
	// How long to wait for another vmhook on the same VM, and how long one
	// create or start may take: two bounds, so that a slow boot is not cut
	// short by the lock's and a stuck holder is not waited on for a boot's.
	lockTimeout, err := r.durationEnv("VMHOOK_LOCK_TIMEOUT", 15*time.Minute)
	if err != nil {
		return nil, err
	}
	if lima.StartTimeout, err = r.durationEnv("VMHOOK_START_TIMEOUT", projectvm.DefaultStartTimeout); err != nil {
		return nil, err
	}
	return &projectvm.Manager{
		Lima:        lima,
		Env:         env,
		OnWait:      func(name string) { r.say.line("waiting for %s to start…", name) },
		OnNotice:    func(msg string) { r.say.line("%s", msg) },
		LockTimeout: lockTimeout,
	}, nil
}

var projectFlags = []cli.Flag{
	&cli.StringFlag{Name: "project", Aliases: []string{"p"}, Usage: "project `DIR` (default: found by walking up from the current directory)"},
	&cli.StringFlag{Name: "vm", Usage: "a named VM defined in ~/.config/vmhook/vms/`NAME`.yaml"},
}

// settingsFlags are the settings flags of `use vm`, config and up, from
// the settings table.
var settingsFlags = func() []cli.Flag {
	var out []cli.Flag
	for _, f := range projectvm.SettingsFlags() {
		if f.Repeat {
			out = append(out, &cli.StringSliceFlag{Name: f.Name, Usage: f.Usage})
		} else {
			out = append(out, &cli.StringFlag{Name: f.Name, Usage: f.Usage})
		}
	}
	return out
}()

// flagsFrom reads the settings flags given to a command.
func flagsFrom(c *cli.Context) projectvm.Flags {
	out := projectvm.Flags{}
	for _, f := range projectvm.SettingsFlags() {
		if !c.IsSet(f.Name) {
			continue
		}
		if f.Repeat {
			out[f.Field] = strings.Join(c.StringSlice(f.Name), ",")
		} else {
			out[f.Field] = c.String(f.Name)
		}
	}
	return out
}

func newApp(r *rt) *cli.App {
	app := &cli.App{
		Name:                 "vmhook",
		Usage:                "a Lima VM for every project, entered when you cd into it",
		Version:              projectvm.Version,
		Reader:               r.stdin,
		Writer:               r.stdout,
		ErrWriter:            r.stderr,
		HideVersion:          true,
		EnableBashCompletion: true,
		// Errors are printed once, by Main; nothing may exit mid-run, so
		// deferred unlocks always run.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usagef("%v; see vmhook --help", err)
		},
		Commands: commands(r),
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return usagef("%v; see vmhook %s --help", err, c.Command.Name)
		}
	}
	return app
}

// call is what opening a project needs of one run of a command: its name,
// its --project and --vm, and its context. callOf reads it from urfave/cli;
// the shell's fast path (fastpath.go) makes it without building the CLI.
type call struct {
	ctx         context.Context
	command     string
	project, vm string
}

func callOf(c *cli.Context) call {
	return call{ctx: c.Context, command: c.Command.Name, project: c.String("project"), vm: c.String("vm")}
}

// openProject resolves the project a command acts on: --vm NAME, --project
// DIR, the directory found by walking up from the current one, or
// $VMHOOK_PROJECT exported by `use vm`.
func (r *rt) openProject(cl call, env projectvm.Env, flags projectvm.Flags) (*projectvm.Project, error) {
	if name := cl.vm; name != "" {
		if _, err := os.Stat(env.VMDefinition(name)); err != nil {
			// A project VM may be named too: follow its owner record.
			if owner, _ := projectvm.ReadOwner(env.InstanceDir(name)); owner.Dir != "" {
				p, err := projectvm.OpenProject(env, owner.Dir, flags)
				if err != nil {
					return nil, err
				}
				if p.Name != name {
					return nil, fmt.Errorf("VM %q is recorded for %q, which now resolves to %q", name, owner, p.Name)
				}
				return p, nil
			}
		}
		return projectvm.OpenNamed(env, name, flags)
	}
	dir := cl.project
	if dir == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find current directory: %w", err)
		}
		found, ok := projectvm.FindProjectDir(cwd)
		switch {
		case ok:
			dir = found
		case r.getenv("VMHOOK_PROJECT") != "":
			dir = r.getenv("VMHOOK_PROJECT")
		default:
			return nil, fmt.Errorf("no vmhook project in %q or above (no %s or .lima/config.yaml); run vmhook new, add %s, or pass --project DIR", cwd, projectvm.ProjectFile, projectvm.ProjectFile)
		}
	}
	return projectvm.OpenProject(env, dir, flags)
}

// prepare opens the project and brings its generated config up to date,
// warning once when the config was edited by hand.
// Settings flags given to `use vm` or `config` are remembered in vmhook's
// state (persist), so other commands regenerate the same config rather than
// flip it back and forth.
// A project whose host access the user has not allowed fails with one line
// saying what is held back and how to allow it (exit code exitConsent),
// except for the commands in consentOptional.
func (r *rt) prepare(cl call, flags projectvm.Flags, persist bool) (projectvm.Env, *projectvm.Project, error) {
	env, err := r.env()
	if err != nil {
		return env, nil, err
	}
	if !persist && flags.Empty() {
		flags = nil // the remembered ones
	}
	// use vm renders with, and records, the VM_* variables it sees (those
	// the .envrc exported); every other command renders with that record.
	var recordEnv []string // nil: keep the recorded ones
	if cl.command == "use" {
		env.OwnVMEnv, recordEnv = true, append([]string{}, env.Environ...)
	}
	p, err := r.openProject(cl, env, flags)
	if err != nil {
		return env, nil, err
	}
	if persist {
		if err := projectvm.SaveUse(p, flags, recordEnv); err != nil {
			return env, nil, err
		}
	}
	res, err := p.WriteConfig(cl.ctx, env)
	var ce *projectvm.ConsentError
	switch {
	case errors.As(err, &ce) && slices.Contains(consentOptional, cl.command):
		if cl.command == "status" {
			r.say.line("%v", err)
		}
		return env, p, nil
	case errors.As(err, &ce):
		return env, nil, &exitError{code: exitConsent, msg: err.Error()}
	case err != nil:
		return env, nil, err
	}
	if res.Result == projectvm.ConfigHandEdited {
		r.say.line("%s was edited by hand; leaving it as it is (delete it to let vmhook regenerate it)", p.ConfigPath)
	}
	return env, p, nil
}

// exitConsent is the exit code of a command held back because the project
// asks for host access the user has not allowed; `use vm` tells it from
// other failures, since vmhook's one line already says what to do.
const exitConsent = 3

// consentOptional are the commands that work while a project waits for
// consent: they neither use its config nor start its VM.
var consentOptional = []string{"status", "stop", "destroy"}

// managed opens the project as prepare does, with a Manager for its VM.
func (r *rt) managed(cl call, flags projectvm.Flags) (*projectvm.Manager, *projectvm.Project, error) {
	env, p, err := r.prepare(cl, flags, false)
	if err != nil {
		return nil, nil, err
	}
	m, err := r.manager(env)
	if err != nil {
		return nil, nil, err
	}
	return m, p, nil
}
