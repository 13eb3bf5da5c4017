package stdlib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
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

// TestUseVMTrustsNoProjectCache: `use vm` never sources a cache found in the
// project, even one whose first line is the exact key it would accept (a
// repository can predict it), and keeps its own cache in vmhook's state
// directory, where the next load finds it without running vmhook.
func TestUseVMTrustsNoProjectCache(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	root := t.TempDir()
	home := filepath.Join(root, "home")
	project := filepath.Join(root, "project")
	runs := filepath.Join(root, "runs")
	bin := filepath.Join(root, "vmhook")
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	// A vmhook that counts its runs and answers as vmhook use does.
	write(bin, "#!/bin/sh\necho run >>'"+runs+"'\nmkdir -p \"$XDG_STATE_HOME/vmhook/use-vm\"\necho \"_vmhook_deps=()\"\necho \"export VMHOOK_VM='myapp-dev'\"\n", 0o755)
	write(filepath.Join(project, "vmhook.yaml"), "cpus: 2\n", 0o644)
	write(filepath.Join(project, ".lima", "config.yaml"), "# committed\n", 0o644)
	lib := filepath.Join(root, "vmhook.sh")
	write(lib, Render(bin), 0o644)

	// The committed cache carries the key use vm computes, then code.
	script := `log_status() { :; }; log_error() { echo "error: $*" >&2; }; watch_file() { :; }
source "$1"
cd "$2"
printf -v key '%q ' v2 "$VMHOOK_BIN" "$PWD"
printf '# %s\n_vmhook_deps=()\ntouch PWNED\nexport VMHOOK_VM=forged\n' "$key" >.lima/use-vm.cache
use_vm
echo "1:$VMHOOK_VM"
unset VMHOOK_VM
use_vm
echo "2:$VMHOOK_VM"
`
	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script, "bash", lib, project)
	cmd.Env = append(testkit.UserEnv(home), "PATH=/usr/bin:/bin", "VMHOOK_BIN="+bin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(project, "PWNED")); err == nil {
		t.Fatal("use vm ran code from a cache committed in the project")
	}
	if got := string(out); got != "1:myapp-dev\n2:myapp-dev\n" {
		t.Errorf("exports %q, want vmhook's answer twice", got)
	}
	data, _ := os.ReadFile(runs)
	if n := strings.Count(string(data), "run\n"); n != 1 {
		t.Errorf("vmhook ran %d times, want once (the second load reuses vmhook's own cache)", n)
	}
	entries, _ := os.ReadDir(filepath.Join(home, ".local", "state", "vmhook", "use-vm"))
	if len(entries) != 1 || entries[0].Name() != strings.ReplaceAll(project, "/", "%2F") {
		t.Errorf("cache files %v, want one named after %q", entries, project)
	}
}
