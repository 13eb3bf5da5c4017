package hostcfg

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// answer is what the fake service manager says to one command line.
type answer struct {
	out, stderr string
	code        int  // non-zero: the command failed
	missing     bool // the tool is not installed
}

// fakeRun answers only the command lines it was given and fails the test
// on any other.
type fakeRun struct {
	t       *testing.T
	answers map[string]answer
	calls   []string
}

func (f *fakeRun) Run(_ context.Context, name string, args ...string) (string, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	a, ok := f.answers[line]
	if !ok {
		f.t.Errorf("unexpected command: %s", line)
		return "", &CommandError{Args: append([]string{name}, args...), Code: 99, Stderr: "unexpected"}
	}
	if a.missing {
		return "", fmt.Errorf("%s not found: %w", name, exec.ErrNotFound)
	}
	if a.code != 0 {
		return a.out, &CommandError{Args: append([]string{name}, args...), Code: a.code, Stdout: a.out, Stderr: a.stderr}
	}
	return a.out, nil
}

// testItem is a login item in a temporary home, not yet written.
func testItem(t *testing.T) Autostart {
	home := t.TempDir()
	return Autostart{Name: "default", Self: "/bin/vmhook", Env: []Var{{"PATH", "/usr/bin"}}, Home: home, ConfigHome: home + "/.config", LogPath: home + "/log"}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	isEnabled = "systemctl --user is-enabled vmhook-default.service"
	show      = "systemctl --user show vmhook-default.service --property=LoadState,FragmentPath,NeedDaemonReload,ActiveState,SubState,Result,ExecMainStatus,ExecMainStartTimestamp"
)

var noBus = answer{code: 1, stderr: "Failed to connect to bus: No medium found"}

func loadedProps(a Autostart, extra string) string {
	return "LoadState=loaded\nFragmentPath=" + a.UnitPath() + "\nNeedDaemonReload=no\nActiveState=active\nSubState=exited\n" +
		"Result=success\nExecMainStatus=0\nExecMainStartTimestamp=Sun 2026-11-29 10:00:00 UTC\n" + extra
}

func TestSystemdStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		written bool
		answers func(a Autostart) map[string]answer
		verdict string
		want    map[string]string // check → "state: detail" prefix
	}{
		{
			name: "enabled, started at login", written: true, verdict: "on",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: {out: loadedProps(a, "")}}
			},
			want: map[string]string{"enabled": "yes: systemctl --user is-enabled vmhook-default.service: enabled", "loaded": "yes", "running": "yes: active (exited)", "last run": "yes: success (exit 0)"},
		},
		{
			name: "enabled, no user manager to ask", written: true, verdict: "on",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: noBus}
			},
			want: map[string]string{"loaded": "unknown: no user manager answered (Failed to connect to bus: No medium found)"},
		},
		{
			name: "written, enabling failed", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "disabled\n", code: 1}, show: noBus}
			},
			want: map[string]string{"file": "yes", "enabled": "no: systemctl --user is-enabled vmhook-default.service: disabled"},
		},
		{
			name: "nothing", verdict: "off",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{
					isEnabled: {code: 1, stderr: "Failed to get unit file state for vmhook-default.service: No such file or directory"},
					show:      {out: "LoadState=not-found\nActiveState=inactive\n"},
				}
			},
			want: map[string]string{"file": "no", "enabled": "no", "loaded": "no: not loaded"},
		},
		{
			name: "another copy of the unit wins", written: true, verdict: "incomplete",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: {out: strings.Replace(loadedProps(a, ""), a.UnitPath(), "/etc/systemd/user/vmhook-default.service", 1)}}
			},
			want: map[string]string{"loaded": "no: systemd loads vmhook-default.service from /etc/systemd/user/vmhook-default.service"},
		},
		{
			name: "the manager holds an older copy", written: true, verdict: "incomplete",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: {out: strings.Replace(loadedProps(a, ""), "NeedDaemonReload=no", "NeedDaemonReload=yes", 1)}}
			},
			want: map[string]string{"loaded": "no: systemd holds an older copy; run: systemctl --user daemon-reload"},
		},
		{
			name: "the manager does not see the file", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: {out: "LoadState=not-found\n"}}
			},
			want: map[string]string{"loaded": "no: the user manager does not see"},
		},
		{
			name: "the last start failed", written: true, verdict: "on",
			answers: func(a Autostart) map[string]answer {
				p := strings.NewReplacer("ActiveState=active", "ActiveState=failed", "SubState=exited", "SubState=failed", "Result=success", "Result=exit-code", "ExecMainStatus=0", "ExecMainStatus=1").Replace(loadedProps(a, ""))
				return map[string]answer{isEnabled: {out: "enabled\n"}, show: {out: p}}
			},
			want: map[string]string{"running": "no: failed (failed)", "last run": "no: exit-code (exit 1); see: journalctl --user -u vmhook-default.service"},
		},
		{
			name: "no systemctl", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{isEnabled: {missing: true}, show: {missing: true}}
			},
			want: map[string]string{"enabled": "unknown: systemctl not found", "loaded": "unknown: systemctl not found"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testItem(t)
			if tc.written {
				writeFile(t, a.UnitPath())
			}
			run := &fakeRun{t: t, answers: tc.answers(a)}
			st := Systemd{Run: run}.Status(context.Background(), a)
			if got := st.Verdict(); got != tc.verdict {
				t.Errorf("verdict %q, want %q\n%s", got, tc.verdict, st.Report())
			}
			checkFacts(t, st, tc.want)
			if !strings.HasPrefix(st.Report(), "default: autostart "+tc.verdict+"\n") {
				t.Errorf("report:\n%s", st.Report())
			}
		})
	}
}

