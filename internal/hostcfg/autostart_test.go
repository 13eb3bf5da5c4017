package hostcfg

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hostile holds what a unit file, a plist or a shell would misread.
const hostile = `sp ace'q"uote%per$dollar&amp<lt>\back;semi#hash ünï`

// hostileProgram is the part of it systemd accepts in a program path: no
// quotes, no backslash.
const hostileProgram = `sp ace%per$dollar&amp<lt>;semi#hash ünï`

// hostileItem is a login item whose every recorded value, and vmhook's own
// path, holds hostile characters. vmhook's path is a real executable, so
// systemd-analyze can check that ExecStart names it.
func hostileItem(t *testing.T) Autostart {
	t.Helper()
	dir := filepath.Join(t.TempDir(), hostile)
	self := filepath.Join(t.TempDir(), hostileProgram, "vm hook")
	if err := os.MkdirAll(filepath.Dir(self), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Autostart{
		Name: "default",
		Self: self,
		Env: []Var{
			{"PATH", dir + "/.nix-profile/bin:/nix/var/nix/profiles/default/bin:/usr/bin"},
			{"HOME", dir},
			{"LIMACTL", dir + "/lima ctl"},
			{"LIMA_HOME", dir + "/.lima"},
			{"XDG_CONFIG_HOME", dir + "/.config"},
			{"XDG_STATE_HOME", dir + "/.local/state"},
		},
		Home:       dir,
		ConfigHome: dir + "/.config",
		LogPath:    dir + "/.local/state/vmhook/autostart-default.log",
	}
}

// plistNode is one plist element: dict, array, string, true or false.
type plistNode struct {
	XMLName xml.Name
	Text    string      `xml:",chardata"`
	Nodes   []plistNode `xml:",any"`
}

func (n plistNode) value(t *testing.T) any {
	switch n.XMLName.Local {
	case "string", "key":
		return n.Text
	case "true":
		return true
	case "false":
		return false
	case "array":
		var out []any
		for _, c := range n.Nodes {
			out = append(out, c.value(t))
		}
		return out
	case "dict":
		m := map[string]any{}
		if len(n.Nodes)%2 != 0 {
			t.Fatalf("dict with %d children", len(n.Nodes))
		}
		for i := 0; i < len(n.Nodes); i += 2 {
			if n.Nodes[i].XMLName.Local != "key" {
				t.Fatalf("dict entry %d is a <%s>, not a <key>", i, n.Nodes[i].XMLName.Local)
			}
			m[n.Nodes[i].Text] = n.Nodes[i+1].value(t)
		}
		return m
	}
	t.Fatalf("unexpected plist element <%s>", n.XMLName.Local)
	return nil
}

func parsePlist(t *testing.T, doc string) map[string]any {
	t.Helper()
	var root plistNode
	if err := xml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("plist is not XML: %v\n%s", err, doc)
	}
	if root.XMLName.Local != "plist" || len(root.Nodes) != 1 {
		t.Fatalf("root is <%s> with %d children", root.XMLName.Local, len(root.Nodes))
	}
	m, ok := root.Nodes[0].value(t).(map[string]any)
	if !ok {
		t.Fatalf("plist holds a %T, not a dict", root.Nodes[0].value(t))
	}
	return m
}

func TestLaunchAgent(t *testing.T) {
	a := hostileItem(t)
	doc, err := a.LaunchAgent()
	if err != nil {
		t.Fatal(err)
	}
	got := parsePlist(t, doc)
	env := map[string]any{}
	for _, v := range a.Env {
		env[v.Key] = v.Value
	}
	want := map[string]any{
		"Label":                "io.vmhook.default",
		"ProgramArguments":     []any{a.Self, "up", "--vm", "default"},
		"EnvironmentVariables": env,
		"RunAtLoad":            true,
		"StandardOutPath":      a.LogPath,
		"StandardErrorPath":    a.LogPath,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plist decodes to\n%#v\nwant\n%#v\n%s", got, want, doc)
	}
	if !strings.Contains(doc, "/nix/var/nix/profiles/default/bin") {
		t.Error("the recorded PATH lost the Nix profile")
	}
	if filepath.Base(a.AgentPath()) != "io.vmhook.default.plist" || !strings.HasPrefix(a.AgentPath(), filepath.Join(a.Home, "Library", "LaunchAgents")) {
		t.Errorf("AgentPath() = %q", a.AgentPath())
	}
}

