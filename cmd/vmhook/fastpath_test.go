package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm"
)

func TestShellFastRecognises(t *testing.T) {
	for _, tt := range []struct {
		args        []string
		ok          bool
		project, vm string
		cmd         []string
	}{
		{args: []string{"shell"}, ok: true},
		{args: []string{"enter"}, ok: true},
		{args: []string{"shell", "--project", "/p"}, ok: true, project: "/p"},
		{args: []string{"shell", "--project=/p"}, ok: true, project: "/p"},
		{args: []string{"shell", "-p", "/p"}, ok: true, project: "/p"},
		{args: []string{"shell", "-p=/p"}, ok: true, project: "/p"},
		{args: []string{"shell", "--vm", "box"}, ok: true, vm: "box"},
		{args: []string{"shell", "--project", "/p", "--vm=box", "--", "ls", "-l"}, ok: true, project: "/p", vm: "box", cmd: []string{"ls", "-l"}},
		{args: []string{"enter", "--project", "/a=b", "--", "--", "--help"}, ok: true, project: "/a=b", cmd: []string{"--", "--help"}},
		{args: []string{"shell", "--"}, ok: true, cmd: []string{}},
		// Left to urfave/cli.
		{args: []string{}},
		{args: []string{"vmhook"}},
		{args: []string{"status"}},
		{args: []string{"shell", "--help"}},
		{args: []string{"shell", "-h"}},
		{args: []string{"shell", "help"}},
		{args: []string{"shell", "true"}},
		{args: []string{"shell", "--project"}},
		{args: []string{"shell", "--project", ""}},
		{args: []string{"shell", "--project="}},
		{args: []string{"shell", "--project", "--", "true"}},
		{args: []string{"shell", "--project", "-x"}},
		{args: []string{"shell", "--project", "/a", "--project", "/b"}},
		{args: []string{"shell", "-project", "/p"}},
		{args: []string{"shell", "--vm", "a", "-p", "/p", "x"}},
		{args: []string{"shell", "--cpus", "2"}},
		{args: []string{"shell", "--generate-bash-completion"}},
		{args: []string{"--help", "shell"}},
		{args: []string{"Shell"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cl, cmd, ok := shellFast(append([]string{"vmhook"}, tt.args...))
			if ok != tt.ok {
				t.Fatalf("recognised %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if cl.command != "shell" || cl.project != tt.project || cl.vm != tt.vm || !slices.Equal(cmd, tt.cmd) {
				t.Errorf("got command %q project %q vm %q cmd %q, want shell %q %q %q", cl.command, cl.project, cl.vm, cmd, tt.project, tt.vm, tt.cmd)
			}
		})
	}
}

// shellRun is what one run of vmhook did: its exit code, its output, the
// process it exec'd and the limactl calls it made.
type shellRun struct {
	code           int
	stdout, stderr string
	exec           string
	calls          string
}

// TestShellFastSameAsCLI runs each command line twice on fresh, identical
// worlds, through the fast path and through urfave/cli, and expects the
// same run: the same limactl calls, the same exec, the same output and
// exit code.
func TestShellFastSameAsCLI(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state string // running, absent
		args  []string
		world []string // environment of the set-up and the run
		env   []string // environment of the run only
	}{
		{name: "command in a running VM", state: "running", args: []string{"shell", "--project", "@PROJ@", "--", "true"}},
		{name: "enter with = and -p", state: "running", args: []string{"enter", "-p=@PROJ@", "--", "sh", "-c", "echo --help"}},
		{name: "interactive off a terminal", state: "running", args: []string{"shell", "--project", "@PROJ@"}},
		{name: "no command after --", state: "running", args: []string{"shell", "--project", "@PROJ@", "--"}},
		{name: "project from VMHOOK_PROJECT", state: "running", args: []string{"shell", "--", "true"}, env: []string{"VMHOOK_PROJECT=@PROJ@"}},
		{name: "project VM by name", state: "running", args: []string{"shell", "--vm", "proj-dev", "--", "true"}},
		{name: "Lima v2", state: "running", args: []string{"shell", "--project=@PROJ@", "--", "true"}, world: []string{"FAKE_LIMACTL_VERSION=2.2.0"}},
		{name: "starts a VM that is not there", state: "absent", args: []string{"shell", "--project", "@PROJ@", "--", "true"}},
		{name: "unknown named VM", state: "running", args: []string{"shell", "--vm", "nosuch", "--", "true"}},
		{name: "missing project", state: "running", args: []string{"shell", "--project", "@PROJ@/nosuch", "--", "true"}},
		{name: "inside a VM", state: "running", args: []string{"shell", "--project", "@PROJ@", "--", "true"}, env: []string{"SYSINIT_IN_VM=1"}},
		{name: "inside .envrc", state: "running", args: []string{"shell", "--project", "@PROJ@", "--", "true"}, env: []string{"DIRENV_IN_ENVRC=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fast := runShell(t, tt.state, tt.args, tt.world, tt.env, false)
			full := runShell(t, tt.state, tt.args, tt.world, tt.env, true)
			if fast != full {
				t.Errorf("fast path:\n%+v\nurfave/cli:\n%+v", fast, full)
			}
		})
	}
}

