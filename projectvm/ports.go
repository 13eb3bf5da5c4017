package projectvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
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
	Name   string      `json:"name,omitempty"` // the VM's, to say who holds a port
	Config string      `json:"config"`
	Ports  map[int]int `json:"ports"` // guest → host
}

type portRegistry struct {
	path   string
	Claims map[string]portClaim `json:"claims"` // by config path (by VM name before)
	// inUse are the host ports vmhook's instances forward, read from the
	// instances themselves; they hold even when the registry is lost. They
	// are read on first use (uses): that means parsing every instance's
	// config, which entering a running VM whose ports are where they were
	// claimed never needs.
	inUse     []portUse
	readInUse func() []portUse
	// free reports whether a host port can be bound now; replaced in tests.
	free func(port int) bool
}

// portUse is a host port forwarded by an instance of the project whose
// generated config is config.
type portUse struct {
	name, config string
	guest, host  int
}

// maxPortRegistry bounds what is read of the registry; thousands of
// projects' claims fit in far less.
const maxPortRegistry = 4 << 20

// loadPortRegistry reads the registry of claimed host ports. A registry that
// is missing or empty loses only the claims of projects that have no VM yet:
// the ports of every instance vmhook created are read from the instance
// (Lima's copy of the config) and from its project's config. One that cannot
// be read is an error that says to remove it, as saving over it would drop
// what it holds; the registry returned with the error still knows the ports
// in use, for callers that only show them.
func loadPortRegistry(e Env) (*portRegistry, error) {
	r, err := readPortRegistry(e)
	// Drop claims whose config is gone: that project was deleted or moved.
	for name, c := range r.Claims {
		if _, err := os.Stat(c.Config); err != nil {
			delete(r.Claims, name)
		}
	}
	r.readInUse = func() []portUse { return portsInUse(e) }
	return r, err
}

