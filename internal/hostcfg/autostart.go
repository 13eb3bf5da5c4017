package hostcfg

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/vmhook/vmhook/internal/lazyre"
)

// Var is one environment variable recorded in a login item.
type Var struct{ Key, Value string }

// Autostart is a login item that starts one VM through vmhook.
type Autostart struct {
	Name       string // VM name
	Self       string // absolute path of vmhook
	Env        []Var  // the user's environment at enable time, in order
	Home       string // where ~/Library/LaunchAgents is
	ConfigHome string // where systemd/user is
	LogPath    string // where launchd writes the agent's output
}

// pathLike are the recorded variables that must be absolute: a login item
// runs in another working directory.
var pathLike = map[string]bool{"HOME": true, "LIMA_HOME": true, "XDG_CONFIG_HOME": true, "XDG_STATE_HOME": true}

// CleanPath keeps the absolute entries of a PATH value, once each, and
// returns the ones it dropped: an empty or relative entry means the working
// directory, which a login item does not share with the shell, and an
// entry that is not UTF-8 text (or holds a control character) makes the
// plist unreadable and the unit line dropped by systemd, taking every
// other entry with it.
func CleanPath(path string) (kept string, dropped []string) {
	var out []string
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(path) {
		switch {
		case !filepath.IsAbs(dir) || plainText("PATH entry", dir) != nil:
			dropped = append(dropped, dir)
		case !seen[dir]:
			seen[dir] = true
			out = append(out, dir)
		}
	}
	return strings.Join(out, string(filepath.ListSeparator)), dropped
}

// plainText refuses what neither a unit file nor a plist can carry
// faithfully: control characters (a newline ends a unit line) and bytes that
// are not UTF-8.
func plainText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not UTF-8; autostart cannot record it", what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s %q has a control character (newline, tab, …); autostart cannot record it, so fix it and run enable again", what, s)
		}
	}
	return nil
}

// nameRE is Lima's instance name rule, which also keeps unit names, labels
// and file names plain.
var nameRE = lazyre.New(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

// CheckName refuses a VM name that is not plain enough for a unit name, a
// launchd label and a file name.
func CheckName(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("VM name %q is not a Lima instance name (letters and digits, joined by '.', '_' or '-')", name)
	}
	return nil
}

var envKeyRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Check refuses a login item that could not start the VM as recorded.
func (a Autostart) Check() error {
	if err := CheckName(a.Name); err != nil {
		return err
	}
	if !filepath.IsAbs(a.Self) {
		return fmt.Errorf("vmhook's path %q is not absolute; run it by its full path", a.Self)
	}
	if err := plainText("vmhook's path", a.Self); err != nil {
		return err
	}
	if err := plainText("log path", a.LogPath); err != nil {
		return err
	}
	for _, p := range []struct{ what, s string }{{"HOME", a.Home}, {"XDG_CONFIG_HOME", a.ConfigHome}, {"log path", a.LogPath}} {
		if !filepath.IsAbs(p.s) {
			return fmt.Errorf("%s %q is not an absolute path; set it to one and run enable again", p.what, p.s)
		}
	}
	seen := map[string]bool{}
	for _, v := range a.Env {
		if seen[v.Key] {
			return fmt.Errorf("%s is recorded twice", v.Key)
		}
		seen[v.Key] = true
		if !envKeyRE().MatchString(v.Key) {
			return fmt.Errorf("%q is not an environment variable name", v.Key)
		}
		if err := plainText(v.Key, v.Value); err != nil {
			return err
		}
		if pathLike[v.Key] && !filepath.IsAbs(v.Value) {
			return fmt.Errorf("%s=%q is not an absolute path; set it to one and run enable again", v.Key, v.Value)
		}
	}
	return nil
}

// UnitName is the systemd user unit of the VM.
func (a Autostart) UnitName() string { return "vmhook-" + a.Name + ".service" }

// UnitPath is where the systemd user unit goes.
func (a Autostart) UnitPath() string {
	return filepath.Join(a.ConfigHome, "systemd", "user", a.UnitName())
}

// Label is the launchd label of the VM's agent.
func (a Autostart) Label() string { return "io.vmhook." + a.Name }

// AgentPath is where the launchd agent goes.
func (a Autostart) AgentPath() string {
	return filepath.Join(a.Home, "Library", "LaunchAgents", a.Label()+".plist")
}

// systemdPlain are the characters an ExecStart word may hold unquoted.
var systemdPlain = lazyre.New(`^[A-Za-z0-9/._+,:@=-]+$`)

// systemdExecutable quotes the program of ExecStart=. systemd expands
// specifiers ("%") in it but not variables, and refuses a program path with
// quotes or backslashes whatever the quoting.
func systemdExecutable(path string) (string, error) {
	if strings.ContainsAny(path, `"'\`) {
		return "", fmt.Errorf("vmhook's path %q has a quote or backslash, which systemd refuses in a program path; install vmhook under a plainer path", path)
	}
	s := strings.ReplaceAll(path, "%", "%%")
	if systemdPlain().MatchString(s) {
		return s, nil
	}
	return `"` + s + `"`, nil
}

// systemdAssignment quotes KEY=VALUE for Environment=, which expands
// specifiers but not variables, and splits at spaces outside quotes.
func systemdAssignment(v Var) string {
	s := strings.ReplaceAll(v.Key+"="+v.Value, "%", "%%")
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Unit is the systemd user unit that starts the VM at login: the same
// instance, through vmhook, with the environment recorded at enable time.
func (a Autostart) Unit() (string, error) {
	if err := a.Check(); err != nil {
		return "", err
	}
	// The VM's name is a Lima name, plain in every unit field.
	self, err := systemdExecutable(a.Self)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by vmhook autostart enable --vm %s\n", a.Name)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=vmhook VM %s\n\n", a.Name)
	b.WriteString("[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=15min\n")
	for _, v := range a.Env {
		fmt.Fprintf(&b, "Environment=%s\n", systemdAssignment(v))
	}
	fmt.Fprintf(&b, "ExecStart=%s up --vm %s\n", self, a.Name)
	fmt.Fprintf(&b, "ExecStop=%s stop --vm %s\n\n", self, a.Name)
	b.WriteString("[Install]\nWantedBy=default.target\n")
	return b.String(), nil
}

// xmlText escapes s for XML character data and attribute values.
func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// LaunchAgent is the launchd agent that starts the VM at login, with the
// environment recorded at enable time.
func (a Autostart) LaunchAgent() (string, error) {
	if err := a.Check(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	fmt.Fprintf(&b, "  <key>Label</key>\n  <string>%s</string>\n", xmlText(a.Label()))
	b.WriteString("  <key>ProgramArguments</key>\n  <array>\n")
	for _, s := range []string{a.Self, "up", "--vm", a.Name} {
		fmt.Fprintf(&b, "    <string>%s</string>\n", xmlText(s))
	}
	b.WriteString("  </array>\n  <key>EnvironmentVariables</key>\n  <dict>\n")
	for _, v := range a.Env {
		fmt.Fprintf(&b, "    <key>%s</key>\n    <string>%s</string>\n", xmlText(v.Key), xmlText(v.Value))
	}
	b.WriteString("  </dict>\n  <key>RunAtLoad</key>\n  <true/>\n")
	fmt.Fprintf(&b, "  <key>StandardOutPath</key>\n  <string>%s</string>\n", xmlText(a.LogPath))
	fmt.Fprintf(&b, "  <key>StandardErrorPath</key>\n  <string>%s</string>\n", xmlText(a.LogPath))
	b.WriteString("</dict>\n</plist>\n")
	return b.String(), nil
}
