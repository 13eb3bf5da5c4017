package projectvm

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"
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
	os.Rename(r.path, e.portRegistry())
	loaded, err := loadPortRegistry(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loaded.Claims["c"]; ok {
		t.Fatal("stale claim kept")
	}
	if !reflect.DeepEqual(loaded.Claims[cfgA].Ports, a) {
		t.Fatalf("claims not saved: %v", loaded.Claims)
	}
}

func TestAllocatePortsExhausted(t *testing.T) {
	r := &portRegistry{Claims: map[string]portClaim{}, free: func(int) bool { return false }}
	if _, err := r.allocate("a", "x", []int{3000}, nil); err == nil {
		t.Fatal("allocated a port with none free")
	}
}

// TestPortRegistryLost makes sure a registry that is deleted, empty,
// unreadable or cannot be saved never lets a project take the host port of
// a VM vmhook created: the ports in use are read from the instances and
// their configs.
func TestPortRegistryLost(t *testing.T) {
	setup := func(t *testing.T) (Env, string) {
		root := t.TempDir()
		e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
		// Project a's VM forwards 3000 (its config) and 4000 (the copy Lima
		// holds, from before a change not applied yet).
		a := filepath.Join(root, "a")
		cfg := "portForwards:\n- guestPort: 3000\n  hostPort: 3000\n  hostIP: \"127.0.0.1\"\n"
		os.MkdirAll(filepath.Join(a, ".lima"), 0o755)
		os.WriteFile(filepath.Join(a, ".lima", "config.yaml"), []byte(cfg), 0o644)
		inst := e.InstanceDir("a-dev")
		os.MkdirAll(inst, 0o755)
		os.WriteFile(filepath.Join(inst, "lima.yaml"), []byte("portForwards:\n- guestPort: 4000\n  hostPort: 4000\n"), 0o644)
		if err := WriteOwner(inst, ProjectOwner(a)); err != nil {
			t.Fatal(err)
		}
		// An instance vmhook did not create is not read.
		os.MkdirAll(e.InstanceDir("other"), 0o755)
		os.WriteFile(filepath.Join(e.InstanceDir("other"), "lima.yaml"), []byte("portForwards:\n- guestPort: 5000\n  hostPort: 5000\n"), 0o644)
		os.MkdirAll(filepath.Dir(e.portRegistry()), 0o755)
		return e, filepath.Join(root, "b", ".lima", "config.yaml")
	}
	for _, tc := range []struct {
		name  string
		spoil func(path string)
	}{
		{"deleted", func(p string) { os.Remove(p) }},
		{"empty", func(p string) { os.WriteFile(p, nil, 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, cfgB := setup(t)
			tc.spoil(e.portRegistry())
			r, err := loadPortRegistry(e)
			if err != nil {
				t.Fatal(err)
			}
			r.free = func(int) bool { return true }
			got, err := r.allocate("b-dev", cfgB, []int{3000, 4000, 5000}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got[3000] == 3000 || got[4000] == 4000 {
				t.Fatalf("b was given a port a's VM uses: %v", got)
			}
			if got[5000] != 5000 {
				t.Fatalf("a port held by no vmhook VM was not given: %v", got)
			}
			// The allocation was saved: the registry is whole again (its
			// claim counts once the config is written).
			os.MkdirAll(filepath.Dir(cfgB), 0o755)
			os.WriteFile(cfgB, nil, 0o644)
			again, err := loadPortRegistry(e)
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := again.Claims[cfgB]; !ok || !reflect.DeepEqual(c.Ports, got) {
				t.Fatalf("allocation not saved: %v", again.Claims)
			}
		})
	}
	t.Run("unsavable", func(t *testing.T) {
		e, cfgB := setup(t)
		os.Remove(e.portRegistry())
		os.Mkdir(e.portRegistry(), 0o755) // rename over it fails, even as root
		r, err := loadPortRegistry(e)
		if err == nil {
			t.Fatal("a directory was read as a registry")
		}
		r.free = func(int) bool { return true }
		if got, err := r.allocate("b-dev", cfgB, []int{3000}, nil); err == nil {
			t.Fatalf("allocation succeeded without being saved: %v", got)
		}
	})
	// A registry vmhook cannot read is refused with the fix and left as it
	// is; the registry returned with the error still knows the ports in use.
	for _, tc := range []struct {
		name, what string
		spoil      func(path string) error
	}{
		{"corrupt", "is not valid JSON (unexpected end of JSON input)", func(p string) error {
			return os.WriteFile(p, []byte(`{"claims": {"a-dev": `), 0o644)
		}},
		{"other shape", "is not in vmhook's format", func(p string) error {
			return os.WriteFile(p, []byte(`{"claims": 7}`), 0o644)
		}},
		{"too large", "is larger than 4 MiB", func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("{"), maxPortRegistry+1), 0o644)
		}},
		{"directory", "is a directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"fifo", "is a named pipe (FIFO)", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			e, cfgB := setup(t)
			if err := tc.spoil(e.portRegistry()); err != nil {
				t.Skip(err)
			}
			before, _ := os.Lstat(e.portRegistry())
			done := make(chan struct{})
			var r *portRegistry
			var err error
			go func() { r, err = loadPortRegistry(e); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("blocked reading the registry")
			}
			want := "port registry " + e.portRegistry() + " " + tc.what + "; remove it (vmhook rebuilds it from its VMs) and run the command again"
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
			if taken := r.claimedByOthers(cfgB); !taken[3000] || !taken[4000] {
				t.Fatalf("ports in use lost with the registry: %v", taken)
			}
			after, _ := os.Lstat(e.portRegistry())
			if !os.SameFile(before, after) || before.Size() != after.Size() {
				t.Fatal("the registry was changed")
			}
		})
	}
	t.Run("same name, other project", func(t *testing.T) {
		// Two projects that both rendered a config for a-dev (before one
		// moved to its hashed name) do not share a's ports.
		e, cfgB := setup(t)
		r, _ := loadPortRegistry(e)
		r.free = func(int) bool { return true }
		got, err := r.allocate("a-dev", cfgB, []int{3000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got[3000] == 3000 {
			t.Fatalf("b took a's port under a's name: %v", got)
		}
	})
}

// TestPortClaimsByProject: same-basename projects render under one VM name
// until one creates its VM; the claim of one must not replace another's.
func TestPortClaimsByProject(t *testing.T) {
	dir := t.TempDir()
	r := &portRegistry{Claims: map[string]portClaim{}, free: func(int) bool { return true }}
	var got []int
	for _, p := range []string{"b", "c", "a"} {
		m, err := r.allocate("app-dev", filepath.Join(dir, p, "app", ".lima", "config.yaml"), []int{3000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m[3000])
	}
	if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
		t.Fatalf("same-basename projects share a host port: %v", got)
	}
}

// TestPortsLine: where a VM's guest ports went is one line, grouped by why,
// starting with the lowest guest port as "guest G → localhost:H".
func TestPortsLine(t *testing.T) {
	root := t.TempDir()
	e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
	cfgA, cfgB := filepath.Join(root, "a.yaml"), filepath.Join(root, "b.yaml")
	for _, f := range []string{cfgA, cfgB} {
		os.WriteFile(f, nil, 0o644)
	}
	os.MkdirAll(filepath.Dir(e.portRegistry()), 0o755)
	r := &portRegistry{path: e.portRegistry(), Claims: map[string]portClaim{
		cfgA: {Name: "a-dev", Config: cfgA, Ports: map[int]int{3000: 3000, 5173: 5173}},
		// 8080 is held by no VM (a listener on the host), 80 is
		// privileged, 4000 is back at its own number.
		cfgB: {Name: "b-dev", Config: cfgB, Ports: map[int]int{80: 20003, 3000: 20000, 4000: 4000, 5173: 20001, 8080: 20002, 8888: 8888}},
	}}
	if err := r.save(); err != nil {
		t.Fatal(err)
	}
	p := &Project{Name: "b-dev", ConfigPath: cfgB}
	for _, tc := range []struct {
		name string
		was  map[int]int
		want string
	}{
		{"moved", nil, "b-dev: guest 80 → localhost:20003 (privileged on the host); 3000 → 20000, 5173 → 20001 (taken by a-dev); 8080 → 20002 (in use on the host)"},
		{"moved back", map[int]int{4000: 20004, 8888: 8888}, "b-dev: guest 80 → localhost:20003 (privileged on the host); 3000 → 20000, 5173 → 20001 (taken by a-dev); 4000 → 4000 (free again); 8080 → 20002 (in use on the host)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := portsLine(e, p, tc.was); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	// Every port at its own number, as before: nothing to say.
	if got := portsLine(e, &Project{Name: "a-dev", ConfigPath: cfgA}, nil); got != "" {
		t.Errorf("a-dev: %q, want nothing", got)
	}
}
