package projectvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scriptLimactl writes a shell script to stand in for limactl and returns
// a Command running it, and the script's directory.
func scriptLimactl(t *testing.T, body string) (*Command, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "limactl")
	if err := os.WriteFile(path, []byte("#!/bin/sh\ncd "+dir+" || exit 1\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Command{Path: path}, dir
}

// deafLimactl ignores SIGINT and SIGTERM, and leaves a child (which
// inherits that) holding its stderr; it records the child's pid in child.pid.
const deafLimactl = `trap '' INT TERM
echo 'level=info msg="booting"' >&2
sleep 300 &
echo $! > child.pid
wait
`

// waitFile waits up to 20 s for a file to have content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitDead waits up to 20 s for the process in pidFile to be gone.
func waitDead(t *testing.T, pidFile string) {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for syscall.Kill(pid, 0) == nil && !zombie(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d outlived limactl", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// runBounded runs f, failing the test if it has not returned after 20 s
// (a wedged limactl call).
func runBounded(t *testing.T, f func() error) error {
	t.Helper()
	got := make(chan error, 1)
	go func() { got <- f() }()
	select {
	case err := <-got:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("limactl call still running 20s later")
		return nil
	}
}

func TestCancelEndsDeafLimactl(t *testing.T) {
	for _, output := range []bool{false, true} {
		name := map[bool]string{false: "Run", true: "Output"}[output]
		t.Run(name, func(t *testing.T) {
			c, dir := scriptLimactl(t, deafLimactl)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				waitFile(t, filepath.Join(dir, "child.pid"))
				cancel()
			}()
			err := runBounded(t, func() error {
				if output {
					_, err := c.Output(ctx, "list", "--json")
					return err
				}
				return c.Run(ctx, nil, "start", "--tty=false", "x")
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			// The child shares limactl's process group, so it is killed too.
			waitDead(t, filepath.Join(dir, "child.pid"))
		})
	}
}

func TestStartTimeout(t *testing.T) {
	c, dir := scriptLimactl(t, deafLimactl)
	c.StartTimeout = 200 * time.Millisecond
	var lines []string
	err := runBounded(t, func() error {
		return c.Run(context.Background(), func(l string) { lines = append(lines, l) }, "start", "--tty=false", "x")
	})
	var te *TimeoutError
	if !errors.As(err, &te) || !te.IsStart() || te.After != 200*time.Millisecond {
		t.Fatalf("err = %#v, want a start TimeoutError after 200ms", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "did not finish within 200ms") || !strings.Contains(msg, "booting") || !strings.HasSuffix(msg, "raise VMHOOK_START_TIMEOUT") {
		t.Errorf("message %q", msg)
	}
	if len(lines) != 1 {
		t.Errorf("stderr lines %q, want the one limactl printed", lines)
	}
	waitDead(t, filepath.Join(dir, "child.pid"))
}

func TestCallTimeoutIsNotStartTimeout(t *testing.T) {
	c, _ := scriptLimactl(t, "sleep 300\n")
	c.StartTimeout = time.Hour
	c.CallTimeout = 100 * time.Millisecond
	err := runBounded(t, func() error {
		_, err := c.Output(context.Background(), "list", "--json")
		return err
	})
	var te *TimeoutError
	if !errors.As(err, &te) || te.IsStart() {
		t.Fatalf("err = %v, want a TimeoutError of list", err)
	}
	if strings.Contains(err.Error(), "VMHOOK_START_TIMEOUT") {
		t.Errorf("a list time-out names the start time-out: %v", err)
	}
}

// TestEscalation: SIGINT first, SIGTERM next, then SIGKILL, to a limactl
// that notes each signal and carries on.
func TestEscalation(t *testing.T) {
	c, dir := scriptLimactl(t, `trap 'echo INT >> signals' INT
trap 'echo TERM >> signals' TERM
echo ready > ready
while :; do sleep 0.05; done
`)
	// Seconds between the steps, not the default 300 ms: the script's traps
	// must get to run on a busy machine for the order to be seen.
	c.TermAfter, c.KillAfter = 3*time.Second, 3*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFile(t, filepath.Join(dir, "ready"))
		cancel()
	}()
	err := runBounded(t, func() error { return c.Run(ctx, nil, "stop", "x") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "signals"))
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "INT TERM" {
		t.Errorf("signals seen %q, want INT then TERM (then SIGKILL)", got)
	}
}

func TestFailureKeepsLimactlError(t *testing.T) {
	c, _ := scriptLimactl(t, `echo 'level=fatal msg="no such instance"' >&2; exit 3`)
	err := c.Run(context.Background(), nil, "start", "--tty=false", "x")
	var le *LimactlError
	if !errors.As(err, &le) || le.Code != 3 || le.Stderr != "no such instance" {
		t.Fatalf("err = %#v", err)
	}
}

// TestSuccessWithStrayChild: a limactl that succeeds but leaves a child
// holding its stderr has succeeded, and vmhook does not wait for the child.
func TestSuccessWithStrayChild(t *testing.T) {
	c, dir := scriptLimactl(t, `sleep 300 &
echo $! > child.pid
exit 0
`)
	for _, output := range []bool{false, true} {
		err := runBounded(t, func() error {
			if output {
				_, err := c.Output(context.Background(), "list", "--json")
				return err
			}
			return c.Run(context.Background(), nil, "start", "--tty=false", "x")
		})
		if err != nil {
			t.Fatalf("output %v: err = %v", output, err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, filepath.Join(dir, "child.pid"))))
		syscall.Kill(pid, syscall.SIGKILL)
		os.Remove(filepath.Join(dir, "child.pid"))
	}
}
