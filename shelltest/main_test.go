package shelltest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmhook/vmhook/internal/testkit"
)

// Binaries built once for the whole test run.
var (
	// vmhookBin is vmhook at a path with spaces, quotes, a dollar sign and a
	// backslash: every shell test calls it there, so the hook and the direnv
	// extension must quote it right.
	vmhookBin string
	// fakeDir holds the fake limactl; it comes first on every test's PATH.
	fakeDir string
)

// awkwardDir is the directory vmhookBin is copied into.
const awkwardDir = `it's "odd" $HOME \ dir`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("/tmp", "vhbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	fakeDir = filepath.Join(dir, "fake")
	plain := filepath.Join(dir, "vmhook")
	for _, b := range []struct{ out, pkg string }{
		{plain, "github.com/vmhook/vmhook/cmd/vmhook"},
		{plain + "-enter", "github.com/vmhook/vmhook/cmd/vmhook-enter"},
		{filepath.Join(fakeDir, "limactl"), "github.com/vmhook/vmhook/internal/fakelimactl/limactl"},
	} {
		cmd := exec.Command(goTool(), "build", "-tags", testkit.BuildTags, "-o", b.out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", b.pkg, err)
			return 1
		}
	}
	// vmhook-enter beside it, as go install puts them: the hooks enter
	// through it.
	vmhookBin = filepath.Join(dir, awkwardDir, "vmhook")
	for _, name := range []string{"vmhook", "vmhook-enter"} {
		if err := copyFile(filepath.Join(dir, name), filepath.Join(dir, awkwardDir, name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// need skips the test unless every tool is on PATH.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// world is one user's machine: a home, XDG directories, a short LIMA_HOME,
// the fake limactl with its call log, and a project whose .envrc says
// `use vm`.
type world struct {
	t       *testing.T
	root    string
	home    string
	project string
	vm      string
	log     string
	env     []string
}

// newWorld sets up a world; extra are NAME=VALUE pairs added to (or
// overriding) its environment.
func newWorld(t *testing.T, extra ...string) *world {
	t.Helper()
	need(t, "direnv")
	// Short: Lima's socket paths under LIMA_HOME must stay under 104 bytes.
	root, err := os.MkdirTemp("/tmp", "vh")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, root: root, home: filepath.Join(root, "h"), log: filepath.Join(root, "calls")}
	t.Cleanup(func() {
		killDaemons(filepath.Join(root, "l"))
		os.RemoveAll(root)
	})
	w.project = filepath.Join(root, "p", "myapp")
	w.vm = "myapp-dev"
	w.env = append(testkit.UserEnv(w.home),
		"USER="+os.Getenv("USER"),
		"LANG=C.UTF-8",
		"LIMA_HOME="+filepath.Join(root, "l"),
		// The fake first; vmhook itself is deliberately not on PATH, so
		// only the quoted path in the hook and the extension can find it.
		"PATH="+fakeDir+":/usr/local/bin:/usr/bin:/bin",
		"FAKE_LIMACTL_LOG="+w.log,
		"VMHOOK_TEST_BIN="+vmhookBin,
		"NO_COLOR=1",
	)
	w.env = mergeEnv(w.env, extra)
	for _, d := range []string{w.project, filepath.Join(w.home, ".config", "direnv", "lib")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.write(filepath.Join(w.project, ".envrc"), "use vm\n")
	lib, stderr, err := w.run(vmhookBin, "stdlib")
	if err != nil {
		t.Fatalf("vmhook stdlib: %v\n%s", err, stderr)
	}
	w.write(filepath.Join(w.home, ".config", "direnv", "lib", "vmhook.sh"), lib)
	return w
}

func mergeEnv(env, extra []string) []string { return testkit.Merge(env, extra) }

func (w *world) write(path, content string) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// run runs a command in the world's environment, from its root.
func (w *world) run(name string, args ...string) (stdout, stderr string, err error) {
	return w.runIn(w.root, nil, name, args...)
}

func (w *world) runIn(dir string, stdin io.Reader, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = w.env
	cmd.Stdin = stdin
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// allow runs `direnv allow` on the project.
func (w *world) allow() {
	w.t.Helper()
	if _, stderr, err := w.run("direnv", "allow", w.project); err != nil {
		w.t.Fatalf("direnv allow: %v\n%s", err, stderr)
	}
}

// calls returns the fake limactl's call log, one call per line.
//
// The call with which vmhook asks the guest whether its login shells carry
// the nesting guard is a `limactl shell` too; it is listed as "probe …", so
// that "shell" counts entries.
func (w *world) calls() []string {
	data, _ := os.ReadFile(w.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "shell ") && strings.HasSuffix(l, guardProbeCall) {
			lines[i] = "probe " + strings.TrimPrefix(l, "shell ")
		}
	}
	return lines
}

// guardProbeCall ends the guard probe's limactl call.
const guardProbeCall = ` sh -c printf '%s|%s' "${SYSINIT_IN_VM-}" "${VMHOOK_VM-}"`

// count counts the calls of limactl subcommand sub for the world's VM.
func (w *world) count(sub string) int {
	n := 0
	for _, l := range w.calls() {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == sub && contains(f, w.vm) {
			n++
		}
	}
	return n
}

// noVMCalls fails the test if limactl was asked to create, start or enter.
func (w *world) noVMCalls() {
	w.t.Helper()
	for _, sub := range []string{"create", "start", "shell"} {
		if n := w.count(sub); n != 0 {
			w.t.Errorf("limactl %s called %d times, want none; calls:\n%s", sub, n, strings.Join(w.calls(), "\n"))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// killDaemons stops the fake's "running VM" processes under limaHome.
func killDaemons(limaHome string) {
	pids, _ := filepath.Glob(filepath.Join(limaHome, "*", "*.pid"))
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a deadline. It
// is how tests wait for the shell and limactl, never with fixed sleeps.
func waitFor(t *testing.T, what string, cond func() bool, report func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, report())
		}
		time.Sleep(30 * time.Millisecond)
	}
}
