package projectvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/projectvm/limatest"

	"github.com/vmhook/vmhook/internal/atomicfile"
	"github.com/vmhook/vmhook/internal/testkit"
)

// testEnv is an isolated environment under root.
func testEnv(t *testing.T, root string) Env {
	t.Helper()
	environ := append(testkit.UserEnv(filepath.Join(root, "home")), "LIMA_HOME="+filepath.Join(root, "lima"))
	e, err := NewEnv(environ, Host{OS: "linux", Arch: "amd64", UID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// awkwardDirs are project directory names that broke earlier tools: shell
// and sed metacharacters, quotes, unicode, and very long names.
var awkwardDirs = []string{
	"plain", "with space", "it's", `double"quote`, "pipe|bar", `back\slash`, "$(touch pwned)",
	"`touch pwned2`", "日本語", "émoji 🚀", "a..b", "-x-", "x.yaml", "semi;colon", "amp&and",
	"star*glob?", "hash#tag", "percent%s", "new\nline", "tab\there", "brace{1,2}", "colon: yes",
	"- dash", "[bracket]", strings.Repeat("long", 40),
}

func TestGeneratedConfigsPassRealValidate(t *testing.T) {
	lima := limatest.Real(t)
	root, err := os.MkdirTemp("/tmp", "vhcfg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	e := testEnv(t, root)
	e.LimaHome = lima.LimaHome()
	cwd, _ := os.Getwd()
	for _, name := range awkwardDirs {
		dir := filepath.Join(root, "src", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Settings that exercise every templated string.
		settings := "ports: [3000]\nenv: {GREETING: \"it's \\\"$(x)\\\" | `y`\"}\nsockets:\n  - {host: /var/run/docker.sock, guest: docker.sock, env: DOCKER_HOST}\n  - {host: /tmp/agent.sock, guest: agent.sock, env: SSH_AUTH_SOCK}\n  - {host: /tmp/vmhook-test-mux.sock, guest: mux.sock, direction: to-host, env: MUX, envForm: url}\nprovision:\n  - script: \"echo '$(id)'\"\n"
		if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte(settings), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := OpenProject(e, dir, Flags{})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		// The socket reaches the host: the user allows it first.
		if _, err := Allow(e, p); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if _, err := p.WriteConfig(context.Background(), e); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		// Lima checks that the mounted directory is accessible to its user.
		lima.Chown(root)
		if err := lima.Validate(p.ConfigPath); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		data, _ := os.ReadFile(p.ConfigPath)
		var doc struct {
			Mounts []struct {
				Location   string `yaml:"location"`
				MountPoint string `yaml:"mountPoint"`
				Writable   bool   `yaml:"writable"`
			} `yaml:"mounts"`
			Env map[string]string `yaml:"env"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(doc.Mounts) != 1 || doc.Mounts[0].Location != dir || doc.Mounts[0].MountPoint != dir || !doc.Mounts[0].Writable {
			t.Errorf("%q: mounts = %+v, want exactly %q writable at the same path", name, doc.Mounts, dir)
		}
		if doc.Env["DOCKER_HOST"] != "unix:///run/user/"+strconv.Itoa(e.Host.UID)+"/docker.sock" || doc.Env["SSH_AUTH_SOCK"] != "/run/user/"+strconv.Itoa(e.Host.UID)+"/agent.sock" || !strings.HasPrefix(doc.Env["MUX"], "unix:///") {
			t.Errorf("%q: socket env = %v, want a URL for DOCKER_HOST and MUX, a path for SSH_AUTH_SOCK", name, doc.Env)
		}
		if n := strings.Count(string(data), "reverse: true"); n != 2 {
			t.Errorf("%q: %d reverse socket forwards, want 2 (the to-host socket has none)", name, n)
		}
		if doc.Env["SYSINIT_IN_VM"] != "1" || doc.Env["GREETING"] != "it's \"$(x)\" | `y`" {
			t.Errorf("%q: env = %v", name, doc.Env)
		}
		if strings.Contains(string(data), ".ssh") {
			t.Errorf("%q: config mentions .ssh", name)
		}
	}
	for _, f := range []string{"pwned", "pwned2"} {
		for _, d := range []string{cwd, root, filepath.Join(root, "src")} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				t.Fatalf("a project path was executed: %s exists", filepath.Join(d, f))
			}
		}
	}
}

func TestConfigHostAware(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "proj")
	os.MkdirAll(dir, 0o755)
	for _, tt := range []struct {
		host            Host
		vmType, arch, m string
	}{
		{Host{OS: "linux", Arch: "amd64"}, "qemu", "x86_64", "9p"},
		{Host{OS: "linux", Arch: "arm64"}, "qemu", "aarch64", "9p"},
		{Host{OS: "darwin", Arch: "arm64"}, "vz", "aarch64", "virtiofs"},
	} {
		e.Host = tt.host
		p, err := OpenProject(e, dir, Flags{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := p.Render(nil)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["vmType"] != tt.vmType || doc["arch"] != tt.arch || doc["mountType"] != tt.m {
			t.Errorf("%+v: vmType=%v arch=%v mountType=%v", tt.host, doc["vmType"], doc["arch"], doc["mountType"])
		}
		// Lima's 9p defaults (cache, msize, security model) are right for a
		// project mount; the config leaves them to Lima.
		if _, set := doc["9p"]; set {
			t.Errorf("%+v: config sets 9p options", tt.host)
		}
	}
}

func TestWriteConfigKeepsHandEdits(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "proj")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, ProjectFile), []byte("cpus: 2\n"), 0o644)
	p, _ := OpenProject(e, dir, Flags{})
	ctx := context.Background()
	if r, err := p.WriteConfig(ctx, e); err != nil || r.Result != ConfigWritten {
		t.Fatalf("first write: %v %v", r, err)
	}
	if r, _ := p.WriteConfig(ctx, e); r.Result != ConfigUnchanged {
		t.Fatalf("second write: %v", r.Result)
	}
	data, _ := os.ReadFile(p.ConfigPath)
	edited := strings.Replace(string(data), "cpus: 2", "cpus: 7", 1)
	os.WriteFile(p.ConfigPath, []byte(edited), 0o644)
	os.WriteFile(filepath.Join(dir, ProjectFile), []byte("cpus: 3\n"), 0o644)
	p, _ = OpenProject(e, dir, Flags{})
	var ce *ConsentError
	if r, err := p.WriteConfig(ctx, e); r.Result != ConfigHandEdited || !errors.As(err, &ce) {
		t.Fatalf("after hand edit: %v, %v; want it left alone, waiting for consent", r.Result, err)
	}
	if _, err := Allow(e, p); err != nil {
		t.Fatal(err)
	}
	if r, err := p.WriteConfig(ctx, e); r.Result != ConfigHandEdited || err != nil {
		t.Fatalf("after allow: %v, %v", r.Result, err)
	}
	if now, _ := os.ReadFile(p.ConfigPath); string(now) != edited {
		t.Fatal("hand-edited config was changed")
	}
}

func TestWriteFileAtomicNeverPartial(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := writeFileAtomic(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An interrupted write (here: the rename fails) leaves the old file
	// and no temporary file behind.
	atomicfile.InterruptBeforeRename = func() error { return errors.New("interrupted") }
	defer func() { atomicfile.InterruptBeforeRename = nil }()
	if err := writeFileAtomic(path, []byte(strings.Repeat("new\n", 1<<16)), 0o644); err == nil {
		t.Fatal("write succeeded despite the interruption")
	}
	if data, _ := os.ReadFile(path); string(data) != "old\n" {
		t.Fatalf("file now holds %d bytes, want the old content", len(data))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestArchInName(t *testing.T) {
	for loc, want := range map[string]string{
		"https://example.org/nixos-lima-24.11-aarch64.qcow2":                       "aarch64",
		"https://cloud-images.ubuntu.com/x/ubuntu-24.04-server-cloudimg-arm64.img": "aarch64",
		"/img/debian-12-genericcloud-amd64.qcow2":                                  "x86_64",
		"/img/nixos_x86_64.qcow2?raw=1":                                            "x86_64",
		"/img/arm64-dir/nixos.qcow2":                                               "",
		"/img/nixos.qcow2":                                                         "",
		"/img/farm64.img":                                                          "",
		"/img/x86_64-to-aarch64.img":                                               "",
	} {
		if got := archInName(loc); got != want {
			t.Errorf("archInName(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestImageArchFromImage(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root) // an x86_64 host
	dir := filepath.Join(root, "proj")
	os.MkdirAll(dir, 0o755)
	for _, tt := range []struct {
		settings, arch, err string
	}{
		{"image: /img/nixos-lima-aarch64.qcow2\n", "", "image \"/img/nixos-lima-aarch64.qcow2\" is for aarch64 (from its file name) but the VM is x86_64"},
		{"image:\n  location: /img/nixos.qcow2\n  arch: arm64\n", "", "is for aarch64 (from its arch field)"},
		{"image:\n  location: /img/nixos-aarch64.qcow2\n  arch: x86_64\n", "x86_64", ""},
		{"image: /img/nixos-x86_64.qcow2\n", "x86_64", ""},
		{"image: /img/nixos.qcow2\n", "x86_64", ""},
		{"image: /img/nixos-aarch64.qcow2\nlima:\n  arch: aarch64\n", "aarch64", ""},
	} {
		if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte(tt.settings), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := OpenProject(e, dir, Flags{})
		if err != nil {
			t.Fatalf("%q: %v", tt.settings, err)
		}
		data, err := p.Render(nil)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: err = %v, want %q", tt.settings, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.settings, err)
		}
		var doc struct {
			Images []struct{ Arch string } `yaml:"images"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Images) != 1 || doc.Images[0].Arch != tt.arch {
			t.Errorf("%q: images = %+v, want arch %s", tt.settings, doc.Images, tt.arch)
		}
	}
}

// TestConfigKeepsOddNames renders a project whose directory name holds
// characters YAML reads as line breaks (U+0085) or refuses (DEL, C1
// controls), which JSON leaves as they are: the header stays one comment
// line and every value reads back exactly.
func TestConfigKeepsOddNames(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	for _, name := range []string{"a\u0085b", "del\x7f", "c1\u009b[31m", "ls\u2028ps\u2029", "nbsp\u00a0ok"} {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p, err := OpenProject(e, dir, Flags{})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		data, err := p.Render(nil)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		lines := strings.SplitN(string(data), "\n", 4)
		if !strings.HasPrefix(lines[1], "# Lima instance ") || !strings.HasPrefix(lines[2], "# Generated from ") {
			t.Errorf("%q: the header is broken:\n%s", name, strings.Join(lines[:3], "\n"))
		}
		var doc struct {
			Mounts []struct{ Location string } `yaml:"mounts"`
			Env    map[string]string           `yaml:"env"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%q: the config does not parse: %v", name, err)
		}
		if len(doc.Mounts) == 0 || doc.Mounts[0].Location != dir || doc.Env["PROJECT_NAME"] != name {
			t.Errorf("%q: read back mounts %q, PROJECT_NAME %q", name, doc.Mounts, doc.Env["PROJECT_NAME"])
		}
	}
}
