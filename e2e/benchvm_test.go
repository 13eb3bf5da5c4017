package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestBenchVM measures entry into a real VM against bare Lima, in one run
// and alternating, so that both sides see the same machine load: bare
// `limactl shell NAME` vs `vm-shell` vs `cd` into a vm-minimal project (each
// to the guest's prompt, typed in zsh through tmux), `vmhook shell -- true`
// vs `limactl shell NAME -- true`, and a cold `vmhook up` vs a bare
// `limactl start` of the same generated config. It is a benchmark, not a
// test: it asserts nothing about the numbers and runs only when
// VMHOOK_BENCH_VM is set (`just bench-vm`), writing its table to
// VMHOOK_BENCH_VM_RESULTS (bench/results/vm.md) when set.
func TestBenchVM(t *testing.T) {
	if os.Getenv("VMHOOK_BENCH_VM") == "" {
		t.Skip("real-VM benchmark skipped: run just bench-vm (sets VMHOOK_BENCH_VM)")
	}
	rounds := 10
	if n, err := strconv.Atoi(os.Getenv("VMHOOK_BENCH_VM_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	all := limatest.Installed()
	if len(all) == 0 {
		t.Skip("real-VM benchmark skipped: real limactl not installed: run scripts/install-lima.sh both")
	}
	h := newHarness(t, all[0])
	main := h.pane("main")
	errFile := filepath.Join(h.root, "new.err")
	if got := h.marker(main, "vmhook new --template vm-minimal bench >/dev/null 2>"+shq(errFile)+"; echo rc=$?", 60*time.Second); got != "rc=0" {
		msg, _ := os.ReadFile(errFile)
		t.Fatalf("vmhook new: %s\n%s", got, msg)
	}
	dir := filepath.Join(h.projects, "bench")
	if err := os.WriteFile(filepath.Join(dir, "vmhook.yaml"), []byte("cpus: 1\nmemory: 1GiB\ndisk: 4GiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.chownAll()
	name := h.vmName(dir)
	m := map[string][]time.Duration{}
	add := func(k string, d time.Duration) { m[k] = append(m[k], d); h.t.Logf("%s: %.3fs", k, d.Seconds()) }

	// Cold: vmhook up (create + start from the generated config) against a
	// bare limactl start of a copy of that same config under another name.
	h.run("vmhook", "config", "--project", dir)
	bareCfg := filepath.Join(h.root, "bare.yaml")
	data, err := os.ReadFile(filepath.Join(dir, ".lima", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bareCfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h.chownAll()
	coldRounds := 1
	if n, err := strconv.Atoi(os.Getenv("VMHOOK_BENCH_VM_COLD")); err == nil && n > 0 {
		coldRounds = n
	}
	for i := 0; i < coldRounds; i++ {
		start := time.Now()
		h.run("vmhook", "up", "--project", dir)
		add("cold: vmhook up", time.Since(start))
		h.run("vmhook", "destroy", "--yes", "--project", dir)
		start = time.Now()
		h.run("limactl", "start", "--name", "bare", "--tty=false", bareCfg)
		add("cold: limactl start (same config)", time.Since(start))
		h.run("limactl", "delete", "--force", "bare")
	}
	h.run("vmhook", "up", "--project", dir)

	// Warm entry, alternating.
	h.send(main, "cd bench && direnv allow")
	h.waitPane(main, guestPrompt(name), bootTimeout)
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	enter := func(key, line string) {
		h.clear(main)
		start := time.Now()
		h.send(main, line)
		h.waitPane(main, guestPrompt(name), 60*time.Second)
		add(key, time.Since(start))
		h.send(main, "exit")
		h.waitPane(main, `host%\s*$`, 30*time.Second)
	}
	// A prompt is seen when the pane is next looked at: at 100 ms, entries
	// of 0.6 s differed by a sixth for one look more or less.
	h.poll = 10 * time.Millisecond
	for i := 0; i < rounds; i++ {
		enter("bare: limactl shell NAME → prompt", "limactl shell "+name)
		enter("vm-shell → prompt", "vm-shell")
		h.send(main, "cd ..")
		h.waitPane(main, `host%\s*$`, 30*time.Second)
		enter("cd → prompt (vm-minimal)", "cd bench")
		start := time.Now()
		h.run("limactl", "shell", name, "--", "true")
		add("bare: limactl shell NAME -- true", time.Since(start))
		start = time.Now()
		h.run("vmhook", "shell", "--project", dir, "--", "true")
		add("vmhook shell -- true", time.Since(start))
	}

	median := func(k string) float64 {
		s := slices.Clone(m[k])
		if len(s) == 0 {
			return 0
		}
		slices.Sort(s)
		return s[len(s)/2].Seconds()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# vmhook entry against bare Lima, real VM\n\nLima %s, QEMU (TCG), %d CPUs, %d warm rounds and %d cold, alternating; "+
		"written by `just bench-vm` on %s. Medians in seconds; the ratio is vmhook's over bare Lima's in the same run.\n\n"+
		"| measure | vmhook | bare Lima | ratio | target |\n|---|---:|---:|---:|---:|\n",
		h.lima.Version, runtime.NumCPU(), rounds, coldRounds, time.Now().UTC().Format("2006-01-02"))
	row := func(what, ours, bare, target string) {
		o, r := median(ours), median(bare)
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.2fx | %s |\n", what, o, r, o/r, target)
	}
	row("`vm-shell` → prompt", "vm-shell → prompt", "bare: limactl shell NAME → prompt", "≤ 1.05x")
	row("`cd` → prompt (vm-minimal)", "cd → prompt (vm-minimal)", "bare: limactl shell NAME → prompt", "≤ 1.10x")
	row("`vmhook shell -- true`", "vmhook shell -- true", "bare: limactl shell NAME -- true", "")
	row("cold `vmhook up`", "cold: vmhook up", "cold: limactl start (same config)", "≤ 1.05x")
	t.Log("\n" + b.String())
	if out := os.Getenv("VMHOOK_BENCH_VM_RESULTS"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
