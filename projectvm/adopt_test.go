package projectvm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestReservationsPerLimaHome reserves one name under two LIMA_HOMEs: each
// is its own, and neither hides the other.
func TestReservationsPerLimaHome(t *testing.T) {
	root := t.TempDir()
	a := testEnv(t, root)
	b := a
	b.LimaHome = filepath.Join(root, "lima2")
	if err := claimName(a, "default", NamedOwner("/a.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := claimName(b, "default", ProjectOwner("/p")); err != nil {
		t.Fatalf("a reservation under another LIMA_HOME held the name: %v", err)
	}
	for _, tt := range []struct {
		e    Env
		want Owner
	}{{a, NamedOwner("/a.yaml")}, {b, ProjectOwner("/p")}} {
		o, _, err := ownerOf(tt.e, "default")
		if err != nil || o != tt.want {
			t.Errorf("%s: owner %v, %v; want %v", tt.e.LimaHome, o, err, tt.want)
		}
	}
	if a.nameClaim("x") == b.nameClaim("x") {
		t.Fatal("two LIMA_HOMEs share a reservation path")
	}
	// A LIMA_HOME reached through a symlink is the same LIMA_HOME.
	link := filepath.Join(root, "link")
	os.MkdirAll(a.LimaHome, 0o755)
	if err := os.Symlink(a.LimaHome, link); err != nil {
		t.Fatal(err)
	}
	c := a
	c.LimaHome = link
	if c.nameClaim("x") != a.nameClaim("x") {
		t.Fatal("a symlink to LIMA_HOME has other reservations")
	}
	// A reservation of an earlier version (for no LIMA_HOME in particular)
	// holds nothing.
	legacy := filepath.Join(a.stateDir(), "names", "old")
	os.WriteFile(legacy, encodeOwner(ProjectOwner("/q")), 0o644)
	if o, _, _ := ownerOf(a, "old"); !o.IsZero() {
		t.Fatalf("legacy reservation read as %v", o)
	}
}

// TestAdoptWithRealLima adopts an instance plain limactl created (no boot),
// under every installed Lima.
func TestAdoptWithRealLima(t *testing.T) {
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) {
		cfg := localImageConfig(t, lima)
		extra := "cpus: 2\nmemory: 3GiB\nenv:\n  FOO: bar\nmounts:\n- location: /tmp/lima\n  writable: true\n" +
			"portForwards:\n- guestSocket: /run/docker.sock\n  hostSocket: \"{{.Dir}}/sock/docker.sock\"\n"
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(extra)
		f.Close()
		if _, stderr, err := lima.Run("create", "--name", "default", "--tty=false", cfg); err != nil {
			t.Fatalf("limactl create: %v\n%s", err, stderr)
		}
		root := t.TempDir()
		environ := append(testkit.UserEnv(filepath.Join(root, "home")), "LIMA_HOME="+lima.LimaHome())
		e, err := NewEnv(environ, Host{OS: "linux", Arch: "amd64", UID: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOARCH != "amd64" {
			t.Skip("the image is x86_64")
		}
		m := &Manager{Env: e}
		limaCfg := e.instanceFile("default", limaYAML)
		before, err := os.ReadFile(limaCfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		res, err := m.Adopt(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Wrote {
			t.Fatal("no definition written")
		}
		def, _ := os.ReadFile(e.VMDefinition("default"))
		for _, want := range []string{"\ncpus: 2\n", "\nmemory: 3GiB\n", "\n  arch: x86_64\n", "\n  FOO: bar\n", "\n  - location: /tmp/lima\n    writable: true\n", "hostSocket: " + lima.LimaHome() + "/default/sock/docker.sock"} {
			if !strings.Contains(string(def), want) {
				t.Errorf("definition lacks %q:\n%s", want, def)
			}
		}
		if o, err := ReadOwner(e.InstanceDir("default")); err != nil || o != NamedOwner(e.VMDefinition("default")) {
			t.Fatalf("owner record: %v, %v", o, err)
		}
		if after, _ := os.ReadFile(limaCfg); !bytes.Equal(before, after) {
			t.Fatalf("lima.yaml changed:\n%s", after)
		}
		// The VM is now the named VM's: its config renders, status sees it
		// as its own and what Lima lists agrees.
		p, err := OpenNamed(e, "default", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WriteConfig(ctx, e); err != nil {
			t.Fatal(err)
		}
		info := m.Info(p)
		if info.NotOurs != "" || info.Project != p.Owner() || info.State != Stopped {
			t.Fatalf("status after adopt: %+v", info)
		}
		if len(info.Recreate) > 0 {
			t.Errorf("an adopted instance needs a recreate for %v", info.Recreate)
		}
		// The generated config is one real Lima accepts.
		if err := lima.Validate(p.ConfigPath); err != nil {
			t.Errorf("the adopted VM's config: %v", err)
		}
		// Adopting it for another owner is refused; release gives it back.
		other := e
		other.ConfigHome = filepath.Join(root, "other")
		if _, err := (&Manager{Env: other}).Adopt(ctx, "default"); !errors.Is(err, ErrNotOwned) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("adopt of an owned VM: %v", err)
		}
		if err := m.Release(ctx, "default"); err != nil {
			t.Fatal(err)
		}
		if o, _, _ := ownerOf(e, "default"); !o.IsZero() {
			t.Fatalf("owner after release: %v", o)
		}
		if info := m.Info(p); info.NotOurs == "" {
			t.Fatalf("status after release claims the VM: %+v", info)
		}
		if after, _ := os.ReadFile(limaCfg); !bytes.Equal(before, after) {
			t.Fatalf("lima.yaml changed by release:\n%s", after)
		}
		if out, _, err := lima.Run("list", "--json", "default"); err != nil || len(ParseList([]byte(out))) != 1 {
			t.Fatalf("instance gone after release: %v %s", err, out)
		}
	})
}
