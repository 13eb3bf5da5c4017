package hostcfg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Runner runs a service manager command (systemctl or launchctl) and returns
// its standard output. A command that ran and failed returns a
// *CommandError; one that is not installed, an error wrapping
// exec.ErrNotFound. Tests pass a fake.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (string, error)
}

// CommandError is a service manager command that ran and failed.
type CommandError struct {
	Args   []string
	Code   int
	Stdout string
	Stderr string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s failed (exit %d): %s", strings.Join(e.Args, " "), e.Code, e.Reason())
}

// Reason is the last line the command printed on stderr (or stdout).
func (e *CommandError) Reason() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(e.Stdout)
	}
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[i+1:])
	}
	return msg
}

// reason says briefly why a command failed: its last line of output, or
// that the tool is not installed.
func reason(err error) string {
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.Reason()
	}
	return err.Error()
}

// ExecRunner runs the real tools with Env as their environment.
type ExecRunner struct{ Env []string }

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: %w", name, exec.ErrNotFound)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = r.Env, &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), &CommandError{Args: append([]string{name}, args...), Code: ee.ExitCode(), Stdout: out.String(), Stderr: errb.String()}
	}
	if err != nil {
		return out.String(), fmt.Errorf("run %s: %w", name, err)
	}
	return out.String(), nil
}

// Service is the login-item manager of one OS.
type Service interface {
	// Tool names the service manager as a user types it.
	Tool() string
	// Path is where the login item's file goes.
	Path(a Autostart) string
	// Render is the file's content.
	Render(a Autostart) (string, error)
	// Enable makes the service manager use the written file.
	Enable(ctx context.Context, a Autostart) error
	// Disable stops the service manager using the file, and removes it.
	Disable(ctx context.Context, a Autostart) error
	// Status asks the service manager what is in place.
	Status(ctx context.Context, a Autostart) Status
}

// ForOS is the service manager of goos; uid is the user's, for launchd's
// gui/UID domain.
func ForOS(goos string, run Runner, uid int) (Service, error) {
	switch goos {
	case "linux":
		return Systemd{Run: run}, nil
	case "darwin":
		return Launchd{Run: run, UID: uid}, nil
	}
	return nil, fmt.Errorf("autostart needs systemd (Linux) or launchd (macOS), not %s; start the VM with vmhook up --vm NAME", goos)
}

// State is what one check found.
type State int

// States of a check.
const (
	Unknown State = iota
	Yes
	No
)

func (s State) String() string { return [...]string{"unknown", "yes", "no"}[s] }

// Check is one fact about a login item.
type Check struct {
	What   string // "file", "enabled", "loaded", "running", "last run"
	State  State
	Detail string
	// Needed marks the facts that make autostart work: all must be Yes
	// for "on".
	Needed bool
}

// Status is what is and is not in place for a VM's login item.
type Status struct {
	Name   string
	Tool   string
	Checks []Check
}

// Verdict is "on" when every needed fact holds, "off" when none does, and
// "incomplete" otherwise.
func (s Status) Verdict() string {
	yes, needed := 0, 0
	for _, c := range s.Checks {
		if c.Needed {
			needed++
			if c.State == Yes {
				yes++
			}
		}
	}
	switch {
	case needed > 0 && yes == needed:
		return "on"
	case yes == 0:
		return "off"
	}
	return "incomplete"
}

// Missing lists the needed facts that do not hold, one phrase each.
func (s Status) Missing() []string {
	var out []string
	for _, c := range s.Checks {
		if c.Needed && c.State != Yes {
			out = append(out, c.What+" "+c.State.String()+" ("+c.Detail+")")
		}
	}
	return out
}

// Present lists the needed facts that still hold, one phrase each.
func (s Status) Present() []string {
	var out []string
	for _, c := range s.Checks {
		if c.Needed && c.State == Yes {
			out = append(out, c.What+" ("+c.Detail+")")
		}
	}
	return out
}

// Report is the status as people and scripts read it: a verdict line, then
// one line per fact.
func (s Status) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: autostart %s\n", s.Name, s.Verdict())
	for _, c := range s.Checks {
		fmt.Fprintf(&b, "  %-9s %s: %s\n", c.What+":", c.State, c.Detail)
	}
	return b.String()
}

// fileCheck says whether the login item's file is written.
func fileCheck(path string) Check {
	if _, err := os.Stat(path); err != nil {
		return Check{What: "file", State: No, Detail: path + " does not exist", Needed: true}
	}
	return Check{What: "file", State: Yes, Detail: path, Needed: true}
}

// notInstalled reports whether err says the tool itself is missing.
func notInstalled(err error) bool { return errors.Is(err, exec.ErrNotFound) }

// removeFile removes a login item's file, which may already be gone.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
