package projectvm

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestAllocatePorts(t *testing.T) {
	dir := t.TempDir()
	cfgA, cfgB, cfgC := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, f := range []string{cfgA, cfgB, cfgC} {
		os.WriteFile(f, nil, 0o644)
	}
	busy := map[int]bool{5432: true, portRangeLow: true}
	r := &portRegistry{Claims: map[string]portClaim{}, free: func(p int) bool { return !busy[p] }}

	a, err := r.allocate("a", cfgA, []int{3000, 5432, 80}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3000 is free: same number; 5432 has a listener and 80 is privileged:
	// both from the range in guest-port order, skipping its busy first port.
	want := map[int]int{3000: 3000, 80: portRangeLow + 1, 5432: portRangeLow + 2}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("a: %v, want %v", a, want)
	}
	b, _ := r.allocate("b", cfgB, []int{3000}, nil)
	if b[3000] == 3000 || b[3000] == a[5432] || b[3000] == a[80] {
		t.Fatalf("b collides with a: %v vs %v", b, a)
	}
	// Re-rendering a keeps its ports, even though 3000 is now bound by a's
	// own running VM.
	busy[3000] = true
	again, _ := r.allocate("a", cfgA, []int{3000, 5432, 80}, a)
	if !reflect.DeepEqual(again, a) {
		t.Fatalf("a moved: %v -> %v", a, again)
	}
	// A claim whose config is gone is dropped on load.
	r.Claims["c"] = portClaim{Config: filepath.Join(dir, "gone"), Ports: map[int]int{4000: 4000}}
	r.path = filepath.Join(dir, "ports.json")
	if err := r.save(); err != nil {
		t.Fatal(err)
	}
	e := Env{StateHome: dir}
	os.MkdirAll(filepath.Join(dir, "vmhook"), 0o755)
	os.Rename(r.path, portRegistryPath(e))
	loaded, err := loadPortRegistry(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loaded.Claims["c"]; ok {
		t.Fatal("stale claim kept")
	}
	if !reflect.DeepEqual(loaded.Claims["a"].Ports, a) {
		t.Fatalf("claims not saved: %v", loaded.Claims)
	}
}

func TestAllocatePortsExhausted(t *testing.T) {
	r := &portRegistry{Claims: map[string]portClaim{}, free: func(int) bool { return false }}
	if _, err := r.allocate("a", "x", []int{3000}, nil); err == nil {
		t.Fatal("allocated a port with none free")
	}
}
