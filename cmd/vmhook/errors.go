package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
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
}

func (p printer) line(format string, args ...any) {
	fmt.Fprintf(p.w, "vmhook: "+format+"\n", args...)
}

func (p printer) errorLine(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if p.color {
		fmt.Fprintf(p.w, "\x1b[31mvmhook:\x1b[0m %s\n", msg)
		return
	}
	fmt.Fprintf(p.w, "vmhook: %s\n", msg)
}