// unitWords splits a unit value as systemd does for Environment= and
// ExecStart=: "%%" is a literal "%" (any other "%" is a specifier this test
// refuses), words are split at spaces outside double quotes, and inside them
// "\\" and "\"" are escapes. In ExecStart's arguments, "$$" is a literal
// "$"; its program is taken as it is.
func unitWords(t *testing.T, s string, exec bool) []string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+1 >= len(s) || s[i+1] != '%' {
				t.Fatalf("unescaped specifier in %q", s)
			}
			i++
		}
		b.WriteByte(s[i])
	}
	s = b.String()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		case c == '"':
			quoted, inWord = !quoted, true
		case !quoted && c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case !quoted && (c == '\\' || c == '\''):
			t.Fatalf("unquoted %q in %q", c, s)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	if exec {
		for i, w := range words[1:] {
			if strings.Count(strings.ReplaceAll(w, "$$", ""), "$") != 0 {
				t.Fatalf("unescaped variable in %q", w)
			}
			words[i+1] = strings.ReplaceAll(w, "$$", "$")
		}
	}
	return words
}

func TestUnitRecordsEnvironment(t *testing.T) {
	a := hostileItem(t)
	unit, err := a.Unit()
	if err != nil {
		t.Fatal(err)
	}
	var env []Var
	var execStart []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "Environment="); ok {
			for _, w := range unitWords(t, v, false) {
				k, val, _ := strings.Cut(w, "=")
				env = append(env, Var{k, val})
			}
		}
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			execStart = unitWords(t, v, true)
		}
	}
	if !reflect.DeepEqual(env, a.Env) {
		t.Errorf("Environment= decodes to\n%q\nwant\n%q\n%s", env, a.Env, unit)
	}
	if want := []string{a.Self, "up", "--vm", "default"}; !reflect.DeepEqual(execStart, want) {
		t.Errorf("ExecStart= decodes to %q, want %q", execStart, want)
	}
	verifyUnit(t, a, unit)
}

// verifyUnit runs systemd-analyze verify on the unit, as a user unit when a
// private runtime directory is enough for it, else as a system unit. It must
// print nothing: verify exits 0 on lines it ignores.
func verifyUnit(t *testing.T, a Autostart, unit string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("skipping systemd-analyze verify: systemd-analyze is not installed")
		return
	}
	dir := t.TempDir()
	file := filepath.Join(dir, a.UnitName())
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) (string, error) {
		cmd := exec.Command("systemd-analyze", append(append([]string{"verify"}, args...), "--man=no", file)...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+run, "SYSTEMD_LOG_COLOR=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify("--user")
	if strings.Contains(out, "Failed to initialize manager") || strings.Contains(out, "Failed to lookup RuntimeDirectory") {
		t.Logf("systemd-analyze verify --user cannot run here (%s); verifying as a system unit", strings.TrimSpace(out))
		out, err = verify()
	}
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
}

func TestUnitVerifies(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "vmhook")
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := Autostart{Name: "default", Self: self, Env: []Var{{"PATH", "/usr/bin:/bin"}, {"HOME", dir}}, Home: dir, ConfigHome: dir + "/.config", LogPath: dir + "/log"}
	unit, err := a.Unit()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=" + self + " up --vm default\n", "ExecStop=" + self + " stop --vm default\n", "WantedBy=default.target\n", "Environment=\"PATH=/usr/bin:/bin\"\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	verifyUnit(t, a, unit)
	if got, want := a.UnitPath(), filepath.Join(dir, ".config", "systemd", "user", "vmhook-default.service"); got != want {
		t.Errorf("UnitPath() = %q, want %q", got, want)
	}
}

