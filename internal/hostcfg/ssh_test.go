package hostcfg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateAlias(t *testing.T) {
	for _, tc := range []struct {
		alias string
		ok    bool
	}{
		{"nostromo", true},
		{"my-vm.local", true},
		{"a", true},
		{"vm_1", true},
		{"", false},
		{"a b", false},
		{"*", false},
		{"no*pe", false},
		{"a?", false},
		{"!a", false},
		{"a,b", false},
		{"-a", false},
		{"a-", false},
		{`a"b`, false},
		{"a\nb", false},
		{"%h", false},
		{"a/b", false},
	} {
		t.Run(tc.alias, func(t *testing.T) {
			err := ValidateAlias(tc.alias)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateAlias(%q) = %v, want ok=%v", tc.alias, err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

// hostileHost is a VM reached under an alias, with a LIMA_HOME whose path
// has what ssh_config, sh and Lua each treat specially.
func hostileHost(t *testing.T) (SSHHost, string) {
	limaHome := filepath.Join(t.TempDir(), `li ma'%$&"<x>`)
	return SSHHost{
		Alias:        "nostromo",
		Name:         "default",
		User:         "ripley",
		IdentityFile: filepath.Join(limaHome, "_config", "user"),
		LimaSSHConf:  filepath.Join(limaHome, "default", "ssh.config"),
	}, limaHome
}

// sshG is what ssh itself reads from config for host (ssh -G parses without
// connecting).
func sshG(t *testing.T, config, host string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed")
	}
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh", "-G", "-F", file, host).Output()
	if err != nil {
		t.Fatalf("ssh -G rejects the block: %v\n%s", err, config)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

func TestSSHConfigAlias(t *testing.T) {
	h := SSHHost{Alias: "nostromo", Name: "default", User: "ripley", IdentityFile: "/l/_config/user", LimaSSHConf: "/l/default/ssh.config"}
	out, err := h.SSHConfig()
	if err != nil {
		t.Fatal(err)
	}
	g := sshG(t, out, "nostromo")
	if got, want := g["proxycommand"], "ssh -F '/l/default/ssh.config' lima-default -W 127.0.0.1:22"; got != want {
		t.Errorf("proxycommand = %q, want %q", got, want)
	}
	if g["user"] != "ripley" || g["identityfile"] != "/l/_config/user" {
		t.Errorf("user, identityfile = %q, %q", g["user"], g["identityfile"])
	}
	// The VM's own name is not a host in the block.
	if g := sshG(t, out, "default"); g["proxycommand"] != "" {
		t.Errorf("host default matched the block for nostromo")
	}
}

func TestSSHConfigHostilePaths(t *testing.T) {
	h, limaHome := hostileHost(t)
	h.User = "rip ley"
	out, err := h.SSHConfig()
	if err != nil {
		t.Fatal(err)
	}
	g := sshG(t, out, "nostromo")
	// ssh -G shows values before "%" expansion.
	if got, want := g["identityfile"], strings.ReplaceAll(h.IdentityFile, "%", "%%"); got != want {
		t.Errorf("identityfile = %q, want %q", got, want)
	}
	if g["user"] != "rip ley" {
		t.Errorf("user = %q", g["user"])
	}
	// Run the ProxyCommand for real: the inner ssh cannot open Lima's
	// (absent) ssh.config and names the path it got after ssh expanded
	// "%%" and sh unquoted it.
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", file, "-o", "BatchMode=yes", "nostromo", "true")
	cmd.Stdin = nil
	msg, _ := cmd.CombinedOutput()
	if want := filepath.Join(limaHome, "default", "ssh.config"); !strings.Contains(string(msg), want) {
		t.Errorf("ProxyCommand did not reach %q:\n%s", want, msg)
	}
}

func TestSSHConfigRefuses(t *testing.T) {
	for name, h := range map[string]SSHHost{
		"alias pattern":   {Alias: "no*pe", Name: "default", User: "u", IdentityFile: "/k", LimaSSHConf: "/c"},
		"newline in path": {Alias: "nostromo", Name: "default", User: "u", IdentityFile: "/k\n", LimaSSHConf: "/c"},
		"empty user":      {Alias: "nostromo", Name: "default", IdentityFile: "/k", LimaSSHConf: "/c"},
		"variable in key": {Alias: "nostromo", Name: "default", User: "u", IdentityFile: "/l${HOME}/_config/user", LimaSSHConf: "/c"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := h.SSHConfig(); err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("SSHConfig() error = %v, want one line", err)
			}
			if _, err := h.WezTermDomain(); err == nil {
				t.Fatal("WezTermDomain() accepted it")
			}
		})
	}
}

func TestWezTermDomain(t *testing.T) {
	h := SSHHost{Alias: "nostromo", Name: "default", User: "ripley", IdentityFile: `/l "q"/_config/user`, LimaSSHConf: `/l "q"/default/ssh.config`}
	out, err := h.WezTermDomain()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`  name = "nostromo",`,
		`  username = "ripley",`,
		`    identityfile = "/l \"q\"/_config/user",`,
		`    proxycommand = "ssh -F '/l \"q\"/default/ssh.config' lima-default -W 127.0.0.1:22",`,
		`--   { key = "v", mods = "CTRL|ALT", action = wezterm.action.SpawnTab { DomainName = "nostromo" } },`,
		"wezterm connect nostromo",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Lines outside the table are Lua comments, so the whole output pastes
	// into a list.
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "--") && !strings.HasPrefix(l, " ") && l != "{" && l != "}," {
			t.Errorf("stray line %q", l)
		}
	}
	h.LimaSSHConf = "/l%h/default/ssh.config"
	if _, err := h.WezTermDomain(); err == nil {
		t.Error("a % in a path was written for WezTerm")
	}
}

func TestLuaString(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:    `"plain"`,
		`a"b`:      `"a\"b"`,
		`a\b`:      `"a\\b"`,
		"a\nb":     `"a\010b"`,
		"ünï":      `"ünï"`,
		`]] [[ --`: `"]] [[ --"`,
	} {
		if got := luaString(in); got != want {
			t.Errorf("luaString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestWezTermDomainLua evaluates the entry and the commented key binding
// with a real Lua, against a stand-in for the wezterm module, and reads the
// values back.
func TestWezTermDomainLua(t *testing.T) {
	lua, err := exec.LookPath("lua")
	if err != nil {
		t.Skip("lua is not installed")
	}
	h := SSHHost{Alias: "nostromo", Name: "default", User: "rip ley", IdentityFile: `/l "q" \ ]]'$&/_config/user`, LimaSSHConf: `/l "q" \ ]]'$&/default/ssh.config`}
	out, err := h.WezTermDomain()
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for _, l := range strings.Split(out, "\n") {
		if k, ok := strings.CutPrefix(l, "--   "); ok {
			key = strings.TrimSuffix(k, ",")
		}
	}
	script := "local wezterm = { action = { SpawnTab = function(t) return { SpawnTab = t } end } }\n" +
		"local domains = {\n" + out + "}\n" +
		"local key = " + key + "\n" +
		"local d = domains[1]\n" +
		"io.write(#domains, '\\0', d.name, '\\0', d.username, '\\0', d.ssh_option.identityfile, '\\0', d.ssh_option.proxycommand, '\\0', key.key, '\\0', key.mods, '\\0', key.action.SpawnTab.DomainName)\n"
	file := filepath.Join(t.TempDir(), "check.lua")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(lua, file).CombinedOutput()
	if err != nil {
		t.Fatalf("lua: %v\n%s\n%s", err, got, script)
	}
	want := strings.Join([]string{"1", "nostromo", "rip ley", h.IdentityFile, h.ProxyCommand(), WezTermKey, WezTermMods, "nostromo"}, "\x00")
	if string(got) != want {
		t.Errorf("lua reads back\n%q\nwant\n%q", got, want)
	}
}
