package projectvm

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SSHHost is what an ssh client needs to reach a VM through Lima's own ssh
// settings.
type SSHHost struct {
	Alias        string // Host alias to print
	Name         string // Lima instance
	User         string // guest user (Lima's default: the host user)
	IdentityFile string // Lima's key, $LIMA_HOME/_config/user
	LimaSSHConf  string // $LIMA_HOME/NAME/ssh.config
}

// NewSSHHost describes the VM name for user under env.
func NewSSHHost(e Env, name, user string) SSHHost {
	return SSHHost{
		Alias:        name,
		Name:         name,
		User:         user,
		IdentityFile: filepath.Join(e.LimaHome, "_config", "user"),
		LimaSSHConf:  filepath.Join(e.InstanceDir(name), "ssh.config"),
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ProxyCommand reaches the guest's sshd through Lima's ssh.config; some
// clients (WezTerm, IDEs) ignore Include, so the host block carries it.
func (h SSHHost) ProxyCommand() string {
	return fmt.Sprintf("ssh -F %s lima-%s -W 127.0.0.1:22", shellQuote(h.LimaSSHConf), h.Name)
}

// sshConfigValue quotes a value for ssh_config when it has spaces.
func sshConfigValue(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// SSHConfig is an ssh_config host block for the VM.
func (h SSHHost) SSHConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# vmhook: VM %s (append to ~/.ssh/config)\n", h.Name)
	fmt.Fprintf(&b, "Host %s\n", h.Alias)
	fmt.Fprintf(&b, "  User %s\n", h.User)
	fmt.Fprintf(&b, "  IdentityFile %s\n", sshConfigValue(h.IdentityFile))
	b.WriteString("  IdentitiesOnly yes\n")
	b.WriteString("  StrictHostKeyChecking no\n")
	b.WriteString("  UserKnownHostsFile /dev/null\n")
	b.WriteString("  LogLevel ERROR\n")
	fmt.Fprintf(&b, "  ProxyCommand %s\n", h.ProxyCommand())
	return b.String()
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// WezTermDomain is a WezTerm ssh_domains entry for the VM.
func (h SSHHost) WezTermDomain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- vmhook: VM %s; add to config.ssh_domains, then: wezterm connect %s\n", h.Name, h.Alias)
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  name = %s,\n", luaString(h.Alias))
	fmt.Fprintf(&b, "  remote_address = %s,\n", luaString("127.0.0.1:22"))
	fmt.Fprintf(&b, "  username = %s,\n", luaString(h.User))
	b.WriteString("  multiplexing = \"None\",\n")
	b.WriteString("  ssh_option = {\n")
	fmt.Fprintf(&b, "    identityfile = %s,\n", luaString(h.IdentityFile))
	fmt.Fprintf(&b, "    identitiesonly = %s,\n", luaString("yes"))
	fmt.Fprintf(&b, "    proxycommand = %s,\n", luaString(h.ProxyCommand()))
	fmt.Fprintf(&b, "    stricthostkeychecking = %s,\n", luaString("no"))
	fmt.Fprintf(&b, "    userknownhostsfile = %s,\n", luaString("/dev/null"))
	b.WriteString("  },\n},\n")
	return b.String()
}

// systemdQuote quotes an ExecStart argument for systemd.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// AutostartUnit returns the systemd user unit that starts the named VM at
// login: the same instance (same LIMA_HOME), through vmhook.
func AutostartUnit(e Env, self, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by vmhook autostart enable --vm %s\n", name)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=vmhook VM %s\n", name)
	b.WriteString("After=network-online.target\n\n")
	b.WriteString("[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=15min\n")
	fmt.Fprintf(&b, "Environment=%s\n", systemdQuote("LIMA_HOME="+e.LimaHome))
	fmt.Fprintf(&b, "Environment=%s\n", systemdQuote("XDG_CONFIG_HOME="+e.ConfigHome))
	fmt.Fprintf(&b, "Environment=%s\n", systemdQuote("XDG_STATE_HOME="+e.StateHome))
	fmt.Fprintf(&b, "ExecStart=%s up --vm %s\n", systemdQuote(self), name)
	fmt.Fprintf(&b, "ExecStop=%s stop --vm %s\n\n", systemdQuote(self), name)
	b.WriteString("[Install]\nWantedBy=default.target\n")
	return b.String()
}

// AutostartUnitPath is where the systemd user unit goes.
func AutostartUnitPath(e Env, name string) string {
	return filepath.Join(e.ConfigHome, "systemd", "user", "vmhook-"+name+".service")
}

// LaunchAgentPath is where the macOS launchd agent goes.
func LaunchAgentPath(e Env, name string) string {
	return filepath.Join(e.Home, "Library", "LaunchAgents", "io.vmhook."+name+".plist")
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// LaunchAgent returns the launchd agent that starts the named VM at login.
func LaunchAgent(e Env, self, name string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	fmt.Fprintf(&b, "  <key>Label</key><string>io.vmhook.%s</string>\n", xmlEscape(name))
	b.WriteString("  <key>ProgramArguments</key>\n  <array>\n")
	for _, a := range []string{self, "up", "--vm", name} {
		fmt.Fprintf(&b, "    <string>%s</string>\n", xmlEscape(a))
	}
	b.WriteString("  </array>\n  <key>EnvironmentVariables</key>\n  <dict>\n")
	fmt.Fprintf(&b, "    <key>LIMA_HOME</key><string>%s</string>\n", xmlEscape(e.LimaHome))
	fmt.Fprintf(&b, "    <key>PATH</key><string>%s</string>\n", xmlEscape("/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin"))
	b.WriteString("  </dict>\n  <key>RunAtLoad</key><true/>\n")
	fmt.Fprintf(&b, "  <key>StandardErrorPath</key><string>%s</string>\n", xmlEscape(filepath.Join(e.StateHome, "vmhook", "autostart-"+name+".log")))
	b.WriteString("</dict>\n</plist>\n")
	return b.String()
}
