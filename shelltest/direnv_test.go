package shelltest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/internal/testkit"
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
		"LIMA_INSTANCE":      w.vm,
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

// TestUseVMCache: a load of `use vm` with nothing changed runs no vmhook
// (it reuses the last answer), and every input vmhook's answer depends on
// makes it run again.
func TestUseVMCache(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// A vmhook that counts its runs, then runs the real one.
	runs := filepath.Join(w.root, "runs")
	wrapper := filepath.Join(w.root, "vmhook-counting")
	w.write(wrapper, "#!/bin/sh\necho run >>'"+runs+"'\nexec \"$VMHOOK_TEST_BIN\" \"$@\"\n")
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	w.env = mergeEnv(w.env, []string{"VMHOOK_BIN=" + wrapper})
	w.allow()
	count := func() int {
		data, _ := os.ReadFile(runs)
		return strings.Count(string(data), "run\n")
	}
	load := func(env []string) map[string]*string {
		changes, stderr := w.export(env)
		if v := changes["VMHOOK_VM"]; v == nil || *v != w.vm {
			t.Fatalf("VMHOOK_VM = %v\n%s", deref(v), stderr)
		}
		return changes
	}
	config := func() string {
		data, _ := os.ReadFile(filepath.Join(w.project, ".lima", "config.yaml"))
		return string(data)
	}

	// test that the first load runs vmhook, and a fresh load of the same
	// project with nothing changed does not, with the same exports
	first := load(w.env)
	if n := count(); n != 1 {
		t.Fatalf("first load ran vmhook %d times", n)
	}
	again := load(w.env)
	if n := count(); n != 1 {
		t.Fatalf("a load with nothing changed ran vmhook (%d runs)", n)
	}
	for k, v := range first {
		if deref(again[k]) != deref(v) {
			t.Errorf("%s: %q from the cache, %q from vmhook", k, deref(again[k]), deref(v))
		}
	}

	// test that a changed vmhook.yaml, environment, user config or flags
	// each run vmhook, which renders them
	touchNow(t, filepath.Join(w.project, "vmhook.yaml"), "cpus: 3\n")
	load(w.env)
	if n := count(); n != 2 || !strings.Contains(config(), "\ncpus: 3\n") {
		t.Fatalf("after vmhook.yaml changed: %d runs\n%s", n, config())
	}
	load(mergeEnv(w.env, []string{"VM_CPUS=2"}))
	if n := count(); n != 3 || !strings.Contains(config(), "\ncpus: 2\n") {
		t.Fatalf("after VM_CPUS changed: %d runs\n%s", n, config())
	}
	touchNow(t, filepath.Join(w.home, ".config", "vmhook", "config.yaml"), "memory: 2GiB\n")
	load(w.env)
	if n := count(); n != 4 || !strings.Contains(config(), `memory: "2GiB"`) {
		t.Fatalf("after the user config changed: %d runs\n%s", n, config())
	}
	w.write(filepath.Join(w.project, ".envrc"), "use vm --cpus 1\n")
	w.allow()
	load(w.env)
	if n := count(); n != 5 || !strings.Contains(config(), "\ncpus: 1\n") {
		t.Fatalf("after the flags changed: %d runs\n%s", n, config())
	}
	load(w.env)
	if n := count(); n != 5 {
		t.Fatalf("a load with nothing changed ran vmhook (%d runs)", n)
	}

	// test that a config regenerated by another command is noticed
	touchNow(t, filepath.Join(w.project, ".lima", "config.yaml"), config())
	load(w.env)
	if n := count(); n != 6 {
		t.Fatalf("after the config changed: %d runs", n)
	}

	// test that a change of consent (vmhook allow or deny, of any project,
	// marks it) runs vmhook again
	touchNow(t, filepath.Join(w.home, ".local", "state", "vmhook", "trust-changed"), "now\n")
	load(w.env)
	if n := count(); n != 7 {
		t.Fatalf("after vmhook deny: %d runs", n)
	}
	w.noVMCalls()
}

