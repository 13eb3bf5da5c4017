package hostcfg

import (
	"fmt"
	"strings"
)

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

// WezTermKey is the key the printed snippet binds to a new tab in the
// domain. CTRL|SHIFT letters are WezTerm's own defaults, so it uses
// CTRL|ALT.
const (
	WezTermKey  = "v"
	WezTermMods = "CTRL|ALT"
)

// WezTermDomain is a WezTerm ssh_domains entry for the VM, preceded by a
// commented keybinding that opens a tab in it.
func (h SSHHost) WezTermDomain() (string, error) {
	if err := h.check(); err != nil {
		return "", err
	}
	// WezTerm's ssh layer may expand "%" tokens as ssh does, or not; a path
	// with "%" cannot be written so that both readings agree.
	if strings.Contains(h.IdentityFile+h.LimaSSHConf, "%") {
		return "", fmt.Errorf("path %q has a %%, which WezTerm's ssh options may expand; move LIMA_HOME to a path without one", h.LimaSSHConf)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- vmhook: VM %s as WezTerm domain %s.\n", h.Name, h.Alias)
	fmt.Fprintf(&b, "-- Add the table below to config.ssh_domains, then: wezterm connect %s\n", h.Alias)
	b.WriteString("-- A key that opens a tab in it (add to config.keys; change the key to taste):\n")
	fmt.Fprintf(&b, "--   { key = %s, mods = %s, action = wezterm.action.SpawnTab { DomainName = %s } },\n",
		luaString(WezTermKey), luaString(WezTermMods), luaString(h.Alias))
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
	return b.String(), nil
}