func TestAutostartRefuses(t *testing.T) {
	ok := func() Autostart {
		return Autostart{Name: "default", Self: "/bin/vmhook", Env: []Var{{"PATH", "/usr/bin"}, {"HOME", "/home/u"}}, Home: "/home/u", ConfigHome: "/home/u/.config", LogPath: "/home/u/log"}
	}
	for name, edit := range map[string]func(*Autostart){
		"newline in PATH":     func(a *Autostart) { a.Env[0].Value = "/usr/bin\n/evil" },
		"tab in HOME":         func(a *Autostart) { a.Env[1].Value = "/home/\tu" },
		"NUL":                 func(a *Autostart) { a.Env[0].Value = "/usr/bin\x00" },
		"not UTF-8":           func(a *Autostart) { a.Env[0].Value = "/usr/\xffbin" },
		"relative LIMA_HOME":  func(a *Autostart) { a.Env = append(a.Env, Var{"LIMA_HOME", "lima"}) },
		"relative XDG":        func(a *Autostart) { a.Env = append(a.Env, Var{"XDG_STATE_HOME", "./state"}) },
		"relative self":       func(a *Autostart) { a.Self = "vmhook" },
		"newline in self":     func(a *Autostart) { a.Self = "/bin/vm\nhook" },
		"bad VM name":         func(a *Autostart) { a.Name = "a b" },
		"VM name with slash":  func(a *Autostart) { a.Name = "../x" },
		"duplicate key":       func(a *Autostart) { a.Env = append(a.Env, Var{"PATH", "/bin"}) },
		"bad key":             func(a *Autostart) { a.Env = append(a.Env, Var{"A-B", "x"}) },
		"relative ConfigHome": func(a *Autostart) { a.ConfigHome = "cfg" },
		"newline in log path": func(a *Autostart) { a.LogPath = "/log\n" },
	} {
		t.Run(name, func(t *testing.T) {
			a := ok()
			if _, err := a.Unit(); err != nil {
				t.Fatalf("the unedited item is refused: %v", err)
			}
			edit(&a)
			_, errU := a.Unit()
			_, errP := a.LaunchAgent()
			for _, err := range []error{errU, errP} {
				if err == nil {
					t.Fatal("accepted")
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
			}
		})
	}
}

// A plist carries any program path; systemd refuses quotes and backslashes
// in one, however they are quoted.
func TestUnitRefusesQuotedProgram(t *testing.T) {
	a := Autostart{Name: "default", Self: `/opt/it's/vmhook`, Env: []Var{{"PATH", "/usr/bin"}}, Home: "/home/u", ConfigHome: "/home/u/.config", LogPath: "/home/u/log"}
	if _, err := a.LaunchAgent(); err != nil {
		t.Fatalf("LaunchAgent() = %v", err)
	}
	if _, err := a.Unit(); err == nil || !strings.Contains(err.Error(), "systemd refuses") {
		t.Fatalf("Unit() = %v, want a refusal", err)
	}
}

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct {
		in, kept string
		dropped  []string
	}{
		{"/a:/b", "/a:/b", nil},
		{"/a::/b", "/a:/b", []string{""}},
		{".:/a:bin:/a", "/a", []string{".", "bin"}},
		{"/a:/b\xff\xfe:/c\x1b[0m:/d", "/a:/d", []string{"/b\xff\xfe", "/c\x1b[0m"}},
		{"/home/u/.nix-profile/bin:/nix/var/nix/profiles/default/bin", "/home/u/.nix-profile/bin:/nix/var/nix/profiles/default/bin", nil},
	} {
		kept, dropped := CleanPath(tc.in)
		if kept != tc.kept || fmt.Sprint(dropped) != fmt.Sprint(tc.dropped) {
			t.Errorf("CleanPath(%q) = %q, %q; want %q, %q", tc.in, kept, dropped, tc.kept, tc.dropped)
		}
	}
}
