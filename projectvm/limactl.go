package projectvm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// Limactl is the seam between vmhook and Lima, at the level of arguments.
// Tests inject fakes; the real one runs the limactl binary.
type Limactl interface {
	// Output runs limactl and returns its stdout.
	Output(ctx context.Context, args ...string) ([]byte, error)
	// Run runs limactl, passing each stderr line to onLine (may be nil).
	Run(ctx context.Context, onLine func(string), args ...string) error
	// Exec replaces the current process with limactl.
	Exec(args []string, env []string) error
}

// ErrLimactlNotFound means no limactl binary could be found.
var ErrLimactlNotFound = errors.New("limactl not found; install Lima (brew install lima, or your distribution's package) or set LIMACTL to its path")

// LimactlError is a failed limactl run: its arguments, exit code and the
// last lines of its stderr.
type LimactlError struct {
	Args   []string
	Code   int
	Stderr string
}

func (e *LimactlError) Error() string {
	msg := fmt.Sprintf("limactl %s failed (exit %d)", strings.Join(e.Args, " "), e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// stderrTail keeps the last few meaningful stderr lines, shortened to their
// logrus msg where Lima logs in that format.
func stderrTail(lines []string, n int) string {
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if m, ok := LogMessage(l); ok {
			l = m
		}
		out = append(out, l)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, " | ")
}

// LogMessage extracts msg="…" from a logrus text line.
func LogMessage(line string) (string, bool) {
	i := strings.Index(line, `msg="`)
	if i < 0 {
		i = strings.Index(line, "msg=")
		if i < 0 {
			return "", false
		}
		rest := line[i+4:]
		if j := strings.IndexByte(rest, ' '); j >= 0 {
			rest = rest[:j]
		}
		return rest, true
	}
	rest := line[i+5:]
	var b strings.Builder
	for k := 0; k < len(rest); k++ {
		c := rest[k]
		if c == '\\' && k+1 < len(rest) {
			k++
			b.WriteByte(rest[k])
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// Command runs a real limactl binary.
type Command struct {
	Path string
	Env  []string // nil: inherit
	// ExecFunc replaces the process; syscall.Exec when nil. Benchmarks stop
	// the decision path here instead of leaving the test binary.
	ExecFunc func(path string, argv, env []string) error
}

// FindLimactl locates limactl: $LIMACTL if set (as Lima's own tools do),
// else limactl on PATH.
func FindLimactl(limactlEnv string) (*Command, error) {
	name := "limactl"
	if limactlEnv != "" {
		name = limactlEnv
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if limactlEnv != "" {
			return nil, fmt.Errorf("LIMACTL=%q is not an executable; fix LIMACTL or unset it", limactlEnv)
		}
		return nil, ErrLimactlNotFound
	}
	return &Command{Path: p}, nil
}

func (c *Command) cmd(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Env = c.Env
	// Let limactl stop cleanly on cancellation rather than be killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Output implements Limactl.
func (c *Command) Output(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := c.cmd(ctx, args)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &LimactlError{Args: args, Code: exitCode(err), Stderr: stderrTail(strings.Split(stderr.String(), "\n"), 3)}
	}
	return out, nil
}

// Run implements Limactl.
func (c *Command) Run(ctx context.Context, onLine func(string), args ...string) error {
	cmd := c.cmd(ctx, args)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	var (
		mu    sync.Mutex
		lines []string
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			lines = append(lines, l)
			if len(lines) > 200 {
				lines = lines[len(lines)-100:]
			}
			mu.Unlock()
			if onLine != nil {
				onLine(l)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("limactl %s: %w", strings.Join(args, " "), ctx.Err())
		}
		return &LimactlError{Args: args, Code: exitCode(err), Stderr: stderrTail(lines, 3)}
	}
	return nil
}

// Exec implements Limactl.
func (c *Command) Exec(args []string, env []string) error {
	argv := append([]string{"limactl"}, args...)
	run := c.ExecFunc
	if run == nil {
		run = syscall.Exec
	}
	if err := run(c.Path, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", c.Path, err)
	}
	return nil
}
