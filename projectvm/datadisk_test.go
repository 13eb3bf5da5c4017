package projectvm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm/limatest"
)

func TestCheckDataPath(t *testing.T) {
	for _, tt := range []struct {
		path, clean, err string
	}{
		{"~", "~", ""},
		{"~/work", "~/work", ""},
		{"~/a//b/", "~/a/b", ""},
		{"/srv/data", "/srv/data", ""},
		{"/var/lib/docker", "/var/lib/docker", ""},
		{"work", "", "must be ~"},
		{"~user", "", "must be ~"},
		{"/srv/my data", "", "must be ~"},
		{"/srv/$(id)", "", "must be ~"},
		{"~/../etc", "", "must not contain . or .."},
		{"/srv/./x", "", "must not contain . or .."},
		{"/", "", "would hide the guest's own files"},
		{"/home", "", "would hide the guest's own files"},
		{"/var/", "", "would hide the guest's own files"},
		{"/etc", "", "in /etc"},
		{"/usr/local/data", "", "in /usr"},
		{"/nix", "", "in /nix"},
		{"/mnt/lima-cidata", "", "where Lima mounts"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			msg := checkDataPath(tt.path)
			if tt.err == "" {
				if msg != "" {
					t.Fatalf("refused: %s", msg)
				}
				if got := cleanDataPath(tt.path); got != tt.clean {
					t.Fatalf("clean = %q, want %q", got, tt.clean)
				}
				return
			}
			if !strings.Contains(msg, tt.err) {
				t.Fatalf("error %q, want it to say %q", msg, tt.err)
			}
		})
	}
}

// TestDataScriptShell checks the boot step with sh -n and, when installed,
// shellcheck: it runs as root in every guest at every boot.
func TestDataScriptShell(t *testing.T) {
	for _, p := range []string{"~", "~/work", "/srv/data"} {
		script := dataScript("box-data", p)
		f := filepath.Join(t.TempDir(), "data.sh")
		if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
			t.Fatalf("%s: sh -n: %v\n%s", p, err, out)
		}
		if _, err := exec.LookPath("shellcheck"); err == nil {
			if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
				t.Fatalf("%s: shellcheck: %v\n%s\n%s", p, err, out, script)
			}
		}
		if !strings.Contains(script, "mount --bind \"$store\" \"$target\"") || !strings.Contains(script, "'/mnt/lima-box-data'") {
			t.Fatalf("%s: the step does not bind the disk's copy:\n%s", p, script)
		}
		if home := strings.Contains(script, "authorized_keys"); home != (p == "~") {
			t.Fatalf("%s: carries the ssh keys over: %v, want only for the home", p, home)
		}
	}
}

