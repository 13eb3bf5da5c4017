package projectvm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
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
	// Attach runs limactl on the caller's stdin, stdout and stderr, for a
	// command the user runs in the guest: bounded by ctx alone. A failure
	// is a *LimactlError with limactl's exit code.
	Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args ...string) error
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

// Bounds on one limactl call. A start may download an image and boot
// under emulation; Lima gives up on it after 10 minutes by itself, so the
// default bound lets Lima's own, more telling, error come first. Lima's
// graceful stop gives up after 3m10s. Anything else answers in seconds.
const (
	DefaultStartTimeout = 15 * time.Minute
	stopTimeout         = 4 * time.Minute
	queryTimeout        = time.Minute
)

// How a cancelled limactl is ended: SIGINT to its process group, SIGTERM
// after termAfter, SIGKILL after killAfter more. Lima's commands stop on the
// first; the rest is for one that does not, so that Ctrl-C gives the prompt
// back within a second whatever limactl does. pipeGrace is how long vmhook
// then waits for output from a process that escaped the group.
const (
	termAfter = 300 * time.Millisecond
	killAfter = 300 * time.Millisecond
	pipeGrace = 500 * time.Millisecond
)

// Command runs a real limactl binary.
type Command struct {
	Path string
	Env  []string // nil: inherit
	// ExecFunc replaces the process; syscall.Exec when nil. Benchmarks stop
	// the decision path here instead of leaving the test binary.
	ExecFunc func(path string, argv, env []string) error
	// TermAfter and KillAfter, when not zero, replace termAfter and
	// killAfter: tests that watch the escalation happen give a loaded
	// machine more time to show each step.
	TermAfter, KillAfter time.Duration
	// StartTimeout bounds each create and start; DefaultStartTimeout when
	// zero.
	StartTimeout time.Duration
	// CallTimeout, when not zero, bounds every other call instead of the
	// built-in bounds (tests).
	CallTimeout time.Duration
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

// TimeoutError is a limactl call that ran past its bound and was ended.
type TimeoutError struct {
	Args   []string
	After  time.Duration
	Stderr string
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("limactl %s did not finish within %s and was stopped", strings.Join(e.Args, " "), e.After)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	if e.IsStart() {
		return msg + "; run vmhook up to try again, or raise VMHOOK_START_TIMEOUT"
	}
	return msg + "; see what limactl is doing (ps) and try again"
}

// IsStart reports whether the call was a create or a start, the calls that
// StartTimeout bounds.
func (e *TimeoutError) IsStart() bool {
	return len(e.Args) > 0 && (e.Args[0] == "create" || e.Args[0] == "start")
}

// bound is how long a call with these arguments may run.
func (c *Command) bound(args []string) time.Duration {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch {
	case sub == "create" || sub == "start":
		if c.StartTimeout > 0 {
			return c.StartTimeout
		}
		return DefaultStartTimeout
	case c.CallTimeout > 0:
		return c.CallTimeout
	case sub == "stop" || sub == "delete":
		return stopTimeout
	}
	return queryTimeout
}

// errCallTimeout is the cause of a call's context when its bound expired.
var errCallTimeout = errors.New("limactl call timed out")

// call is one bounded, cancellable limactl run. done must be called once
// Wait has returned.
type call struct {
	cmd    *exec.Cmd
	term   time.Duration // SIGTERM this long after SIGINT
	kill   time.Duration // SIGKILL this long after SIGTERM
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	args   []string
	bound  time.Duration

	mu     sync.Mutex
	exited bool
	timers []*time.Timer
}

func (c *Command) start(ctx context.Context, args []string) *call {
	cl := &call{parent: ctx, args: args, bound: c.bound(args), term: termAfter, kill: killAfter}
	if c.TermAfter > 0 {
		cl.term = c.TermAfter
	}
	if c.KillAfter > 0 {
		cl.kill = c.KillAfter
	}
	cl.ctx, cl.cancel = context.WithTimeoutCause(ctx, cl.bound, errCallTimeout)
	cmd := exec.CommandContext(cl.ctx, c.Path, args...)
	cmd.Env = c.Env
	// Its own process group, so that the whole of it (limactl and whatever
	// it started that shares its pipes) can be signalled, and only vmhook
	// decides when: the terminal's Ctrl-C reaches vmhook, which passes it on.
	// limactl has no business with the terminal (--tty=false, no stdin).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = cl.escalate
	// The backstop: past this, os/exec kills limactl itself and closes the
	// pipes that a process outside the group may still hold.
	cmd.WaitDelay = cl.term + cl.kill + pipeGrace
	cl.cmd = cmd
	return cl
}

// escalate asks limactl's process group to stop with SIGINT, and insists
// with SIGTERM, then SIGKILL.
func (cl *call) escalate() error {
	if err := cl.signal(syscall.SIGINT); err != nil {
		return err
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.timers = append(cl.timers,
		time.AfterFunc(cl.term, func() { cl.signal(syscall.SIGTERM) }),
		time.AfterFunc(cl.term+cl.kill, func() { cl.signal(syscall.SIGKILL) }))
	return nil
}

// signal signals limactl's process group, as long as the call is not over:
// the group id must not be reused for an unrelated group.
func (cl *call) signal(sig syscall.Signal) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.exited {
		return os.ErrProcessDone
	}
	if err := syscall.Kill(-cl.cmd.Process.Pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

// done ends the call: no more signals, and the context is released.
func (cl *call) done() {
	cl.mu.Lock()
	cl.exited = true
	for _, t := range cl.timers {
		t.Stop()
	}
	cl.mu.Unlock()
	cl.cancel()
}

// result is the outcome of Wait: a limactl that succeeded has succeeded,
// even if something it left behind kept its output open past WaitDelay.
// It must be called before done, which ends the call's context.
func (cl *call) result(err error) error {
	if errors.Is(err, exec.ErrWaitDelay) && cl.parent.Err() == nil && cl.ctx.Err() == nil &&
		cl.cmd.ProcessState != nil && cl.cmd.ProcessState.Success() {
		return nil
	}
	return err
}

// failure turns a failed run into the error to report: a time-out, the
// caller's cancellation, or limactl's own failure.
func (cl *call) failure(err error, stderr []string) error {
	tail := stderrTail(stderr, 3)
	// The call's own context is over by now (done); the cause tells
	// whether its bound expired first.
	if errors.Is(context.Cause(cl.ctx), errCallTimeout) {
		return &TimeoutError{Args: cl.args, After: cl.bound, Stderr: tail}
	}
	if cerr := cl.parent.Err(); cerr != nil {
		return fmt.Errorf("limactl %s: %w", strings.Join(cl.args, " "), cerr)
	}
	return &LimactlError{Args: cl.args, Code: exitCode(err), Stderr: tail}
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
	cl := c.start(ctx, args)
	var stderr bytes.Buffer
	cl.cmd.Stderr = &stderr
	out, err := cl.cmd.Output()
	err = cl.result(err)
	cl.done()
	if err != nil {
		return out, cl.failure(err, strings.Split(stderr.String(), "\n"))
	}
	return out, nil
}

// Run implements Limactl.
func (c *Command) Run(ctx context.Context, onLine func(string), args ...string) error {
	cl := c.start(ctx, args)
	pr, pw := io.Pipe()
	cl.cmd.Stderr = pw
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
	err := cl.result(cl.cmd.Run())
	cl.done()
	pw.Close()
	wg.Wait()
	if err != nil {
		return cl.failure(err, lines)
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

// Attach implements Limactl.
func (c *Command) Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = stdin, stdout, stderr, c.Env
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &LimactlError{Args: args, Code: ee.ExitCode()}
		}
		return fmt.Errorf("run limactl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