func checkFacts(t *testing.T, st Status, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, c := range st.Checks {
		got[c.What] = c.State.String() + ": " + c.Detail
	}
	for what, prefix := range want {
		if !strings.HasPrefix(got[what], prefix) {
			t.Errorf("%s = %q, want it to start with %q\n%s", what, got[what], prefix, st.Report())
		}
	}
}

func TestSystemdEnable(t *testing.T) {
	a := testItem(t)
	run := &fakeRun{t: t, answers: map[string]answer{
		"systemctl --user enable vmhook-default.service": {},
		"systemctl --user daemon-reload":                 noBus,
	}}
	if err := (Systemd{Run: run}).Enable(context.Background(), a); err != nil {
		t.Fatalf("Enable() = %v (a failed reload is Status's to report)", err)
	}
	if want := []string{"systemctl --user enable vmhook-default.service", "systemctl --user daemon-reload"}; !reflect.DeepEqual(run.calls, want) {
		t.Errorf("calls %q, want %q", run.calls, want)
	}

	run.answers["systemctl --user enable vmhook-default.service"] = answer{code: 1, stderr: "Failed to enable unit: Access denied"}
	err := (Systemd{Run: run}).Enable(context.Background(), a)
	if err == nil || err.Error() != "systemctl --user enable vmhook-default.service failed (exit 1): Failed to enable unit: Access denied" {
		t.Errorf("Enable() = %v", err)
	}

	run.answers["systemctl --user enable vmhook-default.service"] = answer{missing: true}
	if err := (Systemd{Run: run}).Enable(context.Background(), a); err == nil || !strings.Contains(err.Error(), "systemctl not found") {
		t.Errorf("Enable() without systemctl = %v", err)
	}
}

func TestSystemdDisable(t *testing.T) {
	a := testItem(t)
	writeFile(t, a.UnitPath())
	run := &fakeRun{t: t, answers: map[string]answer{
		"systemctl --user disable vmhook-default.service": {code: 1, stderr: "Failed to disable unit: Access denied"},
	}}
	err := (Systemd{Run: run}).Disable(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "is kept so you can retry") {
		t.Errorf("Disable() = %v", err)
	}
	if _, err := os.Stat(a.UnitPath()); err != nil {
		t.Error("a unit systemctl could not disable was removed")
	}

	run.answers["systemctl --user disable vmhook-default.service"] = answer{}
	run.answers["systemctl --user daemon-reload"] = noBus
	if err := (Systemd{Run: run}).Disable(context.Background(), a); err != nil {
		t.Fatalf("Disable() = %v", err)
	}
	if _, err := os.Stat(a.UnitPath()); !os.IsNotExist(err) {
		t.Error("the unit is still there")
	}
}

const (
	target       = "gui/501/io.vmhook.default"
	launchPrint  = "launchctl print " + target
	printDisable = "launchctl print-disabled gui/501"
)

var notFound = answer{code: 113, stderr: `Bad request.
Could not find service "io.vmhook.default" in domain for user gui: 501`}