// TestDataDiskWithRealLima renders a named VM with a data disk that every
// installed Lima validates, and creates and deletes the disk with the real
// limactl (no boot): created once, kept while an instance's config names it,
// deleted after.
func TestDataDiskWithRealLima(t *testing.T) {
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) {
		root := t.TempDir()
		environ := append(testkit.UserEnv(filepath.Join(root, "home")), "LIMA_HOME="+lima.LimaHome())
		e, err := NewEnv(environ, Host{OS: "linux", Arch: "amd64", UID: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		def := e.VMDefinition("box")
		if err := os.MkdirAll(filepath.Dir(def), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(def, []byte("cpus: 1\ndata: {size: 1GiB, path: ~/work}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		p, err := OpenNamed(e, "box", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WriteConfig(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := lima.Validate(p.ConfigPath); err != nil {
			t.Fatal(err)
		}
		m := &Manager{Lima: &Command{Path: lima.Wrapper()}, Env: e}
		for i := 0; i < 2; i++ {
			if err := m.ensureDataDisk(ctx, p); err != nil {
				t.Fatalf("ensure the data disk (%d): %v", i+1, err)
			}
		}
		out, _, err := lima.Run("disk", "list", "--json")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"name":"box-data"`) || !strings.Contains(out, `"size":1073741824`) {
			t.Fatalf("limactl disk list: %s", out)
		}
		if st, ok := m.DataDiskOf(p); !ok || !st.Exists || !st.Ours {
			t.Fatalf("data disk state: %+v", st)
		}

		// An instance whose config names the disk keeps it: Lima skips the
		// delete (exit 0), and vmhook says so.
		cfg := localImageConfig(t, lima)
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("additionalDisks:\n- name: box-data\n")
		f.Close()
		if _, stderr, err := lima.Run("create", "--name", "other", "--tty=false", cfg); err != nil {
			t.Fatalf("limactl create: %v\n%s", err, stderr)
		}
		if _, err := m.DeleteDataDisk(ctx, p); err == nil || !strings.Contains(err.Error(), "another Lima instance names it") {
			t.Fatalf("delete of a disk another instance names: %v", err)
		}
		if _, _, err := lima.Run("delete", "--force", "other"); err != nil {
			t.Fatal(err)
		}
		deleted, err := m.DeleteDataDisk(ctx, p)
		if err != nil || !deleted {
			t.Fatalf("delete the data disk: %v, %v", deleted, err)
		}
		if out, _, _ := lima.Run("disk", "list", "--json"); strings.Contains(out, "box-data") {
			t.Fatalf("disk left after delete: %s", out)
		}
	})
}

// TestForeignDataDisk: only a directory whose owner record names the VM's
// definition is its data disk; anything else is said for what it is.
func TestForeignDataDisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		place func(t *testing.T, dir string, p *Project)
		what  string // "" for the VM's own disk
	}{
		{"own", func(t *testing.T, dir string, p *Project) { mustOwn(t, dir, p.Owner()) }, ""},
		{"foreign", func(t *testing.T, dir string, p *Project) { os.MkdirAll(dir, 0o755) }, `Lima disk "box-data" was not created by vmhook`},
		{"file", func(t *testing.T, dir string, p *Project) { os.WriteFile(dir, []byte("mine"), 0o644) }, "box-data is a file, not a Lima disk"},
		{"link", func(t *testing.T, dir string, p *Project) {
			target := filepath.Join(t.TempDir(), "d")
			mustOwn(t, target, p.Owner())
			os.Symlink(target, dir)
		}, "box-data is a symbolic link, not a Lima disk"},
		{"other VM", func(t *testing.T, dir string, p *Project) { mustOwn(t, dir, NamedOwner("/defs/other.yaml")) }, `Lima disk "box-data" is the data disk of the VM defined in /defs/other.yaml`},
		{"project", func(t *testing.T, dir string, p *Project) { mustOwn(t, dir, ProjectOwner("/src/app")) }, `Lima disk "box-data" was created by vmhook for the project /src/app`},
		{"bad record", func(t *testing.T, dir string, p *Project) {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, ownerFile), []byte("vmhook-owner 9\n"), 0o644)
		}, `the owner record of Lima disk "box-data" cannot be read`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEnv(t, t.TempDir())
			def := e.VMDefinition("box")
			os.MkdirAll(filepath.Dir(def), 0o755)
			if err := os.WriteFile(def, []byte("data: {size: 1GiB, path: ~/work}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := OpenNamed(e, "box", nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := e.diskDir(DataDiskName("box"))
			os.MkdirAll(filepath.Dir(dir), 0o755)
			tc.place(t, dir, p)
			m := &Manager{Env: e}
			exists, ours, what := m.foreignDataDisk(p)
			if !exists || ours != (tc.what == "") || !strings.Contains(what, tc.what) {
				t.Fatalf("exists %v, ours %v, what %q; want %q", exists, ours, what, tc.what)
			}
			err = m.CheckDataDiskDeletable(p)
			if (err == nil) != (tc.what == "") || err != nil && !strings.Contains(err.Error(), tc.what+", so vmhook leaves it alone; nothing was destroyed") {
				t.Fatalf("check: %v", err)
			}
		})
	}
}

func mustOwn(t *testing.T, dir string, o Owner) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteOwner(dir, o); err != nil {
		t.Fatal(err)
	}
}
