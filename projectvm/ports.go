package projectvm

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Host ports outside the guest's own number come from this range, like
// Vagrant's auto_correct.
const (
	portRangeLow  = 20000
	portRangeHigh = 29999
)

// portClaim is one VM's host ports, recorded so other projects avoid them
// even while that VM is stopped.
type portClaim struct {
	Config string      `json:"config"`
	Ports  map[int]int `json:"ports"` // guest → host
}

type portRegistry struct {
	path   string
	Claims map[string]portClaim `json:"claims"` // by config path (by VM name before)
	// inUse are the host ports vmhook's instances forward, read from the
	// instances themselves; they hold even when the registry is lost.
	inUse []portUse
	// free reports whether a host port can be bound now; replaced in tests.
	free func(port int) bool
}

// portUse is a host port forwarded by an instance of the project whose
// generated config is config.
type portUse struct {
	config string
	host   int
}

func portRegistryPath(e Env) string { return filepath.Join(e.StateHome, "vmhook", "ports.json") }

// loadPortRegistry reads the registry of claimed host ports. A registry that
// is missing, unreadable or corrupt loses only the claims of projects that
// have no VM yet: the ports of every instance vmhook created are read from
// the instance (Lima's copy of the config) and from its project's config.
func loadPortRegistry(e Env) (*portRegistry, error) {
	r := &portRegistry{path: portRegistryPath(e), Claims: map[string]portClaim{}, free: portFree}
	if data, err := os.ReadFile(r.path); err == nil {
		if json.Unmarshal(data, r) != nil || r.Claims == nil {
			r.Claims = map[string]portClaim{}
		}
	}
	// Drop claims whose config is gone: that project was deleted or moved.
	for name, c := range r.Claims {
		if _, err := os.Stat(c.Config); err != nil {
			delete(r.Claims, name)
		}
	}
	r.inUse = portsInUse(e)
	return r, nil
}

// portsInUse returns the host ports forwarded by the instances vmhook
// created under LIMA_HOME, each with the config of the project that owns it.
func portsInUse(e Env) []portUse {
	entries, err := os.ReadDir(e.LimaHome)
	if err != nil {
		return nil
	}
	var out []portUse
	for _, ent := range entries {
		name := ent.Name()
		if !ent.IsDir() || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue
		}
		inst := e.InstanceDir(name)
		if _, err := os.Stat(filepath.Join(inst, "lima.yaml")); err != nil {
			continue
		}
		owner, _, err := ownerOf(e, name)
		if err != nil || owner == "" {
			continue
		}
		config := filepath.Join(owner, ".lima", "config.yaml")
		if strings.HasPrefix(owner, "vm:") {
			config = filepath.Join(e.StateHome, "vmhook", "vms", name, "lima.yaml")
		}
		for _, f := range []string{filepath.Join(inst, "lima.yaml"), config} {
			m, _ := PortMapping(f)
			for _, h := range m {
				out = append(out, portUse{config: config, host: h})
			}
		}
	}
	return out
}

func (r *portRegistry) save() error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return fmt.Errorf("save port registry: %w", err)
	}
	if err := writeFileAtomic(r.path, data, 0o644); err != nil {
		return fmt.Errorf("save port registry: %w", err)
	}
	return nil
}

// claimedByOthers returns the host ports held by projects other than the
// one whose config is config: their claims and their VMs' forwards. A
// project is told apart by its config, not its VM name, which two projects
// may both have rendered before one of them moved to its hashed name.
func (r *portRegistry) claimedByOthers(config string) map[int]bool {
	out := map[int]bool{}
	for _, c := range r.Claims {
		if c.Config == config {
			continue
		}
		for _, h := range c.Ports {
			out[h] = true
		}
	}
	for _, u := range r.inUse {
		if u.config != config {
			out[u.host] = true
		}
	}
	return out
}

// allocate maps each guest port to a host port: the previous mapping when it
// is still unclaimed by another VM; else the guest's own number when it is
// free and unclaimed; else the first free, unclaimed port of the range. The
// result is recorded as the claim of the project whose config is config.
func (r *portRegistry) allocate(name, config string, guests []int, previous map[int]int) (map[int]int, error) {
	taken := r.claimedByOthers(config)
	mapping := map[int]int{}
	used := map[int]bool{}
	usable := func(h int) bool { return !taken[h] && !used[h] }
	sorted := append([]int(nil), guests...)
	sort.Ints(sorted)
	// Keep what this VM had first, so running VMs keep their ports.
	var fresh []int
	for _, g := range sorted {
		if h, ok := previous[g]; ok && usable(h) {
			mapping[g], used[h] = h, true
			continue
		}
		fresh = append(fresh, g)
	}
	next := portRangeLow
	for _, g := range fresh {
		if g >= 1024 && usable(g) && r.free(g) {
			mapping[g], used[g] = g, true
			continue
		}
		for ; next <= portRangeHigh; next++ {
			if usable(next) && r.free(next) {
				mapping[g], used[next] = next, true
				next++
				break
			}
		}
		if mapping[g] == 0 {
			return nil, fmt.Errorf("no free host port for guest port %d in %d-%d; stop other VMs or free a port", g, portRangeLow, portRangeHigh)
		}
	}
	// Claims are kept by the project's config, not the VM name, which
	// same-basename projects share until one of them creates its VM.
	for n, c := range r.Claims {
		if c.Config == config && n != config {
			delete(r.Claims, n) // this project's claim under an earlier key
		}
	}
	r.Claims[config] = portClaim{Config: config, Ports: mapping}
	// An allocation that is not recorded could be handed out again, so it
	// fails with the save. (A registry without a path lives in memory.)
	if r.path != "" {
		if err := r.save(); err != nil {
			return nil, fmt.Errorf("%w; free some disk space and try again", err)
		}
	}
	return mapping, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
