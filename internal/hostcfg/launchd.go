package hostcfg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Launchd manages the login item as a launchd agent in the user's gui
// domain.
type Launchd struct {
	Run Runner
	UID int
}

// Tool implements Service.
func (Launchd) Tool() string { return "launchctl" }

// Path implements Service.
func (Launchd) Path(a Autostart) string { return a.AgentPath() }

// Render implements Service.
func (Launchd) Render(a Autostart) (string, error) { return a.LaunchAgent() }

func (l Launchd) domain() string            { return "gui/" + strconv.Itoa(l.UID) }
func (l Launchd) target(a Autostart) string { return l.domain() + "/" + a.Label() }

// notLoaded reports whether launchctl failed because the service is not
// loaded (launchctl's "Could not find service", exit 113; bootout's
// "No such process", exit 3).
func notLoaded(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce) && (ce.Code == 113 || ce.Code == 3 ||
		strings.Contains(ce.Stderr, "Could not find service") || strings.Contains(ce.Stderr, "No such process"))
}

// Enable clears a "disabled" override, unloads an older copy, and loads the
// written agent; RunAtLoad starts the VM now, as at every login.
func (l Launchd) Enable(ctx context.Context, a Autostart) error {
	if _, err := l.Run.Run(ctx, "launchctl", "enable", l.target(a)); err != nil {
		if notInstalled(err) {
			return errors.New("launchctl not found; autostart on macOS needs launchd")
		}
		return err
	}
	if _, err := l.Run.Run(ctx, "launchctl", "bootout", l.target(a)); err != nil && !notLoaded(err) {
		return err
	}
	_, err := l.Run.Run(ctx, "launchctl", "bootstrap", l.domain(), a.AgentPath())
	return err
}

// Disable unloads the agent, which does not stop the VM, and removes it.
func (l Launchd) Disable(ctx context.Context, a Autostart) error {
	if _, err := l.Run.Run(ctx, "launchctl", "bootout", l.target(a)); err != nil && !notLoaded(err) && !notInstalled(err) {
		return fmt.Errorf("%w; %s is kept so you can retry: vmhook autostart disable --vm %s", err, a.AgentPath(), a.Name)
	}
	return removeFile(a.AgentPath())
}

// Status implements Service: print-disabled says whether launchd would load
// the agent at login, print whether and from where it is loaded now and how
// its last run ended.
func (l Launchd) Status(ctx context.Context, a Autostart) Status {
	st := Status{Name: a.Name, Tool: l.Tool()}
	file := fileCheck(a.AgentPath())
	st.Checks = append(st.Checks, file)

	// launchd loads every agent file at login unless it is disabled.
	enabled := Check{What: "enabled", Needed: true}
	out, err := l.Run.Run(ctx, "launchctl", "print-disabled", l.domain())
	switch {
	case file.State != Yes:
		enabled.State, enabled.Detail = No, "no agent file for launchd to load at login"
	case err != nil && notInstalled(err):
		enabled.Detail = "launchctl not found"
	case err != nil:
		enabled.Detail = err.Error()
	case disabledIn(out, a.Label()):
		enabled.State, enabled.Detail = No, "launchd has it disabled; run: launchctl enable "+l.target(a)
	default:
		enabled.State, enabled.Detail = Yes, "not disabled in launchctl print-disabled "+l.domain()
	}
	st.Checks = append(st.Checks, enabled)

	loaded := Check{What: "loaded", Needed: true}
	out, err = l.Run.Run(ctx, "launchctl", "print", l.target(a))
	switch {
	case err != nil && notLoaded(err):
		loaded.State, loaded.Detail = No, "launchctl print "+l.target(a)+": not loaded; run: vmhook autostart enable --vm "+a.Name
	case err != nil && notInstalled(err):
		loaded.Detail = "launchctl not found"
	case err != nil:
		loaded.Detail = err.Error()
	}
	if err != nil {
		st.Checks = append(st.Checks, loaded)
		return st
	}
	p := parsePrint(out)
	if p["path"] != "" && p["path"] != a.AgentPath() {
		loaded.State, loaded.Detail = No, fmt.Sprintf("launchd loaded %s from %s, not %s; run: vmhook autostart enable --vm %s", a.Label(), p["path"], a.AgentPath(), a.Name)
	} else {
		loaded.State, loaded.Detail = Yes, "launchctl print "+l.target(a)
	}
	running := Check{What: "running", State: No, Detail: p["state"]}
	if p["state"] == "running" {
		running.State, running.Detail = Yes, "running (pid "+p["pid"]+"): vmhook up has not finished"
	} else if p["state"] == "not running" {
		running.Detail = "not running (vmhook up ran and exited, or has not run)"
	}
	last := Check{What: "last run"}
	switch code := p["last exit code"]; {
	case code == "" || strings.HasPrefix(code, "("):
		last.Detail = "not run since it was loaded"
	case code == "0":
		last.State, last.Detail = Yes, "exit 0"
	default:
		last.State, last.Detail = No, "exit "+code+"; see "+a.LogPath
	}
	st.Checks = append(st.Checks, loaded, running, last)
	return st
}

// disabledIn reads launchctl print-disabled: `"LABEL" => disabled` (or
// `=> true` before macOS 13).
func disabledIn(out, label string) bool {
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=>")
		if ok && strings.TrimSpace(k) == strconv.Quote(label) {
			v = strings.TrimSpace(v)
			return v == "disabled" || v == "true"
		}
	}
	return false
}

// parsePrint reads the top-level "key = value" lines of launchctl print.
func parsePrint(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		// Top-level properties are indented by one tab; nested blocks more.
		if !strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "\t\t") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(l), " = ")
		if ok && !strings.HasSuffix(v, "{") {
			m[k] = v
		}
	}
	return m
}
