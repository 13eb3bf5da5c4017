package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/mattn/go-isatty"

	"github.com/vmhook/vmhook/projectvm"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how vmhook was called (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitError carries a specific exit code with an optional message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// A link changed since vmhook judged it: held back as consent is.
	var le *projectvm.LinkChangedError
	if errors.As(err, &le) {
		return exitConsent
	}
	// urfave/cli reports bad flags with these words.
	msg := err.Error()
	for _, s := range []string{"flag provided but not defined", "flag needs an argument", "invalid value", "Required flag", "invalid boolean"} {
		if strings.Contains(msg, s) {
			return exitUsage
		}
	}
	return exitFailure
}

// isTerminal reports whether v is a terminal file.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// printer writes the single-prefixed lines people read on stderr.
type printer struct {
	w     io.Writer
	color bool
	// said, when set, collects the lines printed, for a record of the run
	// (see recordEntry).
	said *[]string
}

func (p printer) line(format string, args ...any) {
	s := fmt.Sprintf("vmhook: %s\n", visible(fmt.Sprintf(format, args...)))
	io.WriteString(p.w, s)
	if p.said != nil {
		*p.said = append(*p.said, s)
	}
}

func (p printer) errorLine(err error) {
	msg := visible(strings.ReplaceAll(err.Error(), "\n", " "))
	if p.color {
		fmt.Fprintf(p.w, "\x1b[31mvmhook:\x1b[0m %s\n", msg)
		return
	}
	fmt.Fprintf(p.w, "vmhook: %s\n", msg)
}

// signalled is the cause of the run's context when a signal ended it.
type signalled struct{ sig syscall.Signal }

func (s *signalled) Error() string { return s.name() + " received" }

func (s *signalled) name() string {
	switch s.sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.sig.String()
}

// code is the exit code of a run a signal ended, as shells report it.
func (s *signalled) code() int { return 128 + int(s.sig) }

// verb says what happened, for the one line vmhook prints.
func (s *signalled) verb() string {
	if s.sig == syscall.SIGINT {
		return "interrupted"
	}
	return "stopped (" + s.name() + ")"
}

// signalOf returns the signal that ended ctx, or nil.
func signalOf(ctx context.Context) *signalled {
	var s *signalled
	if errors.As(context.Cause(ctx), &s) {
		return s
	}
	return nil
}

// forceExitAfter is how long vmhook gives itself to stop cleanly after a
// signal: well past the time it takes to end limactl (SIGINT, SIGTERM, then
// SIGKILL within a second), so that it only matters when something ignores
// the cancelled context.
const forceExitAfter = 5 * time.Second

// withSignals returns a context cancelled, with a *signalled cause, by the
// first SIGINT, SIGTERM or SIGHUP; the run then unwinds, so that deferred
// unlocks run and limactl is ended. Later signals are absorbed. Should the
// run not have ended forceExitAfter later, vmhook exits anyway: flocks are
// released by the kernel, and no limactl survives its SIGKILL.
func withSignals(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	// Under nohup, SIGHUP stays ignored, for vmhook and what it execs. SIGINT
	// is caught even when inherited ignored: the bash and zsh hooks ignore it
	// while vmhook runs, so that the rest of the prompt hooks still run, and
	// Ctrl-C must still stop vmhook.
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	signal.Notify(ch, sigs...)
	finished := make(chan struct{})
	go func() {
		var s *signalled
		select {
		case sig := <-ch:
			s = &signalled{sig: sig.(syscall.Signal)}
			cancel(s)
		case <-finished:
			return
		}
		select {
		case <-time.After(forceExitAfter):
			fmt.Fprintf(stderr, "vmhook: %s, and did not stop cleanly within %s; exiting\n", s.verb(), forceExitAfter)
			os.Exit(s.code())
		case <-finished:
		}
	}()
	return ctx, func() {
		close(finished)
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruption is the error a run ended by a signal reports: what the
// command said when it already gave a line for it, else a generic one.
func interruption(s *signalled, err error) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.code == s.code() {
		return err
	}
	return &exitError{code: s.code(), msg: s.verb() + "; run the command again to carry on"}
}

// visible escapes the control characters in a line for people, as Go quotes
// them: a path from a repository may hold a carriage return or an escape
// sequence that would rewrite what the terminal shows.
func visible(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
