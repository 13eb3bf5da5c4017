package projectvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHostAccess judges Lima documents as vmhook would render them (where
// some things are errors) and as a hand-edited file (where everything is
// listed for consent).
func TestHostAccess(t *testing.T) {
	home := "/home/u"
	dir := t.TempDir()
	ctx := accessCtx{dir: dir, home: home, name: "p-dev", generated: true, source: "vmhook.yaml"}
	guard := "env: {SYSINIT_IN_VM: \"1\", VMHOOK_VM: p-dev}\n"
	tests := []struct {
		name string
		doc  string
		want []string // accesses, sorted
		err  string   // error when generated
		own  int      // port rules vmhook rendered, the last ones
	}{
		{name: "project mount only", doc: guard + "mounts: [{location: " + dir + ", mountPoint: " + dir + ", writable: true}]\n"},
		{name: "mount in the writable project mount", doc: guard + "mounts: [{location: " + dir + ", writable: true}, {location: " + dir + "/sub}]\n", err: `mounts[1] "` + dir + `/sub" is inside the writable mount`},
		{name: "ansible", doc: guard + "provision: [{mode: ansible, playbook: ./p.yml}, {mode: system, playbook: /x}]\n", want: []string{
			"provision[0] mode ansible, which runs on the host",
			"run the Ansible playbook ./p.yml on the host (provision[0]), which can run any command there",
			"run the Ansible playbook /x on the host (provision[1]), which can run any command there",
		}},
		{name: "unknown provision and probe keys", doc: guard + "provision: [{mode: data, path: /etc/x, content: y}, {mode: user, script: \"true\", run: z}]\nprobes: [{script: \"true\", hook: x}]\n", want: []string{
			"probes[0].hook, which vmhook does not know to stay in the guest",
			"provision[1].run, which vmhook does not know to stay in the guest",
		}},
		{name: "mount options", doc: guard + "mounts: [{location: " + dir + ", writable: true, sshfs: {followSymlinks: true, cache: true}, 9p: {securityModel: passthrough}}]\n", want: []string{
			"mount " + dir + " with 9p.securityModel, which vmhook does not know to stay in the mount",
			"mount " + dir + " with sshfs.followSymlinks, which resolves links on the host, out of the mount",
		}},
		{name: "control character", doc: guard + "portForwards: [{hostSocket: /tmp/h, guestSocket: \"/tmp/x\\r\\e[2K\"}]\n", err: `portForwards[0] "/tmp/x\r\x1b[2K" holds a control character`},
		{name: "https image and vmhook's ports", own: 2, doc: guard + "images: [{location: \"https://x/y.img\"}]\nportForwards: [{guestPort: 80, hostPort: 8080, hostIP: 127.0.0.1}, {guestIP: 0.0.0.0, guestPortRange: [1, 65535], ignore: true}]\n"},
		{name: "port rule before vmhook's", own: 2, doc: guard + "portForwards: [{guestPortRange: [1, 65535], hostIP: 127.0.0.1}, {guestPort: 80, hostPort: 8080, hostIP: 127.0.0.1}, {guestIP: 0.0.0.0, guestPortRange: [1, 65535], ignore: true}]\n", want: []string{
			"guest ports 1-65535 forwarded to host 127.0.0.1:1-65535, bypassing vmhook's port isolation",
		}},
		{name: "project mount over 9p", doc: guard + "mountType: 9p\nmounts: [{location: " + dir + ", writable: true}]\n"},
		{name: "project mount over reverse-sshfs", doc: guard + "mountType: reverse-sshfs\nmounts: [{location: " + dir + ", writable: true}]\n", want: []string{
			"mount type reverse-sshfs: root in the guest can read and write every file you can on the host, not only the mounts",
		}},
		{name: "reverse-sshfs without mounts", doc: guard + "mountType: reverse-sshfs\n"},
		{name: "guest-only lima keys", doc: guard + "cpus: 2\ncontainerd: {user: true}\nprovision: [{mode: system, script: \"true\"}]\ntimezone: UTC\n"},
		{name: "mount outside", doc: guard + "mounts: [{location: /srv/data, writable: true}, {location: /opt}]\n", want: []string{"mount /opt read-only", "mount /srv/data writable"}},
		{name: "home mount", doc: guard + "mounts: [{location: \"~\", writable: true}]\n", err: `vmhook.yaml: Lima config mounts[0]: "~" would expose your ssh keys`},
		{name: "root mount", doc: guard + "mounts: [{location: /, mountPoint: /mnt/host, writable: true}]\n", err: `mounts[0]: "/" would expose your ssh keys`},
		{name: "template mount", doc: guard + "mounts: [{location: \"/a{{.Home}}\"}]\n", err: `mounts[0] "/a{{.Home}}" holds "{{"`},
		{name: "template mount point", doc: guard + "mounts: [{location: " + dir + ", mountPoint: \"{{.Home}}\"}]\n", err: `mounts[0] "{{.Home}}" holds "{{"`},
		{name: "ssh", doc: guard + "ssh: {localPort: 0, forwardAgent: true, loadDotSSHPubKeys: true, forwardX11: true}\n", want: []string{
			"forward X11 to your display (ssh.forwardX11)",
			"forward your ssh agent (ssh.forwardAgent)",
			"load your ~/.ssh/*.pub keys into the guest (ssh.loadDotSSHPubKeys)",
		}},
		{name: "sockets both ways", doc: guard + "portForwards: [{hostSocket: /var/run/docker.sock, guestSocket: /tmp/d.sock, reverse: true}, {guestSocket: /run/x.sock, hostSocket: /tmp/x.sock}]\n", want: []string{
			"guest socket /run/x.sock, served on the host at /tmp/x.sock",
			"host socket /run/docker.sock (through /var/run/docker.sock), reachable in the guest at /tmp/d.sock",
		}},
		{name: "socket template", doc: guard + "portForwards: [{hostSocket: \"{{.Home}}/s\", guestSocket: /tmp/s}]\n", err: `portForwards[0] "{{.Home}}/s" holds "{{"`},
		{name: "public host address", doc: guard + "portForwards: [{guestPort: 80, hostIP: 0.0.0.0}]\n", want: []string{"guest port 80 forwarded to host 0.0.0.0:80, reachable from other machines and bypassing vmhook's port isolation"}},
		{name: "guard removed", doc: "env: {SYSINIT_IN_VM: \"\", VMHOOK_VM: p-dev}\n", err: `Lima config env SYSINIT_IN_VM is vmhook's nesting guard and must stay "1"`},
		{name: "guard missing", doc: "cpus: 1\n", err: "env SYSINIT_IN_VM is vmhook's nesting guard"},
		{name: "other VM name", doc: "env: {SYSINIT_IN_VM: \"1\", VMHOOK_VM: other}\n", err: `env VMHOOK_VM is vmhook's nesting guard and must stay "p-dev"`},
		{name: "local image", doc: guard + "images: [{location: /images/a.img}, {location: \"file:///images/b.img\", kernel: {location: " + dir + "/k}}]\n", want: []string{
			"read the image file /images/a.img from the host", "read the image file /images/b.img from the host",
		}},
		{name: "files Lima reads", doc: guard + "provision: [{mode: system, file: {url: /etc/shadow}}, {mode: user, file: \"https://x/s.sh\"}, {script: \"true\"}]\nprobes: [{file: " + dir + "/probe.sh}]\ncaCerts: {files: [/home/u/.ssh/id_rsa], certs: [\"-----BEGIN CERTIFICATE-----\"]}\ncontainerd: {user: true, archives: [{location: /tmp/nerdctl.tgz}]}\n", want: []string{
			"read the CA certificate file /home/u/.ssh/id_rsa from the host",
			"read the containerd archive /tmp/nerdctl.tgz from the host",
			"read the provision script /etc/shadow from the host",
		}},
		{name: "provision file template", doc: guard + "provision: [{file: \"{{.Home}}/x\"}]\n", err: `provision[0].file "{{.Home}}/x" holds "{{"`},
		{name: "image template", doc: guard + "images: [{location: \"{{.Home}}/a.img\"}]\n", err: `images[0] "{{.Home}}/a.img" holds "{{"`},
		{name: "copy to host", doc: guard + "copyToHost: [{guest: /etc/x, host: /home/u/.bashrc}]\n", want: []string{"copy the guest's /etc/x to the host at /home/u/.bashrc"}},
		{name: "unmodelled lima keys", doc: guard + "networks: [{lima: shared}]\naudio: {device: default}\n", want: []string{
			`Lima setting audio: {"device":"default"}`, `Lima setting networks: [{"lima":"shared"}]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctx
			ctx.ownRules = tt.own
			got, err := hostAccess([]byte(tt.doc), ctx)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("generated: err %v, want %q", err, tt.err)
				}
				// Written by hand, the same document is shown, not refused.
				hand := ctx
				hand.generated = false
				got, err := hostAccess([]byte(tt.doc), hand)
				if err != nil || len(got) == 0 {
					t.Errorf("hand-edited: %v, %v; want it listed for consent", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if texts := accessTexts(got); !slices.Equal(texts, tt.want) {
				t.Errorf("got %q\nwant %q", texts, tt.want)
			}
		})
	}
}

func TestRealPath(t *testing.T) {
	root := t.TempDir()
	root, _ = filepath.EvalSymlinks(root)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "real", "sub"), 0o755))
	must(os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link")))
	must(os.Symlink("real/sub", filepath.Join(root, "rel")))
	must(os.Symlink(filepath.Join(root, "real", "later"), filepath.Join(root, "dangling")))
	for in, want := range map[string]string{
		"link":          "real",
		"link/sub":      "real/sub",
		"link/new/file": "real/new/file",
		"rel":           "real/sub",
		"dangling":      "real/later",
		"dangling/x":    "real/later/x",
		"real/../link":  "real",
	} {
		if got := realPath(filepath.Join(root, in)); got != filepath.Join(root, want) {
			t.Errorf("realPath(%s) = %s, want %s", in, got, filepath.Join(root, want))
		}
	}
}

func TestIsSSHDir(t *testing.T) {
	home := "/home/u"
	for p, want := range map[string]bool{
		"~/.ssh": true, "~/.ssh/id_ed25519": true, "~": true, "/home": true, "/": true,
		"~/src": false, "/srv": false, "/home/u2": false, "~/.sshx": false,
	} {
		if got := isSSHDir(home, p); got != want {
			t.Errorf("isSSHDir(%q) = %v, want %v", p, got, want)
		}
	}
}

// consentProject is a project under root asking for settings, in an env
// whose user config holds user.
func consentProject(t *testing.T, settings, user string) (Env, *Project) {
	t.Helper()
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "proj")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	if user != "" {
		if err := os.MkdirAll(filepath.Dir(e.UserConfig()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.UserConfig(), []byte(user), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := OpenProject(e, dir, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	return e, p
}

// TestConsent: what a project asks for of the host is held back until
// allowed, exactly, and a change asks again; the user's own config and
// allowMounts need no consent.
func TestConsent(t *testing.T) {
	ctx := context.Background()
	e, p := consentProject(t, "forwardAgent: true\nmounts: [/srv/a]\n", "")
	var ce *ConsentError
	if _, err := p.WriteConfig(ctx, e); !errors.As(err, &ce) || ce.Changed {
		t.Fatalf("WriteConfig without consent: %v", err)
	}
	if !slices.Equal(ce.Held, []string{"forward your ssh agent (ssh.forwardAgent)", "mount /srv/a read-only"}) {
		t.Errorf("held back %q", ce.Held)
	}
	if _, err := os.Stat(p.ConfigPath); err == nil {
		t.Error("a config was written without consent")
	}
	granted, err := Allow(e, p)
	if err != nil || !slices.Equal(granted, ce.Held) {
		t.Fatalf("Allow = %q, %v; want %q", granted, err, ce.Held)
	}
	if r, err := p.WriteConfig(ctx, e); err != nil || r.Result != ConfigWritten {
		t.Fatalf("after Allow: %v, %v", r.Result, err)
	}
	if r, err := p.WriteConfig(ctx, e); err != nil || r.Result != ConfigUnchanged {
		t.Fatalf("again: %v, %v", r.Result, err)
	}

	// A change asks again, even one asking for less.
	os.WriteFile(p.SettingsPath, []byte("forwardAgent: true\n"), 0o644)
	p, _ = OpenProject(e, p.Dir, Flags{})
	if _, err := p.WriteConfig(ctx, e); !errors.As(err, &ce) || !ce.Changed {
		t.Fatalf("after a change: %v", err)
	}

	// Revoking holds even the current config back.
	Allow(e, p)
	if _, err := p.WriteConfig(ctx, e); err != nil {
		t.Fatal(err)
	}
	if revoked, err := Deny(e, p); !revoked || err != nil {
		t.Fatalf("Deny = %v, %v", revoked, err)
	}
	if r, err := p.WriteConfig(ctx, e); !errors.As(err, &ce) || r.Result != ConfigUnchanged {
		t.Fatalf("after Deny: %v, %v", r.Result, err)
	}

	// The user's config and allowMounts need none.
	e, p = consentProject(t, "mounts: [/srv/data/x]\n", "forwardAgent: true\nsockets: [{host: /run/a.sock, guest: a.sock}]\nallowMounts: [/srv/data]\n")
	if needs, err := p.Needs(e); err != nil || len(needs) != 0 {
		t.Fatalf("Needs = %q, %v; want nothing", needs, err)
	}
	if _, err := p.WriteConfig(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Unless the project asks for more than the user's config gives.
	os.WriteFile(p.SettingsPath, []byte("mounts: [{location: /srv/data/x, writable: true}, /srv/other]\n"), 0o644)
	p, _ = OpenProject(e, p.Dir, Flags{})
	if needs, _ := p.Needs(e); !slices.Equal(needs, []string{"mount /srv/other read-only"}) {
		t.Errorf("Needs = %q", needs)
	}
}

// TestConfigNotWrittenHere: a config vmhook did not write on this machine is
// regenerated when it carries vmhook's header (the header proves nothing),
// and needs consent otherwise; a link in .lima is never followed.
func TestConfigNotWrittenHere(t *testing.T) {
	ctx := context.Background()
	e, p := consentProject(t, "cpus: 2\n", "")
	if _, err := p.WriteConfig(ctx, e); err != nil {
		t.Fatal(err)
	}
	mine, _ := os.ReadFile(p.ConfigPath)

	// A copy with a valid header, forged to mount the home directory.
	body := strings.Replace(string(mine[strings.IndexByte(string(mine), '\n')+1:]), "mounts:\n", "mounts:\n- location: \"~\"\n  writable: true\n", 1)
	h, _, _ := ParseConfig(mine)
	forged := "# vmhook " + h.Version + " inputs=" + h.Inputs + " output=" + hashHex([]byte(body)) + "\n" + body
	if HandEdited([]byte(forged)) {
		t.Fatal("the forged copy does not pass the header check")
	}
	os.Remove(p.writtenPath())
	os.WriteFile(p.ConfigPath, []byte(forged), 0o644)
	if r, err := p.WriteConfig(ctx, e); err != nil || r.Result != ConfigWritten {
		t.Fatalf("forged config: %v, %v; want it regenerated", r.Result, err)
	}
	if now, _ := os.ReadFile(p.ConfigPath); strings.Contains(string(now), `"~"`) {
		t.Fatal("the forged mount survived")
	}

	// A link where the config goes.
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("mine\n"), 0o644)
	os.Remove(p.ConfigPath)
	os.Symlink(target, p.ConfigPath)
	if _, err := p.WriteConfig(ctx, e); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Fatalf("config symlink: %v", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "mine\n" {
		t.Fatal("wrote through the link")
	}
	os.RemoveAll(filepath.Dir(p.ConfigPath))
	os.Symlink(filepath.Dir(target), filepath.Dir(p.ConfigPath))
	if _, err := p.WriteConfig(ctx, e); err == nil || !strings.Contains(err.Error(), ".lima is a symbolic link") {
		t.Fatalf(".lima symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(target), "config.yaml")); err == nil {
		t.Fatal("wrote through the .lima link")
	}
}

// TestConsentErrorNamesHandEdits: a config vmhook did not write is named as
// such, with both ways on (back to vmhook.yaml, or allow), and what else it
// reaches on the host is still listed.
func TestConsentErrorNamesHandEdits(t *testing.T) {
	const cfg = "/w/p/.lima/config.yaml"
	line := "use /w/p/.lima/config.yaml as it is: vmhook did not write it here (sha256 0123456789abcdef)"
	edited := &HandConfig{Path: cfg, Edited: true, Line: line}
	for _, tc := range []struct {
		name string
		e    ConsentError
		want string
	}{
		{"access", ConsentError{Dir: "/w/p", Held: []string{"mount /srv read-only"}},
			"/w/p asks for host access you have not allowed, held back: mount /srv read-only; if you trust that, run: vmhook allow --project /w/p"},
		{"edited", ConsentError{Dir: "/w/p", Held: []string{line}, Config: edited},
			cfg + " was edited by hand; move the change into vmhook.yaml and delete the file (vmhook then writes it again), or keep the file as it is: vmhook allow --project /w/p"},
		{"edited again", ConsentError{Dir: "/w/p", Held: []string{line}, Changed: true, Config: edited},
			cfg + " was edited by hand and changed since you allowed it; move the change into vmhook.yaml and delete the file (vmhook then writes it again), or keep the file as it is: vmhook allow --project /w/p"},
		{"edited with access", ConsentError{Dir: "/w/p", Held: []string{"mount /srv writable", line}, Config: edited},
			cfg + " was edited by hand and asks for host access you have not allowed, held back: mount /srv writable; move the change into vmhook.yaml and delete the file (vmhook then writes it again), or, if you trust that, keep the file as it is: vmhook allow --project /w/p"},
		{"not vmhook's", ConsentError{Dir: "/w/p", Held: []string{line}, Config: &HandConfig{Path: cfg, Line: line}},
			cfg + " was not written by vmhook; move what it sets into vmhook.yaml and delete the file (vmhook then writes one), or keep the file as it is: vmhook allow --project /w/p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestOneVMPerDirectory: a project reached through a link is its real
// directory, with the same name, state and records.
func TestOneVMPerDirectory(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	real := filepath.Join(root, "src", "api")
	os.MkdirAll(real, 0o755)
	os.Symlink(filepath.Join(root, "src"), filepath.Join(root, "link"))
	a, err := OpenProject(e, real, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenProject(e, filepath.Join(root, "link", "api"), Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir != b.Dir || a.Name != b.Name || a.Owner() != b.Owner() || a.StateDir != b.StateDir || a.ConfigPath != b.ConfigPath {
		t.Errorf("through a link: %+v\ndirectly: %+v", b, a)
	}
}

// TestSocketsBothWaysNeedConsent: a project's sockets reach the host in
// either direction, so both need consent, each shown as what it does.
func TestSocketsBothWaysNeedConsent(t *testing.T) {
	e, p := consentProject(t, "sockets:\n  - {host: /run/a.sock, guest: a.sock, env: SSH_AUTH_SOCK}\n  - {host: /tmp/vmhook-mux.sock, guest: /run/mux.sock, direction: to-host}\n", "")
	needs, err := p.Needs(e)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(needs, "\n")
	for _, want := range []string{
		"host socket /run/a.sock, reachable in the guest at /run/user/",
		"guest socket /run/mux.sock, served on the host at /tmp/vmhook-mux.sock",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Needs = %q, want %s", needs, want)
		}
	}
}

// TestRawPortRulesNeedConsent: a raw lima: port rule comes before vmhook's
// own (Lima applies the first that matches), so one that forwards is held
// back, wherever it binds on the host; the ports vmhook forwards itself
// from ports:, through the registry, are not.
func TestRawPortRulesNeedConsent(t *testing.T) {
	bypass := ", bypassing vmhook's port isolation"
	tests := []struct {
		name, settings string
		want           []string
	}{
		{name: "ports", settings: "ports: [3000, 8080]\n"},
		{name: "defaults", settings: "cpus: 2\n"},
		{name: "all", settings: "ports: [3000]\nlima:\n  portForwards:\n  - {guestPortRange: [1, 65535], hostIP: 127.0.0.1}\n",
			want: []string{"guest ports 1-65535 forwarded to host 127.0.0.1:1-65535" + bypass}},
		{name: "bare", settings: "lima: {portForwards: [{hostIP: 127.0.0.1}]}\n",
			want: []string{"guest ports 1-65535 forwarded to host 127.0.0.1:1-65535" + bypass}},
		{name: "one", settings: "ports: [3000]\nlima: {portForwards: [{guestPort: 5432, hostPort: 15432}]}\n",
			want: []string{"guest port 5432 forwarded to host 127.0.0.1:15432" + bypass}},
		{name: "range", settings: "lima: {portForwards: [{guestPortRange: [3000, 3009], hostPortRange: [13000, 13009], hostIP: \"::1\"}]}\n",
			want: []string{"guest ports 3000-3009 forwarded to host [::1]:13000-13009" + bypass}},
		{name: "listed", settings: "ports: [3000]\nlima: {portForwards: [{guestPort: 3000, hostPort: 3000}]}\n",
			want: []string{"guest port 3000 forwarded to host 127.0.0.1:3000" + bypass}},
		{name: "public", settings: "lima: {portForwards: [{guestPort: 80, hostIP: 0.0.0.0}]}\n",
			want: []string{"guest port 80 forwarded to host 0.0.0.0:80, reachable from other machines and bypassing vmhook's port isolation"}},
		{name: "udp", settings: "lima: {portForwards: [{guestPort: 5353, proto: udp}]}\n",
			want: []string{"guest udp port 5353 forwarded to host 127.0.0.1:5353" + bypass}},
		{name: "ignore", settings: "lima: {portForwards: [{guestPort: 23, ignore: true}, {guestSocket: /run/s, hostSocket: /tmp/s}]}\n",
			want: []string{"guest socket /run/s, served on the host at /tmp/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, p := consentProject(t, tt.settings, "")
			needs, err := p.Needs(e)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(needs, tt.want) {
				t.Errorf("Needs = %q\nwant %q", needs, tt.want)
			}
		})
	}
}

// TestRawRuleForAListedPort: a raw rule in the very form of vmhook's own,
// for a port ports: lists, still comes first and names its own host port,
// not the registry's: it is held back like any other.
func TestRawRuleForAListedPort(t *testing.T) {
	e, p := consentProject(t, "ports: [3000]\nlima: {portForwards: [{guestPort: 3000, hostPort: 3000, hostIP: \"127.0.0.1\"}]}\n", "")
	want := []string{"guest port 3000 forwarded to host 127.0.0.1:3000, bypassing vmhook's port isolation"}
	if needs, err := p.Needs(e); err != nil || !slices.Equal(needs, want) {
		t.Fatalf("Needs = %q, %v; want %q", needs, err, want)
	}
}