// TestUseVMConsent: under the real direnv, a project asking for host access
// the user has not allowed exports no VM and says so in one line with the
// command to run; vmhook allow makes direnv load it on the next prompt, and
// a later change of vmhook.yaml asks again.
func TestUseVMConsent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	yaml := filepath.Join(w.project, "vmhook.yaml")
	w.write(yaml, "sockets: [{host: /var/run/docker.sock, guest: docker.sock, env: DOCKER_HOST}]\n")
	w.allow()

	// test that nothing is exported and one line says what to run
	changes, stderr := w.export(w.env)
	if v := changes["VMHOOK_VM"]; v != nil {
		t.Errorf("VMHOOK_VM = %q without consent", *v)
	}
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "vmhook") {
			lines = append(lines, l)
		}
	}
	_, dockerShown := testkit.DockerSocket()
	want := "vmhook: " + w.project + " asks for host access you have not allowed, held back: host socket " + dockerShown + ", reachable in the guest at "
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.HasSuffix(lines[0], "run: vmhook allow --project "+w.project) {
		t.Errorf("want one line %q…, got:\n%s", want, stderr)
	}
	loaded := apply(w.env, changes)

	// test that vmhook allow reloads and exports the VM
	time.Sleep(10 * time.Millisecond)
	if _, stderr, err := w.runIn(w.project, nil, vmhookBin, "allow"); err != nil {
		t.Fatalf("vmhook allow: %v\n%s", err, stderr)
	}
	changes, stderr = w.export(loaded)
	if v := changes["VMHOOK_VM"]; v == nil || *v != w.vm {
		t.Fatalf("VMHOOK_VM = %v after vmhook allow, want %q\n%s", deref(v), w.vm, stderr)
	}
	loaded = apply(loaded, changes)

	// test that a changed vmhook.yaml asks again and unloads the VM
	touchLater(t, yaml, "sockets: [{host: /var/run/docker.sock, guest: docker.sock}]\nforwardAgent: true\n")
	changes, stderr = w.export(loaded)
	if v, ok := changes["VMHOOK_VM"]; !ok || v != nil || !strings.Contains(stderr, "changed since you allowed it") {
		t.Errorf("after vmhook.yaml changed: VMHOOK_VM %v (changed: %v)\n%s", deref(v), ok, stderr)
	}
	w.noVMCalls()
}

// touchNow writes path with the current time as its mtime: after any cache
// written before, and not in the future (a future mtime would make every
// later cache look stale).
func touchNow(t *testing.T, path, content string) {
	t.Helper()
	time.Sleep(10 * time.Millisecond)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUseVMSeesNameTaken: after another directory with the same basename
// takes the VM name (its VM is created), the next load of `use vm` exports
// the hashed name that `vmhook name` gives, not the name in its cache.
func TestUseVMSeesNameTaken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow()
	load := func() string {
		changes, stderr := w.export(w.env)
		v := changes["VMHOOK_VM"]
		if v == nil {
			t.Fatalf("VMHOOK_VM unset\n%s", stderr)
		}
		return *v
	}

	// test that the project first gets its base name, and keeps it while
	// nothing changed
	if got := load(); got != w.vm {
		t.Fatalf("VMHOOK_VM = %q, want %q", got, w.vm)
	}
	if got := load(); got != w.vm {
		t.Fatalf("VMHOOK_VM = %q from the cache, want %q", got, w.vm)
	}

	// test that once another directory's VM holds the name, use vm exports
	// what vmhook name says
	other := filepath.Join(w.root, "q", filepath.Base(w.project))
	w.write(filepath.Join(other, "vmhook.yaml"), "cpus: 1\n")
	if _, stderr, err := w.runIn(other, nil, vmhookBin, "up"); err != nil {
		t.Fatalf("vmhook up in the other directory: %v\n%s", err, stderr)
	}
	name, stderr, err := w.runIn(w.project, nil, vmhookBin, "name")
	if err != nil {
		t.Fatalf("vmhook name: %v\n%s", err, stderr)
	}
	name = strings.TrimSpace(name)
	if name == w.vm || !strings.HasPrefix(name, w.vm+"-") {
		t.Fatalf("vmhook name = %q, want %s-<hash>", name, w.vm)
	}
	if got := load(); got != name {
		t.Errorf("VMHOOK_VM = %q after %q was taken, want %q as vmhook name says", got, w.vm, name)
	}
	if got := load(); got != name {
		t.Errorf("VMHOOK_VM = %q from the cache, want %q", got, name)
	}
	killDaemons(filepath.Join(w.root, "l"))
}

// TestUseVMRecordsEnvrcSettings: under the real direnv, VM_CPUS exported by
// the .envrc before use vm is part of what use vm records, so a vmhook run
// from a shell without it (the prompt hook's, vm-shell's) renders the same
// config rather than flipping it back.
func TestUseVMRecordsEnvrcSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.write(filepath.Join(w.project, ".envrc"), "export VM_CPUS=1\nuse vm\n")
	w.allow()
	if _, stderr := w.export(w.env); !strings.Contains(stderr, "vmhook: VM "+w.vm) {
		t.Fatalf("use vm did not load:\n%s", stderr)
	}
	config := func() string {
		data, _ := os.ReadFile(filepath.Join(w.project, ".lima", "config.yaml"))
		return string(data)
	}
	if !strings.Contains(config(), "\ncpus: 1\n") {
		t.Fatalf("use vm did not render VM_CPUS=1:\n%s", config())
	}
	if _, stderr, err := w.runIn(w.project, nil, vmhookBin, "config"); err != nil {
		t.Fatalf("vmhook config: %v\n%s", err, stderr)
	}
	if !strings.Contains(config(), "\ncpus: 1\n") {
		t.Errorf("a vmhook without VM_CPUS in its env flipped the config:\n%s", config())
	}
	w.noVMCalls()
}
