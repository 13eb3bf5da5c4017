package projectvm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Instance is a VM as vmhook sees it, read from the instance directory and
// vmhook's own records by Inspect (as Lima's store.Inspect reads its own),
// without running limactl.
type Instance struct {
	Name string
	// Dir is Lima's instance directory.
	Dir   string
	State State
	// Owner is who holds the name: the instance's owner record, else
	// vmhook's reservation of the name; zero when neither exists.
	Owner Owner
	// Recorded is set when the owner comes from the instance's record
	// rather than from the reservation alone.
	Recorded bool
	// Config is the generated config the VM is made from.
	Config string
	// Ports are the host ports the VM's forwards use, from the registry.
	Ports []PortMap
	// Drift says how Config differs from what the VM runs with.
	Drift Drift
}

// PortMap is one forwarded port.
type PortMap struct {
	Guest int `json:"guest"`
	Host  int `json:"host"`
}

// Inspect reads instance name. Its config is config, or (when config is
// empty) that of the recorded owner. A broken VM whose lock a vmhook start
// holds is Starting.
func (m *Manager) Inspect(name, config string) (Instance, error) {
	reg, _ := loadPortRegistry(m.Env)
	return m.inspect(name, config, reg)
}

// inspect is Inspect with the port registry read already (List reads it
// once for every instance).
func (m *Manager) inspect(name, config string, reg *portRegistry) (Instance, error) {
	in := Instance{Name: name, Dir: m.Env.InstanceDir(name), State: m.State(name)}
	owner, _, err := ownerOf(m.Env, name)
	if err != nil {
		return in, err
	}
	in.Owner = owner
	if rec, err := ReadOwner(in.Dir); err == nil && !rec.IsZero() {
		in.Recorded = true
	}
	in.Config = config
	if in.Config == "" && !owner.IsZero() {
		in.Config = owner.config(m.Env, name)
	}
	in.Ports = reg.ports(name, in.Config)
	if in.State != Absent {
		in.Drift = m.drift(in.Dir, in.Config)
	}
	return in, nil
}

// ports returns the host ports of the VM name made from config, in the
// order of their guest ports.
func (r *portRegistry) ports(name, config string) []PortMap {
	if r == nil {
		return nil
	}
	mp := r.mapping(name, config)
	var out []PortMap
	for _, g := range SortedPorts(mp) {
		out = append(out, PortMap{Guest: g, Host: mp[g]})
	}
	return out
}

// owns reports whether the instance is p's (or there is no instance).
func (in Instance) owns(p *Project) error {
	if in.State == Absent {
		return nil
	}
	// The reservation counts too: it precedes the owner record, which can
	// only be written after limactl create.
	if in.Owner == p.Owner() {
		return nil
	}
	what := in.Owner.describe()
	switch {
	case !p.Named:
		return notOwned("VM %q is %s; vmhook will not touch it", p.Name, what)
	case in.Owner.IsZero():
		return notOwned("VM %q is %s; vmhook adopt --vm %s takes it over, or rename %q for a VM of its own", p.Name, what, p.Name, p.SettingsPath)
	case in.Owner.Named():
		return notOwned("VM %q is %s, not in %q; vmhook will not touch it (vmhook release --vm %s, run with that definition, hands it over; or rename %q for a VM of its own)", p.Name, what, p.SettingsPath, p.Name, p.SettingsPath)
	}
	return notOwned("VM %q is %s; reach it with --project %s instead of --vm, or rename %q for a named VM of its own", p.Name, what, quoteArg(in.Owner.Dir), p.SettingsPath)
}

// Drift says how the project's config differs from what its VM runs with.
type Drift struct {
	Changed bool
	// NeedsRecreate lists fields (disk, images, vmType, arch) that only a
	// destroy and up can change.
	NeedsRecreate []string
	// Restart names what changed that Lima reads only when the VM starts
	// (forwarded ports, file events), so applying it restarts the VM.
	Restart []string
}

// restartFields are the Lima fields, and how drift names them, that a
// running VM picks up only at its next start.
var restartFields = []struct{ key, what string }{
	{"portForwards", "forwarded ports"},
	{"mountInotify", "file events from the host"},
}

// Describe is a short human description.
func (d Drift) Describe() string {
	if !d.Changed {
		return "config matches the VM"
	}
	if len(d.NeedsRecreate) > 0 {
		return "config changed since the VM was created (" + strings.Join(d.NeedsRecreate, ", ") + " only a new VM can change)"
	}
	if len(d.Restart) > 0 {
		return "config changed since the VM was created (" + strings.Join(d.Restart, " and ") + " too, which only a restart applies)"
	}
	return "config changed since the VM was created"
}

// Fix is the command that brings the VM up to its config: up --apply for
// what apply can change, a new VM for disk, images, vmType or arch (which
// apply refuses).
func (d Drift) Fix() string {
	switch {
	case !d.Changed:
		return ""
	case len(d.NeedsRecreate) > 0:
		return "vmhook destroy && vmhook up (the VM's disk is lost)"
	}
	return "vmhook up --apply"
}

// Line is the one line that tells the user, where they are, that the VM
// named name runs behind its config and what to run.
func (d Drift) Line(name string) string {
	if !d.Changed {
		return ""
	}
	return fmt.Sprintf("%s: %s; run %s", name, d.Describe(), d.Fix())
}

func fileHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

