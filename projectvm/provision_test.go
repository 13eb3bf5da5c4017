package projectvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProvisionOnceGuard runs the wrapped script twice with sh, the marker
// directory moved into a temp dir: the step runs once, keeps its #! line and
// exit code, and a failed step leaves no marker, so it runs again.
func TestProvisionOnceGuard(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	run := func(pr Provision) error {
		script := strings.ReplaceAll(ProvisionScript(pr, dir), systemMarkers, filepath.Join(dir, "markers"))
		return exec.Command("sh", "-c", script).Run()
	}
	once := Provision{Mode: "system", When: "once", Script: "#!/bin/bash\nset -eu\n[[ -n bash ]] && echo x >>" + count}
	for range 2 {
		if err := run(once); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(count); string(b) != "x\n" {
		t.Errorf("once step ran %q, want once", b)
	}
	every := Provision{Mode: "system", When: "boot", Script: "#!/bin/sh\necho \"$VMHOOK_PROJECT_DIR\" >>" + count}
	for range 2 {
		if err := run(every); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(count); string(b) != "x\n"+dir+"\n"+dir+"\n" {
		t.Errorf("a boot step ran %q, want twice with VMHOOK_PROJECT_DIR", b)
	}
	failing := Provision{Mode: "system", When: "once", Script: "echo z >>" + count + "\nexit 3"}
	for range 2 {
		if err := run(failing); err == nil {
			t.Fatal("a failing step succeeded")
		}
	}
	if b, _ := os.ReadFile(count); string(b) != "x\n"+dir+"\n"+dir+"\nz\nz\n" {
		t.Errorf("after a failing step twice: %q, want it run both times", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "markers", ".step.*")); len(left) != 0 {
		t.Errorf("temporary step files left: %v", left)
	}
	if !strings.Contains(ProvisionScript(Provision{Mode: "user", When: "once", Script: "x"}, "/p"), userMarkers) {
		t.Error("a user step keeps its marker outside the user's home")
	}
}
