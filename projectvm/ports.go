package projectvm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
	Claims map[string]portClaim `json:"claims"` // by VM name
	// free reports whether a host port can be bound now; replaced in tests.
	free func(port int) bool
}

func portRegistryPath(e Env) string { return filepath.Join(e.StateHome, "vmhook", "ports.json") }

func loadPortRegistry(e Env) (*portRegistry, error) {
	r := &portRegistry{path: portRegistryPath(e), Claims: map[string]portClaim{}, free: portFree}
	data, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read port registry: %w", err)
	}
	if err := json.Unmarshal(data, r); err != nil {
		// A corrupt registry only loses reservations; the config files keep
		// the real mapping, so start afresh rather than refuse to work.
		r.Claims = map[string]portClaim{}
	}
	if r.Claims == nil {
		r.Claims = map[string]portClaim{}
	}
	// Drop claims whose config is gone: that project was deleted or moved.
	for name, c := range r.Claims {
		if _, err := os.Stat(c.Config); err != nil {
			delete(r.Claims, name)
		}
	}
	return r, nil
}

func (r *portRegistry) save() error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return fmt.Errorf("save port registry: %w", err)
	}
	return writeFileAtomic(r.path, data, 0o644)
}

// claimedByOthers returns the host ports other VMs hold.
func (r *portRegistry) claimedByOthers(name string) map[int]string {
	out := map[int]string{}
	for n, c := range r.Claims {
		if n == name {
			continue
		}
		for _, h := range c.Ports {
			out[h] = n
		}
	}
	return out
}

// allocate maps each guest port to a host port: the previous mapping when it
// is still unclaimed by another VM; else the guest's own number when it is
// free and unclaimed; else the first free, unclaimed port of the range. The
// result is recorded as this VM's claim.
func (r *portRegistry) allocate(name, config string, guests []int, previous map[int]int) (map[int]int, error) {
	taken := r.claimedByOthers(name)
	mapping := map[int]int{}
	used := map[int]bool{}
	usable := func(h int) bool { return taken[h] == "" && !used[h] }
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
	r.Claims[name] = portClaim{Config: config, Ports: mapping}
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