// drift compares the generated config with the instance's copy.
func (m *Manager) drift(instDir, config string) Drift {
	applied, err := os.ReadFile(filepath.Join(instDir, appliedFile))
	if err != nil {
		return Drift{}
	}
	h, err := fileHash(config)
	if err != nil {
		return Drift{}
	}
	if strings.TrimSpace(string(applied)) == h {
		return Drift{}
	}
	d := Drift{Changed: true}
	var now, then map[string]any
	if b, err := os.ReadFile(config); err == nil {
		_ = yaml.Unmarshal(b, &now)
	}
	if b, err := os.ReadFile(filepath.Join(instDir, limaYAML)); err == nil {
		_ = yaml.Unmarshal(b, &then)
	}
	// A config rendered again from other inputs (a user setting that
	// changes no field, such as allowMounts) asks the VM for nothing new.
	if now != nil && reflect.DeepEqual(now, then) {
		return Drift{}
	}
	for _, f := range restartFields {
		a, b := now[f.key], then[f.key]
		if f.key == "mountInotify" {
			// Unset is Lima's default, off.
			a, b = a == true, b == true
		}
		if !reflect.DeepEqual(a, b) {
			d.Restart = append(d.Restart, f.what)
		}
	}
	now, then = m.recreateFields(now), m.recreateFields(then)
	for _, k := range []string{"arch", "disk", "images", "vmType"} {
		if !reflect.DeepEqual(now[k], then[k]) {
			d.NeedsRecreate = append(d.NeedsRecreate, k)
		}
	}
	return d
}

// recreateFields are the fields of a Lima config that only a recreate
// changes, as Lima reads them: an unset arch, vmType or disk is Lima's
// default, and of the images only the one for the VM's arch is used. An
// adopted instance's own lima.yaml, written for plain limactl, then
// compares with vmhook's.
func (m *Manager) recreateFields(cfg map[string]any) map[string]any {
	out := map[string]any{"arch": cfg["arch"], "disk": cfg["disk"], "vmType": cfg["vmType"]}
	if a, _ := out["arch"].(string); a == "" || a == "default" {
		out["arch"] = limaArch(m.Env.Host.Arch)
	}
	if out["disk"] == nil {
		out["disk"] = "100GiB"
	}
	if v, _ := out["vmType"].(string); v == "" || v == "default" {
		out["vmType"] = "qemu"
		if m.Env.Host.OS == "darwin" {
			out["vmType"] = "vz"
		}
	}
	arch, _ := out["arch"].(string)
	if img, ok := pickImage(cfg["images"], arch); ok {
		out["images"] = img
	}
	return out
}

// Drift compares the project's generated config with its instance's copy.
func (m *Manager) Drift(p *Project) (Drift, error) {
	return m.drift(m.Env.InstanceDir(p.Name), p.ConfigPath), nil
}

// Info is what status and list report about one VM.
type Info struct {
	Name     string    `json:"name"`
	Project  Owner     `json:"project"`
	State    State     `json:"status"`
	Config   string    `json:"config"`
	Ports    []PortMap `json:"ports"`
	Drift    string    `json:"drift,omitempty"`
	HandEdit bool      `json:"configHandEdited,omitempty"`
	Recreate []string  `json:"needsRecreate,omitempty"`
	// Fix is the command that applies the drift.
	Fix      string `json:"fix,omitempty"`
	Instance string `json:"instanceDir"`
	// NotOurs says why an existing instance of this name is not the
	// project's (another owner, or none: Lima's own); vmhook leaves it
	// alone.
	NotOurs string `json:"notOurs,omitempty"`
	// Data is a named VM's data disk, when it has one or its definition
	// asks for one.
	Data *DataDiskState `json:"data,omitempty"`
}

func (in Instance) info() Info {
	out := Info{Name: in.Name, Project: in.Owner, State: in.State, Config: in.Config, Ports: in.Ports, Instance: in.Dir}
	if in.Drift.Changed {
		out.Drift, out.Recreate, out.Fix = in.Drift.Describe(), in.Drift.NeedsRecreate, in.Drift.Fix()
	}
	return out
}

// Info gathers a project's status without running limactl.
func (m *Manager) Info(p *Project) Info {
	in, _ := m.Inspect(p.Name, p.ConfigPath)
	out := in.info()
	out.Project = p.Owner()
	if err := in.owns(p); err != nil {
		// Another's VM: nothing of p's describes it.
		out.Project, out.Ports, out.Drift, out.Recreate = in.Owner, nil, "", nil
		out.NotOurs = in.Owner.describe()
	}
	if data, err := os.ReadFile(p.ConfigPath); err == nil {
		out.HandEdit = HandEdited(data)
	}
	if d, ok := m.DataDiskOf(p); ok && out.NotOurs == "" {
		out.Data = &d
	}
	return out
}

// List returns every instance vmhook created, from the instance directories.
func (m *Manager) List() ([]Info, error) {
	entries, err := os.ReadDir(m.Env.LimaHome)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read LIMA_HOME: %w", err)
	}
	reg, _ := loadPortRegistry(m.Env)
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		in, err := m.inspect(e.Name(), "", reg)
		// An instance without a record is listed only while vmhook's
		// reservation names a project (a create vmhook was killed in), until
		// the next up writes the record.
		if err != nil || in.Owner.IsZero() || (!in.Recorded && in.State == Absent) {
			continue
		}
		info := in.info()
		info.Drift, info.Recreate, info.Fix = "", nil, ""
		if in.Owner.Named() {
			info.Config, info.Ports = "", nil
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
