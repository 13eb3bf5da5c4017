package shelltest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// export runs `direnv export json` in the project with env and returns the
// changes it makes: value, or nil for an unset variable.
func (w *world) export(env []string) (map[string]*string, string) {
	w.t.Helper()
	saved := w.env
	w.env = env
	defer func() { w.env = saved }()
	stdout, stderr, err := w.runIn(w.project, nil, "direnv", "export", "json")
	if err != nil {
		w.t.Fatalf("direnv export: %v\n%s", err, stderr)
	}
	changes := map[string]*string{}
	if strings.TrimSpace(stdout) != "" {
		if err := json.Unmarshal([]byte(stdout), &changes); err != nil {
			w.t.Fatalf("direnv export json: %v\n%s", err, stdout)
		}
	}
	return changes, stderr
}

// apply returns env with direnv's changes made.
func apply(env []string, changes map[string]*string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, changed := changes[k]; !changed {
			out = append(out, kv)
		}
	}
	for k, v := range changes {
		if v != nil {
			out = append(out, k+"="+*v)
		}
	}
	return out
}

// touchLater gives path an mtime clearly after any earlier one: direnv
// compares modification times, in whole seconds.
func touchLater(t *testing.T, path string, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if st, err := os.Stat(path); err == nil && !st.ModTime().Before(later) {
		later = st.ModTime().Add(time.Hour)
	}
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// TestUseVM runs `use vm` under the real direnv: it exports the four
// variables and starts nothing, and a change to vmhook.yaml or to the user
// defaults makes direnv reload.
func TestUseVM(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow()

	// test that use vm exports the four variables
	changes, stderr := w.export(w.env)
	for k, want := range map[string]string{
		"VMHOOK_VM":          w.vm,
		"VMHOOK_PROJECT":     w.project,
		"SYSINIT_VM_ENABLED": "1",
		"SYSINIT_VM_NAME":    w.vm,
	} {
		if v := changes[k]; v == nil || *v != want {
			t.Errorf("%s = %v, want %q\n%s", k, deref(v), want, stderr)
		}
	}
	if !strings.Contains(stderr, "direnv: vmhook: VM "+w.vm+"\n") {
		t.Errorf("no status line for the VM:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(w.project, ".lima", "config.yaml")); err != nil {
		t.Errorf("use vm wrote no config: %v", err)
	}
	w.noVMCalls()
	loaded := apply(w.env, changes)

	// test that nothing is reloaded while nothing changed
	if again, stderr := w.export(loaded); len(again) != 0 {
		t.Errorf("direnv reloaded with nothing changed: %v\n%s", again, stderr)
	}

	// test that a changed vmhook.yaml reloads
	touchLater(t, filepath.Join(w.project, "vmhook.yaml"), "cpus: 2\n")
	if again, stderr := w.export(loaded); len(again) == 0 {
		t.Errorf("direnv did not reload after vmhook.yaml changed\n%s", stderr)
	}

	// test that changed user defaults reload
	touchLater(t, filepath.Join(w.home, ".config", "vmhook", "config.yaml"), "memory: 2GiB\n")
	if again, stderr := w.export(loaded); len(again) == 0 {
		t.Errorf("direnv did not reload after the user defaults changed\n%s", stderr)
	}
	w.noVMCalls()
}

// TestUseVMError: a bad vmhook.yaml makes use vm fail with vmhook's error
// and one line of its own, exports nothing of the VM, and fixing the file
// reloads.
func TestUseVMError(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	yaml := filepath.Join(w.project, "vmhook.yaml")
	w.write(yaml, "cpuz: 2\n")
	w.allow()

	changes, stderr := w.export(w.env)
	if v := changes["VMHOOK_VM"]; v != nil {
		t.Errorf("VMHOOK_VM = %q after a failed use vm", *v)
	}
	var vmhookLines, useLines int
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "vmhook: ") && strings.Contains(l, "cpuz") {
			vmhookLines++
		}
		if strings.Contains(l, "direnv: vmhook: use vm failed") {
			useLines++
		}
	}
	if vmhookLines != 1 || useLines != 1 {
		t.Errorf("want vmhook's error naming the field and one use vm line, got:\n%s", stderr)
	}

	// test that fixing vmhook.yaml reloads and exports the VM
	loaded := apply(w.env, changes)
	touchLater(t, yaml, "cpus: 2\n")
	changes, stderr = w.export(loaded)
	if v := changes["VMHOOK_VM"]; v == nil || *v != w.vm {
		t.Errorf("VMHOOK_VM = %v after fixing vmhook.yaml, want %q\n%s", deref(v), w.vm, stderr)
	}
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}