// printed is launchctl print's answer for the agent loaded from path.
func printed(path, state, lastExit string) answer {
	return answer{out: "gui/501/io.vmhook.default = {\n" +
		"\tactive count = 0\n" +
		"\tpath = " + path + "\n" +
		"\ttype = LaunchAgent\n" +
		"\tstate = " + state + "\n\n" +
		"\tprogram = /Users/me/.nix-profile/bin/vmhook\n" +
		"\targuments = {\n\t\t/Users/me/.nix-profile/bin/vmhook\n\t\tup\n\t\t--vm\n\t\tdefault\n\t}\n\n" +
		"\tenvironment = {\n\t\tPATH => /Users/me/.nix-profile/bin:/usr/bin\n\t\tstate = nested\n\t}\n\n" +
		"\tdomain = gui/501 [100005]\n" +
		"\truns = 1\n" +
		"\tlast exit code = " + lastExit + "\n" +
		"}\n"}
}

func TestLaunchdStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		written bool
		answers func(a Autostart) map[string]answer
		verdict string
		want    map[string]string
	}{
		{
			name: "loaded, ran", written: true, verdict: "on",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{printDisable: {out: "disabled services = {\n\t\"com.other\" => disabled\n}\n"}, launchPrint: printed(a.AgentPath(), "not running", "0")}
			},
			want: map[string]string{"enabled": "yes", "loaded": "yes: launchctl print " + target, "running": "no: not running", "last run": "yes: exit 0"},
		},
		{
			name: "loaded, starting the VM", written: true, verdict: "on",
			answers: func(a Autostart) map[string]answer {
				p := printed(a.AgentPath(), "running", "(never exited)")
				p.out = strings.Replace(p.out, "\ttype = LaunchAgent\n", "\ttype = LaunchAgent\n\tpid = 4242\n", 1)
				return map[string]answer{printDisable: {}, launchPrint: p}
			},
			want: map[string]string{"running": "yes: running (pid 4242)", "last run": "unknown: not run since it was loaded"},
		},
		{
			name: "written, bootstrap failed", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{printDisable: {}, launchPrint: notFound}
			},
			want: map[string]string{"file": "yes", "enabled": "yes", "loaded": "no: launchctl print " + target + ": not loaded"},
		},
		{
			name: "disabled in launchd (macOS 13+)", written: true, verdict: "incomplete",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{printDisable: {out: "disabled services = {\n\t\"io.vmhook.default\" => disabled\n}\n"}, launchPrint: printed(a.AgentPath(), "not running", "0")}
			},
			want: map[string]string{"enabled": "no: launchd has it disabled; run: launchctl enable " + target},
		},
		{
			name: "disabled in launchd (before macOS 13)", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{printDisable: {out: "disabled services = {\n\t\"io.vmhook.default\" => true\n}\n"}, launchPrint: notFound}
			},
			want: map[string]string{"enabled": "no: launchd has it disabled"},
		},
		{
			name: "nothing", verdict: "off",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{printDisable: {}, launchPrint: notFound}
			},
			want: map[string]string{"file": "no", "enabled": "no", "loaded": "no"},
		},
		{
			name: "removed but still loaded", verdict: "incomplete",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{printDisable: {}, launchPrint: printed(a.AgentPath(), "not running", "0")}
			},
			want: map[string]string{"file": "no", "loaded": "yes"},
		},
		{
			name: "loaded from elsewhere", written: true, verdict: "incomplete",
			answers: func(Autostart) map[string]answer {
				return map[string]answer{printDisable: {}, launchPrint: printed("/Library/LaunchAgents/io.vmhook.default.plist", "not running", "0")}
			},
			want: map[string]string{"loaded": "no: launchd loaded io.vmhook.default from /Library/LaunchAgents/io.vmhook.default.plist"},
		},
		{
			name: "the last run failed", written: true, verdict: "on",
			answers: func(a Autostart) map[string]answer {
				return map[string]answer{printDisable: {}, launchPrint: printed(a.AgentPath(), "not running", "1")}
			},
			want: map[string]string{"last run": "no: exit 1; see "},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testItem(t)
			if tc.written {
				writeFile(t, a.AgentPath())
			}
			run := &fakeRun{t: t, answers: tc.answers(a)}
			st := Launchd{Run: run, UID: 501}.Status(context.Background(), a)
			if got := st.Verdict(); got != tc.verdict {
				t.Errorf("verdict %q, want %q\n%s", got, tc.verdict, st.Report())
			}
			checkFacts(t, st, tc.want)
			if strings.Contains(st.Report(), "systemctl") {
				t.Errorf("a launchd report names systemctl:\n%s", st.Report())
			}
		})
	}
}

