package projectvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// limaRejected are raw lima: blocks vmhook refuses because Lima refuses
// them too, at create.
var limaRejected = []string{
	"cpus: many",
	"images: []",
	"ssh: {localPort: 22}",
	"images: [{location: IMG, arch: x86_64, digest: 'sha256:12'}]",
	"vmType: kvm",
	"arch: sparc",
	"memory: lots",
	"portForwards: [{guestPort: 70000, hostPort: 20000}]",
	"portForwards: [{guestPort: 22, hostPort: 20022}]",
	"portForwards: [{guestSocket: run/x.sock, hostSocket: /tmp/x.sock}]",
	"provision: [{mode: later, script: 'true'}]",
	"mountType: nfs",
	"ssh: {forwardAgent: sometimes}",
}

// TestLimaChecksMatchLima shows each rejected block to vmhook and to the real
// limactl validate: both must refuse it. A control config must pass both.
func TestLimaChecksMatchLima(t *testing.T) {
	for _, raw := range limaRejected {
		pf := filepath.Join(t.TempDir(), "vmhook.yaml")
		os.WriteFile(pf, []byte("lima:\n  "+raw+"\n"), 0o644)
		if _, err := LoadSettings(Sources{ProjectFile: pf, ProjectDir: "/proj"}); err == nil {
			t.Errorf("vmhook accepted lima: %s", raw)
		}
	}
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) { limaRefusesToo(t, lima) })
}

// limaRefusesToo checks that one Lima version refuses every block vmhook
// refuses.
func limaRefusesToo(t *testing.T, lima *limatest.Lima) {
	cfg := localImageConfig(t, lima)
	base, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var img string
	{
		var doc struct {
			Images []struct{ Location string }
		}
		yaml.Unmarshal(base, &doc)
		img = doc.Images[0].Location
	}
	check := func(raw string) error {
		var doc, extra map[string]any
		yaml.Unmarshal(base, &doc)
		if err := yaml.Unmarshal([]byte(strings.ReplaceAll(raw, "IMG", img)), &extra); err != nil {
			t.Fatal(err)
		}
		deepMerge(doc, extra)
		out, _ := yaml.Marshal(doc)
		f := filepath.Join(filepath.Dir(cfg), "check.yaml")
		os.WriteFile(f, out, 0o644)
		return lima.Validate(f)
	}
	if err := check("cpus: 1"); err != nil {
		t.Fatalf("control config refused: %v", err)
	}
	for _, raw := range limaRejected {
		if err := check(raw); err == nil {
			t.Errorf("limactl validate accepted lima: %s, which vmhook refuses", raw)
		}
	}
}