// readPortRegistry reads the registry file as it is, every claim kept. The
// file is opened without waiting, so a FIFO there fails instead of hanging
// the prompt; on an error the registry returned has no claims.
func readPortRegistry(e Env) (*portRegistry, error) {
	r := &portRegistry{path: e.portRegistry(), Claims: map[string]portClaim{}, free: portFree}
	bad := func(what string) error {
		return fmt.Errorf("port registry %s %s; remove it (vmhook rebuilds it from its VMs) and run the command again", quoteArg(r.path), what)
	}
	f, err := os.OpenFile(r.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("read port registry: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return r, fmt.Errorf("read port registry: %w", err)
	} else if !fi.Mode().IsRegular() {
		return r, bad("is " + fileKind(fi.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPortRegistry+1))
	if err != nil {
		return r, fmt.Errorf("read port registry: %w", err)
	}
	if len(data) > maxPortRegistry {
		return r, bad("is larger than 4 MiB")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(data, r); err != nil {
		r.Claims = map[string]portClaim{}
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return r, bad(fmt.Sprintf("is not valid JSON (%v)", err))
		}
		return r, bad("is not in vmhook's format")
	}
	if r.Claims == nil {
		r.Claims = map[string]portClaim{}
	}
	return r, nil
}

// instanceNames are the directories under LIMA_HOME that may be instances:
// Lima's own (_config, _disks…) and hidden ones left out.
func instanceNames(e Env) []string {
	entries, _ := os.ReadDir(e.LimaHome)
	var names []string
	for _, ent := range entries {
		if name := ent.Name(); ent.IsDir() && !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	return names
}

// uses returns inUse, reading the instances the first time.
func (r *portRegistry) uses() []portUse {
	if r.readInUse != nil {
		r.inUse, r.readInUse = r.readInUse(), nil
	}
	return r.inUse
}

// portsInUse returns the host ports forwarded by the instances vmhook
// created under LIMA_HOME, each with the config of the project that owns it.
// It is how the registry is rebuilt when it was lost: from Lima's copy of
// each instance's config, and from the config its project would create it
// from next.
func portsInUse(e Env) []portUse {
	var out []portUse
	for _, name := range instanceNames(e) {
		if _, err := os.Stat(e.instanceFile(name, limaYAML)); err != nil {
			continue
		}
		owner, _, err := ownerOf(e, name)
		if err != nil || owner.IsZero() {
			continue
		}
		config := owner.config(e, name)
		for _, f := range []string{e.instanceFile(name, limaYAML), config} {
			for g, h := range limaForwards(f) {
				out = append(out, portUse{name: name, config: config, guest: g, host: h})
			}
		}
	}
	return out
}

// limaForwards reads the guest→host port forwards of a Lima config: to
// rebuild the registry, and to check a config before Lima is given it.
// What vmhook shows and keeps is the registry's.
func limaForwards(path string) map[int]int {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc struct {
		PortForwards []struct {
			GuestPort int `yaml:"guestPort"`
			HostPort  int `yaml:"hostPort"`
		} `yaml:"portForwards"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	m := map[int]int{}
	for _, pf := range doc.PortForwards {
		if pf.GuestPort > 0 && pf.HostPort > 0 {
			m[pf.GuestPort] = pf.HostPort
		}
	}
	return m
}

// mapping is the guest→host mapping given to the VM name of the project
// whose config is config: its claim, else (the registry was lost) what its
// instance forwards.
func (r *portRegistry) mapping(name, config string) map[int]int {
	if c, ok := r.Claims[name]; ok && c.Config == config {
		return c.Ports
	}
	for _, c := range r.Claims {
		if c.Config == config {
			return c.Ports
		}
	}
	var out map[int]int
	for _, u := range r.uses() {
		if u.config == config {
			if out == nil {
				out = map[int]int{}
			}
			out[u.guest] = u.host
		}
	}
	return out
}

// clash returns a host port that the config Lima is about to create a VM
// from forwards while another vmhook VM forwards it too, or 0. The file is
// read as Lima will read it: it may have been edited by hand, or rendered
// before the registry was lost and the port given to another project.
func (r *portRegistry) clash(config string) int {
	hosts := map[int]bool{}
	for _, h := range limaForwards(config) {
		hosts[h] = true
	}
	for _, u := range r.uses() {
		if u.config != config && hosts[u.host] {
			return u.host
		}
	}
	return 0
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
	for _, u := range r.uses() {
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
	r.Claims[config] = portClaim{Name: name, Config: config, Ports: mapping}
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

// releasePorts drops the claim of the project whose config is config, once
// its VM is gone: its host ports go to whoever needs them next, and the
// project gets its preferred ports again when they are free at its next up.
func releasePorts(ctx context.Context, e Env, config string) error {
	return withLock(ctx, e.portsLock(), nil, func() error {
		reg, err := loadPortRegistry(e)
		if err != nil {
			return err
		}
		n := len(reg.Claims)
		for k, c := range reg.Claims {
			if c.Config == config {
				delete(reg.Claims, k)
			}
		}
		if n == len(reg.Claims) {
			return nil
		}
		return reg.save()
	})
}

// holder names the VM of another project than config's that holds host
// port h, or "" when none does.
func (r *portRegistry) holder(config string, h int) string {
	for _, u := range r.uses() {
		if u.config != config && u.host == h {
			return u.name
		}
	}
	for _, c := range r.Claims {
		if c.Config == config {
			continue
		}
		for _, ch := range c.Ports {
			if ch == h {
				if c.Name != "" {
					return c.Name
				}
				return "another project"
			}
		}
	}
	return ""
}

// portsLine is the one line said when p's VM has started that tells where
// its guest ports went: each one not at its own host port, and each one
// back at it since was (the mapping before this start, nil when it did not
// change), grouped by why, as in
//
//	b-dev: guest 3000 → localhost:20000, 5173 → 20001 (taken by a-dev); 8080 → 20002 (in use on the host)
//
// It is "" when every port is where it was, at its own number.
func portsLine(e Env, p *Project, was map[int]int) string {
	reg, err := loadPortRegistry(e)
	if err != nil {
		return ""
	}
	mp := reg.mapping(p.Name, p.ConfigPath)
	var whys []string
	groups := map[string][]string{}
	for _, g := range SortedPorts(mp) {
		h := mp[g]
		var why string
		switch {
		case h == g && was[g] != 0 && was[g] != g:
			why = "free again"
		case h == g:
			continue
		case g < 1024:
			why = "privileged on the host"
		case reg.holder(p.ConfigPath, g) != "":
			why = "taken by " + reg.holder(p.ConfigPath, g)
		default:
			why = "in use on the host"
		}
		pair := fmt.Sprintf("%d → %d", g, h)
		if len(whys) == 0 {
			pair = fmt.Sprintf("guest %d → localhost:%d", g, h)
		}
		if _, ok := groups[why]; !ok {
			whys = append(whys, why)
		}
		groups[why] = append(groups[why], pair)
	}
	if len(whys) == 0 {
		return ""
	}
	parts := make([]string, len(whys))
	for i, why := range whys {
		parts[i] = strings.Join(groups[why], ", ") + " (" + why + ")"
	}
	return p.Name + ": " + strings.Join(parts, "; ")
}