// runShell makes a world with a project whose VM is in state, runs vmhook
// with args in it (@PROJ@ standing for the project's directory), and returns
// what the run did with the world's paths replaced by ROOT and LIMA.
func runShell(t *testing.T, state string, args, worldEnv, runEnv []string, fullCLI bool) shellRun {
	t.Helper()
	root := t.TempDir()
	limaHome := testkit.ShortDir(t, "vhf")
	t.Cleanup(func() { killDaemons(limaHome) })
	bin := filepath.Join(root, "bin")
	os.MkdirAll(bin, 0o755)
	// The test binary plays limactl under that name (TestMain).
	if err := os.Symlink(testExecutable(t), filepath.Join(bin, "limactl")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "proj")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "vmhook.yaml"), []byte("cpus: 2\nports: [3000]\n"), 0o644)
	log := filepath.Join(root, "limactl.log")
	env := append(testkit.UserEnv(filepath.Join(root, "home")),
		"LIMA_HOME="+limaHome, "LIMACTL="+filepath.Join(bin, "limactl"), "FAKE_LIMACTL_LOG="+log,
		"PATH="+bin+":/usr/bin:/bin", "NO_COLOR=1")
	env = append(env, worldEnv...)
	if state == "running" {
		e, err := projectvm.NewEnv(env, projectvm.Host{OS: "linux", Arch: "amd64", UID: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		p, err := projectvm.OpenProject(e, dir, projectvm.Flags{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WriteConfig(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		startFakeVM(t, e, p)
		os.Remove(log) // the calls of the run alone
	}
	for _, kv := range runEnv {
		env = append(env, strings.ReplaceAll(kv, "@PROJ@", dir))
	}
	argv := []string{"vmhook"}
	for _, a := range args {
		argv = append(argv, strings.ReplaceAll(a, "@PROJ@", dir))
	}
	var stdout, stderr strings.Builder
	var run shellRun
	r := &rt{args: argv, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, environ: env, fullCLI: fullCLI}
	r.execFn = func(path string, argv, env []string) error {
		run.exec = fmt.Sprintf("%s %q", path, argv)
		return nil
	}
	run.code = r.main()
	data, _ := os.ReadFile(log)
	clean := strings.NewReplacer(root, "ROOT", limaHome, "LIMA")
	// How long a start took is the one thing two runs may say differently.
	took := regexp.MustCompile(`in [0-9.]+s\b`)
	run.stdout, run.stderr = clean.Replace(stdout.String()), took.ReplaceAllString(clean.Replace(stderr.String()), "in Ns")
	run.exec, run.calls = clean.Replace(run.exec), clean.Replace(string(data))
	if testing.Verbose() {
		t.Logf("%+v", run)
	}
	return run
}

// startFakeVM makes p's VM read as running, as the fake limactl's start
// leaves it: created with the project's config, and started.
func startFakeVM(t *testing.T, e projectvm.Env, p *projectvm.Project) {
	t.Helper()
	code := Main([]string{"vmhook", "up", "--project", p.Dir}, strings.NewReader(""), new(strings.Builder), new(strings.Builder), e.Environ)
	if code != 0 {
		t.Fatalf("vmhook up: exit %d", code)
	}
	if got := projectvm.InstanceState(e.InstanceDir(p.Name)); got != projectvm.Running {
		t.Fatalf("VM is %s after up", got)
	}
}
