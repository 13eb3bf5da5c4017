package stdlib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderPicksBinary sources the rendered extension in bash and checks
// which vmhook it would run: $VMHOOK_BIN, the rendered path, or PATH.
func TestRenderPicksBinary(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rendered := mk(`it's a "$dir"\/vmhook`)
	onPath := mk("bin/vmhook")
	override := mk("override/vmhook")
	gone := filepath.Join(dir, "gone", "vmhook")

	tests := []struct {
		name, selfPath string
		env            []string
		want           string
		fails          bool
	}{
		{name: "rendered path", selfPath: rendered, want: rendered},
		{name: "rendered path gone, PATH", selfPath: gone, want: onPath},
		{name: "VMHOOK_BIN first", selfPath: rendered, env: []string{"VMHOOK_BIN=" + override}, want: override},
		{name: "VMHOOK_BIN not executable", selfPath: rendered, env: []string{"VMHOOK_BIN=" + gone}, fails: true},
		{name: "nothing", selfPath: gone, env: []string{"PATH=/nonexistent"}, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := filepath.Join(t.TempDir(), "vmhook.sh")
			if err := os.WriteFile(lib, []byte(Render(tt.selfPath)), 0o644); err != nil {
				t.Fatal(err)
			}
			script := `log_error() { echo "error: $*" >&2; }; source "$1"; _vmhook_bin && printf '%s' "$REPLY"`
			cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script, "bash", lib)
			cmd.Env = append([]string{"PATH=" + filepath.Dir(onPath) + ":/usr/bin:/bin", "HOME=" + dir}, tt.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tt.fails {
				if err == nil || !strings.Contains(stderr.String(), "error: vmhook:") {
					t.Fatalf("got %q, %v (stderr %q); want a logged error and failure", out, err, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if string(out) != tt.want {
				t.Errorf("runs %q, want %q", out, tt.want)
			}
		})
	}
}
