package limatest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimalConfig is a config limactl accepts and can create an instance from
// without network access: a local image and containerd off (containerd would
// download nerdctl at create).
func minimalConfig(t *testing.T, lima *Lima) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "min.yaml")
	yaml := "images:\n- location: " + img + "\n  arch: x86_64\ncontainerd: {system: false, user: false}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	lima.Chown(dir)
	return cfg
}

func TestVersion(t *testing.T) { Each(t, testVersion) }

func testVersion(t *testing.T, lima *Lima) {
	out, _, err := lima.Run("--version")
	if err != nil {
		t.Fatal(err)
	}
	// The subtest is named by the version read from the binary's build
	// information; the binary must say the same when asked.
	if want := "limactl version " + strings.TrimPrefix(lima.Version(), "v"); strings.TrimSpace(out) != want {
		t.Fatalf("limactl --version = %q, want %q", out, want)
	}
	if n := len(lima.LimaHome() + "/x/ssh.sock.1234567890123456"); n >= 104 {
		t.Errorf("LIMA_HOME %q leaves socket paths of %d bytes, want < 104", lima.LimaHome(), n)
	}
}

func TestValidate(t *testing.T) { Each(t, testValidate) }

func testValidate(t *testing.T, lima *Lima) {
	if err := lima.Validate(minimalConfig(t, lima)); err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("cpus: many\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := lima.Validate(bad)
	if err == nil {
		t.Fatal("limactl validate accepted cpus: many")
	}
	if !strings.Contains(err.Error(), "level=fatal") {
		t.Errorf("validate error does not carry limactl's stderr: %v", err)
	}
}

func TestCreateListDelete(t *testing.T) { Each(t, testCreateListDelete) }

func testCreateListDelete(t *testing.T, lima *Lima) {
	cfg := minimalConfig(t, lima)

	if _, _, err := lima.Run("create", "--name", "x", "--tty=false", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lima.LimaHome(), "x", "lima.yaml")); err != nil {
		t.Errorf("instance dir after create: %v", err)
	}

	out, _, err := lima.Run("list", "--json", "x")
	if err != nil {
		t.Fatal(err)
	}
	var inst struct {
		Name, Status, Dir, VMType, Arch string
	}
	if err := json.Unmarshal([]byte(out), &inst); err != nil {
		t.Fatalf("list --json x: %v\n%s", err, out)
	}
	if inst.Name != "x" || inst.Status != "Stopped" || inst.Dir != filepath.Join(lima.LimaHome(), "x") {
		t.Errorf("list --json x = %+v, want x Stopped in %s", inst, lima.LimaHome())
	}

	if _, _, err := lima.Run("delete", "-f", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lima.LimaHome(), "x")); !os.IsNotExist(err) {
		t.Errorf("instance dir after delete: %v", err)
	}
}

func TestCleanupDeletesInstances(t *testing.T) {
	var home string
	t.Run("create", func(t *testing.T) {
		lima := Real(t)
		home = lima.LimaHome()
		if _, _, err := lima.Run("create", "--name", "left", "--tty=false", minimalConfig(t, lima)); err != nil {
			t.Fatal(err)
		}
	})
	if home == "" {
		t.Skip("create subtest skipped")
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("LIMA_HOME %q still there after the test: %v", home, err)
	}
}
