package projectvm

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestLinksWithRealLima checks what each real limactl stores when it
// creates a VM from a config vmhook rendered (no boot): a provision file
// arrives as the content vmhook read, and a mount through a link as the
// directory it led to, even when both links are retargeted after the
// config was written and before Lima read it. verifyHostPaths then refuses
// the instance once a path it names became a link.
func TestLinksWithRealLima(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the image is x86_64")
	}
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) {
		img := localImageConfig(t, lima)
		root, err := os.MkdirTemp("/tmp", "vhlinks")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		proj, secret := filepath.Join(root, "proj"), filepath.Join(root, "secret")
		for _, d := range []string{filepath.Join(proj, "real"), filepath.Join(root, "elsewhere")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		write := func(p, s string) {
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(filepath.Join(proj, "setup.sh"), "#!/bin/sh\necho judged\n")
		write(secret, "SECRET\n")
		write(filepath.Join(proj, "vmhook.yaml"), "mounts: [./data]\nlima: {provision: [{mode: system, file: ./setup.sh}]}\n")
		if err := os.Symlink("real", filepath.Join(proj, "data")); err != nil {
			t.Fatal(err)
		}
		e, err := NewEnv(testkit.UserEnv(filepath.Join(root, "home")), Host{OS: "linux", Arch: "amd64", UID: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		p, err := OpenProject(e, proj, nil)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := p.Render(nil)
		if err != nil {
			t.Fatal(err)
		}
		// The local image in place of the default ones, which need the
		// network.
		var m, im map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(img)
		if err := yaml.Unmarshal(data, &im); err != nil {
			t.Fatal(err)
		}
		m["images"], m["containerd"] = im["images"], im["containerd"]
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(root, "c.yaml")
		write(cfg, string(out))
		// Both links retargeted after vmhook judged them, before Lima reads.
		os.Remove(filepath.Join(proj, "setup.sh"))
		if err := os.Symlink(secret, filepath.Join(proj, "setup.sh")); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(proj, "data"))
		if err := os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(proj, "data")); err != nil {
			t.Fatal(err)
		}
		lima.Chown(root)
		if _, stderr, err := lima.Run("create", "--name", "links", "--tty=false", cfg); err != nil {
			t.Fatalf("limactl create: %v\n%s", err, stderr)
		}
		stored, err := os.ReadFile(filepath.Join(lima.LimaHome(), "links", limaYAML))
		if err != nil {
			t.Fatal(err)
		}
		s := string(stored)
		if !strings.Contains(s, "echo judged") || strings.Contains(s, "SECRET") {
			t.Errorf("Lima stored another provision script than vmhook read:\n%s", s)
		}
		if !strings.Contains(s, filepath.Join(proj, "real")) || strings.Contains(s, "elsewhere") || strings.Contains(s, filepath.Join(proj, "data")) {
			t.Errorf("Lima stored another mount than the directory vmhook judged:\n%s", s)
		}
		if err := verifyHostPaths("links", "lima.yaml", stored, e.Home); err != nil {
			t.Fatalf("the stored paths do not verify: %v", err)
		}
		// The judged directory itself turned into a link: refused at start.
		os.Remove(filepath.Join(proj, "real"))
		if err := os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(proj, "real")); err != nil {
			t.Fatal(err)
		}
		err = verifyHostPaths("links", "lima.yaml", stored, e.Home)
		if _, ok := err.(*LinkChangedError); !ok {
			t.Fatalf("a judged directory turned link: got %v, want a LinkChangedError", err)
		}
	})
}
