package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/internal/testkit"
)

// bin holds vmhook and vmhook-enter side by side, as go install puts them,
// and fake/limactl.
var bin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if runtime.GOOS != "linux" {
		return m.Run() // records are kept on Linux only; the tests skip
	}
	dir, err := os.MkdirTemp("/tmp", "vhent")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = dir
	for _, b := range []struct{ out, pkg string }{
		{"vmhook", "../vmhook"},
		{"vmhook-enter", "."},
		{"fake/limactl", "../../internal/fakelimactl/limactl"},
	} {
		cmd := exec.Command("go", "build", "-tags", testkit.BuildTags, "-o", filepath.Join(dir, b.out), b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// world is one user with one project and the fake limactl.
type world struct {
	t       *testing.T
	env     []string
	project string
	log     string
	// cwd is where the shell stands; empty is the project.
	cwd string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	if bin == "" {
		t.Skip("entry records are kept on Linux only")
	}
	w := &world{t: t, project: filepath.Join(testkit.ShortDir(t, "vhp"), "app")}
	w.log = filepath.Join(t.TempDir(), "limactl.log")
	w.env = testkit.Merge(testkit.Environ(t), []string{
		"PATH=" + filepath.Join(bin, "fake") + ":/usr/bin:/bin",
		"FAKE_LIMACTL_LOG=" + w.log,
		"FAKE_LIMACTL_VERSION=2.2.0",
	})
	if err := os.MkdirAll(w.project, 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("vmhook.yaml", "cpus: 2\nports: [3000]\n")
	return w
}

func (w *world) write(name, content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.project, name), []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// result is one run: how it ended, what it printed, and the limactl calls
// it made.
type result struct {
	code   int
	stderr string
	calls  []string
}

// run runs program (vmhook-enter or vmhook) with args, without a terminal.
func (w *world) run(program string, env []string, args ...string) result {
	w.t.Helper()
	before, _ := os.ReadFile(w.log)
	cmd := exec.Command(filepath.Join(bin, program), args...)
	cmd.Env = env
	cmd.Dir = w.project
	if w.cwd != "" {
		cmd.Dir = w.cwd
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := result{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	after, _ := os.ReadFile(w.log)
	for _, l := range strings.Split(strings.TrimSpace(string(after[len(before):])), "\n") {
		if l != "" && !strings.HasPrefix(l, "--version") {
			r.calls = append(r.calls, l)
		}
	}
	return r
}

func (w *world) enter(env []string) result {
	return w.run("vmhook-enter", env, "--project", w.project, "--", "true")
}

func (w *world) record() string {
	return entry.Path(entry.Dir(w.env), w.project, true)
}

// identity is the record file as stat(2) sees it: vmhook writes a new file
// each time it records, vmhook-enter never writes.
func (w *world) identity() entry.File {
	f, err := entry.Stat(w.record(), true)
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

// recorded enters until vmhook has recorded its decision: a run that found
// an input changed just before it began records nothing (see
// recordEntry), so a VM started a moment ago takes a run or two.
func (w *world) recorded() result {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := w.enter(w.env)
		if r.code != 0 {
			w.t.Fatalf("entry failed (exit %d): %s", r.code, r.stderr)
		}
		if !w.identity().Missing {
			return r
		}
		if time.Now().After(deadline) {
			w.t.Fatal("vmhook never recorded its decision to enter")
		}
	}
}

// fast asserts that the next entry is vmhook-enter's own, and that it runs
// what vmhook ran.
func (w *world) fast(want result) {
	w.t.Helper()
	id := w.identity()
	why := "no record"
	if data, err := os.ReadFile(w.record()); err == nil {
		if rec, err := entry.Decode(data); err == nil {
			why = rec.Diff(w.project, true, w.env, filepath.Join(bin, "vmhook"), false, false)
		}
	}
	r := w.enter(w.env)
	if r.code != 0 || w.identity() != id {
		w.t.Logf("the record differs in: %s", why)
		w.t.Fatalf("the entry went through vmhook (record %+v → %+v, exit %d): %s", id, w.identity(), r.code, r.stderr)
	}
	if strings.Join(r.calls, "\n") != strings.Join(want.calls, "\n") || r.stderr != want.stderr {
		w.t.Fatalf("vmhook-enter did not repeat vmhook's entry:\n got  %q %q\n want %q %q", r.calls, r.stderr, want.calls, want.stderr)
	}
}

// slow asserts that the next entry with env goes through vmhook, and
// returns it.
func (w *world) slow(env []string) result {
	w.t.Helper()
	id := w.identity()
	r := w.enter(env)
	if w.identity() == id && !id.Missing {
		w.t.Fatalf("vmhook-enter repeated a decision whose inputs changed: %q %q", r.calls, r.stderr)
	}
	return r
}

func TestEnterRepeatsDecision(t *testing.T) {
	w := newWorld(t)
	first := w.enter(w.env)
	if first.code != 0 || !strings.Contains(strings.Join(first.calls, "\n"), "start") {
		t.Fatalf("the first entry did not start the VM through vmhook (exit %d): %q %s", first.code, first.calls, first.stderr)
	}
	full := w.recorded()
	if len(full.calls) != 1 || !strings.HasPrefix(full.calls[0], "shell --start=false --workdir "+w.project) {
		t.Fatalf("a steady entry made %q", full.calls)
	}
	w.fast(full)
	w.fast(full)

	// Another command reuses the decision with its own words.
	r := w.run("vmhook-enter", w.env, "--project", w.project, "--", "echo", "a b")
	if want := strings.TrimSuffix(full.calls[0], "true") + "echo a b"; len(r.calls) != 1 || r.calls[0] != want {
		t.Fatalf("vmhook-enter ran %q, want %q", r.calls, want)
	}

	// From a subdirectory the decision holds, and the entry lands there,
	// as vmhook's own would.
	w.cwd = filepath.Join(w.project, "src", "web")
	if err := os.MkdirAll(w.cwd, 0o755); err != nil {
		t.Fatal(err)
	}
	w.fast(result{calls: []string{strings.Replace(full.calls[0], "--workdir "+w.project+" ", "--workdir "+w.cwd+" ", 1)}, stderr: full.stderr})
	if via := w.run("vmhook", w.env, "shell", "--project", w.project, "--", "true"); len(via.calls) != 1 || !strings.Contains(via.calls[0], "--workdir "+w.cwd+" ") {
		t.Fatalf("vmhook shell from %s ran %q", w.cwd, via.calls)
	}
	w.cwd = ""

	// Anything but the forms the hook uses is vmhook's, which runs it as
	// vmhook shell would.
	for _, args := range [][]string{
		{"--project", w.project, "--help"},
		{"--project", "app", "--", "true"},
		{"--vm", "app-dev", "--", "true"},
		{"--project", w.project, "true"},
		{"-p", w.project, "--", "true"},
	} {
		got := w.run("vmhook-enter", w.env, args...)
		want := w.run("vmhook", w.env, append([]string{"shell"}, args...)...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("vmhook-enter %q: %v, but vmhook shell: %v", args, got, want)
		}
	}

	// Without a terminal there is no interactive shell: vmhook says so.
	r = w.run("vmhook-enter", w.env, "--project", w.project)
	if r.code == 0 || !strings.Contains(r.stderr, "not on a terminal") {
		t.Errorf("an interactive entry without a terminal: exit %d, %s", r.code, r.stderr)
	}
}

// TestEnterNoticesChanges changes, one at a time, each kind of input the
// decision was taken from, and checks that the next entry is vmhook's,
// which then records afresh.
func TestEnterNoticesChanges(t *testing.T) {
	w := newWorld(t)
	w.enter(w.env)
	steady := w.recorded()
	w.fast(steady)

	later := func(path string) {
		// A change within the same clock tick keeps size and times; one
		// to the content a moment later is what people make.
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fakeLimactl := filepath.Join(bin, "fake", "limactl")
	otherLima := t.TempDir()
	if err := os.Symlink(fakeLimactl, filepath.Join(otherLima, "limactl")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func() []string // the environment of the next entry
		check  func(r result)
	}{
		{"settings", func() []string {
			w.write("vmhook.yaml", "cpus: 3\nports: [3000]\n")
			return w.env
		}, func(r result) {
			if !strings.Contains(r.stderr, "up --apply") {
				t.Errorf("vmhook did not say the VM runs behind its settings: %s", r.stderr)
			}
		}},
		{"settings again", func() []string { w.write("vmhook.yaml", "cpus: 2\nports: [3000]\n"); return w.env }, nil},
		{"config edited by hand", func() []string { later(filepath.Join(w.project, ".lima", "config.yaml")); return w.env }, func(r result) {
			if r.code != 3 || !strings.Contains(r.stderr, "vmhook allow") {
				t.Errorf("a config vmhook did not write was used without consent (exit %d): %s", r.code, r.stderr)
			}
		}},
		{"config back to vmhook's", func() []string { os.Remove(filepath.Join(w.project, ".lima", "config.yaml")); return w.env }, nil},
		{"user defaults", func() []string {
			path := filepath.Join(entry.Getenv(w.env, "XDG_CONFIG_HOME"), "vmhook", "config.yaml")
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.WriteFile(path, []byte("memory: 3GiB\n"), 0o644)
			return w.env
		}, nil},
		{"VM stopped", func() []string {
			if r := w.run("vmhook", w.env, "stop", "--project", w.project); r.code != 0 {
				t.Fatalf("stop: %s", r.stderr)
			}
			return w.env
		}, func(r result) {
			if !strings.Contains(strings.Join(r.calls, "\n"), "start") {
				t.Errorf("the stopped VM was not started: %q", r.calls)
			}
		}},
		{"host agent gone", func() []string {
			data, _ := os.ReadFile(filepath.Join(entry.Getenv(w.env, "LIMA_HOME"), "app-dev", "ha.pid"))
			var pid int
			fmt.Sscan(string(data), &pid)
			syscall.Kill(pid, syscall.SIGKILL)
			for {
				if _, alive := entry.ProcNow(pid); !alive {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			return w.env
		}, nil},
		{"environment", func() []string { return append(w.env, "VMHOOK_START_TIMEOUT=20m") }, nil},
		{"guard set", func() []string { return append(w.env, "SYSINIT_IN_VM=1") }, func(r result) {
			if r.code == 0 || !strings.Contains(r.stderr, "already inside") {
				t.Errorf("entry from inside a VM: exit %d, %s", r.code, r.stderr)
			}
		}},
		{"limactl replaced", func() []string {
			os.Chmod(fakeLimactl, 0o755) // changes its ctime, as a reinstall would
			return w.env
		}, nil},
		{"another limactl first on PATH", func() []string {
			return testkit.Merge(w.env, []string{"PATH=" + otherLima + ":" + entry.Getenv(w.env, "PATH")})
		}, nil},
		{"vmhook replaced", func() []string {
			os.Chmod(filepath.Join(bin, "vmhook"), 0o755)
			return w.env
		}, nil},
		{"record damaged", func() []string {
			data, _ := os.ReadFile(w.record())
			os.WriteFile(w.record(), data[:len(data)/2], 0o600)
			return w.env
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.change()
			r := w.slow(env)
			if tt.check != nil {
				tt.check(r)
			}
			if r.code != 0 && (tt.name == "guard set" || tt.name == "config edited by hand") {
				return
			}
			if r.code != 0 {
				t.Fatalf("entry after the change failed (exit %d): %s", r.code, r.stderr)
			}
			// vmhook records again, and the record holds.
			w.env = env
			w.fast(w.recorded())
		})
	}
}

// TestEnterRecordGuards checks that vmhook-enter repeats only what vmhook
// would decide: a mount reached through a link that is retargeted, and a
// record that is not this user's own or not a steady entry's (forged with
// nothing to compare, writable by others, owned by another user), go to
// vmhook.
func TestEnterRecordGuards(t *testing.T) {
	w := newWorld(t)
	shared := testkit.ShortDir(t, "vhs")
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(shared, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	userConfig := filepath.Join(entry.Getenv(w.env, "XDG_CONFIG_HOME"), "vmhook", "config.yaml")
	os.MkdirAll(filepath.Dir(userConfig), 0o755)
	if err := os.WriteFile(userConfig, []byte("allowMounts: ["+shared+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(w.project, "link")
	if err := os.Symlink(filepath.Join(shared, "a"), link); err != nil {
		t.Fatal(err)
	}
	w.write("vmhook.yaml", "mounts: [./link]\n")
	w.enter(w.env)
	w.fast(w.recorded())

	t.Run("mount link retargeted", func(t *testing.T) {
		os.Remove(link)
		if err := os.Symlink(filepath.Join(shared, "b"), link); err != nil {
			t.Fatal(err)
		}
		if r := w.slow(w.env); !strings.Contains(r.stderr, "up --apply") {
			t.Errorf("vmhook did not say the VM mounts another directory now: %s", r.stderr)
		}
		w.fast(w.recorded())
	})
	for _, tt := range []struct {
		name   string
		change func()
	}{
		{"forged without inputs", func() {
			data, _ := os.ReadFile(w.record())
			rec, err := entry.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			rec.Files, rec.Procs = nil, nil
			os.WriteFile(w.record(), rec.Encode(), 0o600)
		}},
		{"record writable by others", func() { os.Chmod(w.record(), 0o666) }},
		{"directory writable by others", func() { os.Chmod(filepath.Dir(w.record()), 0o777) }},
		{"owned by another user", func() {
			if os.Getuid() != 0 {
				t.Skip("only root can give a file away")
			}
			os.Chown(w.record(), 65534, 65534)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.change()
			if r := w.slow(w.env); r.code != 0 {
				t.Fatalf("entry failed (exit %d): %s", r.code, r.stderr)
			}
			os.Chmod(filepath.Dir(w.record()), 0o700)
			w.fast(w.recorded())
		})
	}
}
