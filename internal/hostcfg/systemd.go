package hostcfg

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Systemd manages the login item as a systemd user unit.
type Systemd struct{ Run Runner }

// Tool implements Service.
func (Systemd) Tool() string { return "systemctl --user" }

// Path implements Service.
func (Systemd) Path(a Autostart) string { return a.UnitPath() }

// Render implements Service.
func (Systemd) Render(a Autostart) (string, error) { return a.Unit() }

func (s Systemd) ctl(ctx context.Context, args ...string) (string, error) {
	return s.Run.Run(ctx, "systemctl", append([]string{"--user"}, args...)...)
}

// Enable links the unit into default.target, then asks a running user
// manager to read the file again. With no user manager to ask (no session
// bus), systemctl still links the unit, which is read at the next login.
func (s Systemd) Enable(ctx context.Context, a Autostart) error {
	if _, err := s.ctl(ctx, "enable", a.UnitName()); err != nil {
		if notInstalled(err) {
			return errors.New("systemctl not found; autostart on Linux needs systemd")
		}
		return err
	}
	// A rewritten unit that was already enabled is not reloaded by enable;
	// failing here (no user manager) is reported by Status.
	_, _ = s.ctl(ctx, "daemon-reload")
	return nil
}

// Disable unlinks the unit, removes it, and lets a running user manager
// forget it. It does not stop the VM.
func (s Systemd) Disable(ctx context.Context, a Autostart) error {
	if _, err := s.ctl(ctx, "disable", a.UnitName()); err != nil && !notInstalled(err) {
		return fmt.Errorf("%w; %s is kept so you can retry: vmhook autostart disable --vm %s", err, a.UnitPath(), a.Name)
	}
	if err := removeFile(a.UnitPath()); err != nil {
		return err
	}
	_, _ = s.ctl(ctx, "daemon-reload")
	return nil
}

// unitProps are the properties Status reads from a running user manager.
var unitProps = []string{"LoadState", "FragmentPath", "NeedDaemonReload", "ActiveState", "SubState", "Result", "ExecMainStatus", "ExecMainStartTimestamp"}

// Status implements Service: is-enabled reads the unit links (it works
// without a user manager); show asks the running manager what it loaded and
// how the last start went.
func (s Systemd) Status(ctx context.Context, a Autostart) Status {
	st := Status{Name: a.Name, Tool: s.Tool()}
	file := fileCheck(a.UnitPath())
	st.Checks = append(st.Checks, file)
	unit := a.UnitName()

	enabled := Check{What: "enabled", Needed: true}
	out, err := s.ctl(ctx, "is-enabled", unit)
	word := strings.TrimSpace(firstLine(out))
	var ce *CommandError
	switch {
	case word == "enabled":
		enabled.State, enabled.Detail = Yes, "systemctl --user is-enabled "+unit+": enabled"
	case word != "":
		enabled.State, enabled.Detail = No, "systemctl --user is-enabled "+unit+": "+word
	case notInstalled(err):
		enabled.Detail = "systemctl not found"
	case errors.As(err, &ce) && strings.Contains(ce.Stderr, "No such file or directory"):
		enabled.State, enabled.Detail = No, "systemctl --user is-enabled "+unit+": no such unit"
	case err != nil:
		enabled.Detail = err.Error()
	default:
		enabled.Detail = "systemctl --user is-enabled " + unit + " said nothing"
	}
	st.Checks = append(st.Checks, enabled)

	out, err = s.ctl(ctx, "show", unit, "--property="+strings.Join(unitProps, ","))
	if err != nil {
		detail := "no user manager answered (" + reason(err) + ")"
		if notInstalled(err) {
			detail = "systemctl not found"
		}
		st.Checks = append(st.Checks, Check{What: "loaded", Detail: detail})
		return st
	}
	p := parseProps(out)
	loaded := Check{What: "loaded"}
	switch {
	case p["LoadState"] == "loaded" && p["FragmentPath"] != a.UnitPath():
		loaded.State, loaded.Needed = No, true
		loaded.Detail = fmt.Sprintf("systemd loads %s from %s, not %s; remove one of them", unit, p["FragmentPath"], a.UnitPath())
	case p["LoadState"] == "loaded" && p["NeedDaemonReload"] == "yes":
		loaded.State, loaded.Needed = No, true
		loaded.Detail = "systemd holds an older copy; run: systemctl --user daemon-reload"
	case p["LoadState"] == "loaded":
		loaded.State, loaded.Detail = Yes, "by the user manager"
	case p["LoadState"] == "not-found" && file.State == Yes:
		loaded.State, loaded.Needed = No, true
		loaded.Detail = "the user manager does not see " + a.UnitPath() + "; run: systemctl --user daemon-reload (and check that its XDG_CONFIG_HOME is yours)"
	case p["LoadState"] == "not-found":
		loaded.State, loaded.Detail = No, "not loaded"
	default:
		loaded.State, loaded.Needed = No, true
		loaded.Detail = "LoadState=" + p["LoadState"] + "; see: systemctl --user status " + unit
	}
	st.Checks = append(st.Checks, loaded)
	if p["LoadState"] != "loaded" {
		return st
	}

	running := Check{What: "running", State: No, Detail: p["ActiveState"] + " (" + p["SubState"] + ")"}
	if p["ActiveState"] == "active" {
		running.State, running.Detail = Yes, "active ("+p["SubState"]+"): vmhook up finished"
	}
	last := Check{What: "last run"}
	switch {
	case p["ExecMainStartTimestamp"] == "":
		last.Detail = "not run since the user manager started"
	case p["Result"] == "success":
		last.State, last.Detail = Yes, "success (exit "+p["ExecMainStatus"]+")"
	default:
		last.State = No
		last.Detail = fmt.Sprintf("%s (exit %s); see: journalctl --user -u %s", p["Result"], p["ExecMainStatus"], unit)
	}
	st.Checks = append(st.Checks, running, last)
	return st
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// parseProps reads systemctl show's KEY=VALUE lines.
func parseProps(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}