func TestLaunchdEnable(t *testing.T) {
	a := testItem(t)
	bootstrap := "launchctl bootstrap gui/501 " + a.AgentPath()
	run := &fakeRun{t: t, answers: map[string]answer{
		"launchctl enable " + target:  {},
		"launchctl bootout " + target: {code: 3, stderr: "Boot-out failed: 3: No such process"},
		bootstrap:                     {},
	}}
	l := Launchd{Run: run, UID: 501}
	if err := l.Enable(context.Background(), a); err != nil {
		t.Fatalf("Enable() = %v", err)
	}
	if want := []string{"launchctl enable " + target, "launchctl bootout " + target, bootstrap}; !reflect.DeepEqual(run.calls, want) {
		t.Errorf("calls %q, want %q", run.calls, want)
	}
	run.answers[bootstrap] = answer{code: 5, stderr: "Bootstrap failed: 5: Input/output error"}
	err := l.Enable(context.Background(), a)
	if err == nil || err.Error() != "launchctl bootstrap gui/501 "+a.AgentPath()+" failed (exit 5): Bootstrap failed: 5: Input/output error" {
		t.Errorf("Enable() = %v", err)
	}
	run.answers["launchctl bootout "+target] = answer{code: 1, stderr: "Boot-out failed: 1: Operation not permitted"}
	if err := l.Enable(context.Background(), a); err == nil || !strings.Contains(err.Error(), "bootout") {
		t.Errorf("Enable() after a failed bootout = %v", err)
	}
}

func TestLaunchdDisable(t *testing.T) {
	a := testItem(t)
	writeFile(t, a.AgentPath())
	run := &fakeRun{t: t, answers: map[string]answer{"launchctl bootout " + target: {code: 1, stderr: "Boot-out failed: 1: Operation not permitted"}}}
	l := Launchd{Run: run, UID: 501}
	if err := l.Disable(context.Background(), a); err == nil || !strings.Contains(err.Error(), "is kept so you can retry") {
		t.Errorf("Disable() = %v", err)
	}
	run.answers["launchctl bootout "+target] = notFound
	if err := l.Disable(context.Background(), a); err != nil {
		t.Fatalf("Disable() of an unloaded agent = %v", err)
	}
	if _, err := os.Stat(a.AgentPath()); !os.IsNotExist(err) {
		t.Error("the agent is still there")
	}
}

func TestForOS(t *testing.T) {
	run := &fakeRun{t: t}
	for goos, tool := range map[string]string{"linux": "systemctl --user", "darwin": "launchctl"} {
		s, err := ForOS(goos, run, 501)
		if err != nil || s.Tool() != tool {
			t.Errorf("ForOS(%s) = %v, %v", goos, s, err)
		}
	}
	if _, err := ForOS("windows", run, 0); err == nil {
		t.Error("ForOS(windows) has a service manager")
	}
}

// TestRealSystemctl enables and disables a unit with the real systemctl in
// a temporary config dir. It runs only where no user manager answers: there
// systemctl edits the unit links itself and cannot touch the user's own
// manager.
func TestRealSystemctl(t *testing.T) {
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Skip("systemctl is not installed")
	}
	a := testItem(t)
	env := append(os.Environ(), "HOME="+a.Home, "XDG_CONFIG_HOME="+a.ConfigHome)
	if err := exec.Command("systemctl", "--user", "show-environment").Run(); err == nil {
		t.Skip("a user manager is running; this test would change it")
	}
	unit, err := a.Unit()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(a.UnitPath()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.UnitPath(), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	s := Systemd{Run: ExecRunner{Env: env}}
	ctx := context.Background()
	if err := s.Enable(ctx, a); err != nil {
		t.Skipf("systemctl --user enable does not work here without a user manager: %v", err)
	}
	if st := s.Status(ctx, a); st.Verdict() != "on" {
		t.Errorf("after Enable:\n%s", st.Report())
	}
	if _, err := os.Lstat(filepath.Join(a.ConfigHome, "systemd", "user", "default.target.wants", a.UnitName())); err != nil {
		t.Errorf("no link in default.target.wants: %v", err)
	}
	if err := s.Disable(ctx, a); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(ctx, a); st.Verdict() != "off" {
		t.Errorf("after Disable:\n%s", st.Report())
	}
}
