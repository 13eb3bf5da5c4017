package projectvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Adopted says what Adopt did.
type Adopted struct {
	// Definition is the named VM's definition file.
	Definition string
	// Wrote is set when the definition was written from the instance.
	Wrote bool
	// Already is set when the instance was the definition's before.
	Already bool
	// Differences lists where an existing definition differs from the
	// instance's lima.yaml (each "field: definition … , instance …").
	Differences []string
	// Left lists the instance's mounts a written definition leaves out
	// (they would expose ~/.ssh).
	Left []string
}

// Adopt hands the existing Lima instance name to the named VM of the same
// name: it writes the definition from the instance's lima.yaml when there
// is none (or compares the two), and records the definition as the owner.
// It changes nothing of Lima's: the instance keeps its lima.yaml, running
// or not, until vmhook up --apply.
func (m *Manager) Adopt(ctx context.Context, name string) (Adopted, error) {
	if err := ValidName(name); err != nil {
		return Adopted{}, err
	}
	def := m.Env.VMDefinition(name)
	me := NamedOwner(def)
	res := Adopted{Definition: def}
	err := waitLock(ctx, m.lockPath(name), m.LockTimeout, nil, func() error {
		limaCfg := m.Env.instanceFile(name, limaYAML)
		data, err := os.ReadFile(limaCfg)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Lima instance %q in %s; create it with limactl first, or define %s and run vmhook up --vm %s", name, m.Env.LimaHome, def, name)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", limaCfg, err)
		}
		owner, _, err := ownerOf(m.Env, name)
		if err != nil {
			return err
		}
		switch {
		case owner == me:
			res.Already = true
		case owner.Named():
			return notOwned("VM %q is %s; run vmhook release --vm %s with that definition first", name, owner.describe(), name)
		case !owner.IsZero():
			return notOwned("VM %q is %s; use it from there, or destroy it there first", name, owner.describe())
		}
		var lima map[string]any
		if err := yaml.Unmarshal(data, &lima); err != nil {
			return fmt.Errorf("read %s: %w; fix it with limactl edit %s", limaCfg, err, name)
		}
		if _, err := os.Stat(def); errors.Is(err, os.ErrNotExist) {
			text, left, err := definitionFrom(lima, name, m.Env.InstanceDir(name), limaArch(m.Env.Host.Arch), m.Env.Home)
			res.Left = left
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(def), 0o755); err != nil {
				return fmt.Errorf("create %s: %w", filepath.Dir(def), err)
			}
			if err := writeFileAtomic(def, text, 0o644); err != nil {
				return err
			}
			res.Wrote = true
			if _, err := OpenNamed(m.Env, name, nil); err != nil {
				os.Remove(def)
				return fmt.Errorf("the definition written from %s does not load (%v); write %s by hand and run vmhook adopt --vm %s again", limaCfg, err, def, name)
			}
		} else {
			p, err := OpenNamed(m.Env, name, nil)
			if err != nil {
				return err
			}
			res.Differences = compareWithInstance(p, lima, m.Env.Home)
		}
		if err := withNamesLock(m.Env, func() error { return writeClaim(m.Env, name, me) }); err != nil {
			return err
		}
		if err := WriteOwner(m.Env.InstanceDir(name), me); err != nil {
			return err
		}
		// The instance runs with Lima's config as it is: recording its hash
		// as the applied one makes status show how the definition's
		// differs, and up --apply bring it in.
		h, err := fileHash(limaCfg)
		if err != nil {
			return err
		}
		return writeFileAtomic(m.Env.instanceFile(name, appliedFile), []byte(h+"\n"), 0o644)
	})
	return res, err
}

// Release gives the named VM name back to Lima: it removes vmhook's records
// of it (owner, applied config, name reservation) and nothing else; the
// instance and the definition stay.
func (m *Manager) Release(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	me := NamedOwner(m.Env.VMDefinition(name))
	return waitLock(ctx, m.lockPath(name), m.LockTimeout, nil, func() error {
		owner, exists, err := ownerOf(m.Env, name)
		if err != nil {
			return err
		}
		if owner != me {
			if owner.IsZero() {
				if !exists {
					return fmt.Errorf("no VM %q in %s; nothing to release", name, m.Env.LimaHome)
				}
				return fmt.Errorf("VM %q is %s; nothing to release", name, owner.describe())
			}
			return notOwned("VM %q is %s, not the named VM defined in %q; vmhook will not release it", name, owner.describe(), me.Definition)
		}
		for _, f := range []string{m.Env.instanceFile(name, ownerFile), m.Env.instanceFile(name, appliedFile)} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("release %s: %w", name, err)
			}
		}
		return withNamesLock(m.Env, func() error {
			releaseName(m.Env, name)
			return nil
		})
	})
}

// adoptedImage is the image setting of a written definition.
type adoptedImage struct {
	Location string `yaml:"location"`
	Arch     string `yaml:"arch,omitempty"`
	Digest   string `yaml:"digest,omitempty"`
}

// adoptedDef is the definition Adopt writes, in schema order.
type adoptedDef struct {
	CPUs   int           `yaml:"cpus,omitempty"`
	Memory string        `yaml:"memory,omitempty"`
	Disk   string        `yaml:"disk,omitempty"`
	Image  *adoptedImage `yaml:"image,omitempty"`
	Mounts []Mount       `yaml:"mounts,omitempty"`
	// FileEvents is the instance's mountInotify, said even when false
	// (vmhook's default is true): adopting changes nothing the VM does.
	FileEvents bool              `yaml:"fileEvents"`
	Env        map[string]string `yaml:"env,omitempty"`
	Provision  []Provision       `yaml:"provision,omitempty"`
	Lima       map[string]any    `yaml:"lima,omitempty"`
}

// modelled are the lima.yaml fields a definition says in its own terms;
// every other one is kept as it is under lima:.
var modelled = []string{"cpus", "memory", "disk", "images", "mounts", "mountInotify", "env", "provision"}

// definitionFrom writes a named VM's definition that describes the
// instance whose lima.yaml is lima, on a host whose arch is hostArch.
func definitionFrom(lima map[string]any, name, instDir, hostArch, home string) (text []byte, left []string, err error) {
	var d adoptedDef
	raw := map[string]any{}
	for k, v := range lima {
		if !contains(modelled, k) {
			raw[k] = v
		}
	}
	if n, ok := lima["cpus"].(int); ok {
		d.CPUs = n
	}
	d.Memory = sizeString(lima["memory"])
	d.Disk = sizeString(lima["disk"])
	vmArch := hostArch
	if a, ok := lima["arch"].(string); ok && a != "" && a != "default" {
		vmArch = a
	}
	if img, ok := pickImage(lima["images"], vmArch); ok {
		d.Image = &img
	}
	var rawMounts []any
	if ms, ok := lima["mounts"].([]any); ok {
		for _, v := range ms {
			mt, ok := plainMount(v, home)
			if loc := mountLocation(v, home); isSSHDir(home, loc) || isSSHDir(home, realPath(loc)) {
				// vmhook never mounts ~/.ssh into a VM (Lima's own
				// default mounts all of ~): it is left out, said here.
				left = append(left, loc)
				continue
			}
			if !ok {
				rawMounts = append(rawMounts, v)
				continue
			}
			d.Mounts = append(d.Mounts, mt)
		}
	}
	if len(rawMounts) > 0 {
		raw["mounts"] = rawMounts
	}
	d.FileEvents, _ = lima["mountInotify"].(bool)
	if env, ok := lima["env"].(map[string]any); ok {
		d.Env = map[string]string{}
		for k, v := range env {
			d.Env[k] = fmt.Sprint(v)
		}
	}
	// Lima runs provision scripts at every boot, vmhook's by mode: they stay
	// Lima's, word for word.
	if pf, ok := raw["portForwards"].([]any); ok {
		raw["portForwards"] = expandHostSockets(pf, instDir, name, home)
	}
	if p, ok := lima["provision"]; ok {
		raw["provision"] = p
	}
	if len(raw) > 0 {
		d.Lima = raw
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, nil, fmt.Errorf("write the definition of %s: %w", name, err)
	}
	body := buf.Bytes()
	var unset []string
	for _, k := range []string{"cpus", "memory", "disk"} {
		if _, ok := lima[k]; !ok {
			unset = append(unset, k)
		}
	}
	head := fmt.Sprintf("# The named VM %s, written by vmhook adopt from the Lima instance's lima.yaml.\n"+
		"# vmhook up --vm %s starts it as it is; after a change here, vmhook up --vm %s --apply\n"+
		"# gives it this config (vmhook status --vm %s shows how the two differ).\n"+
		"# lima: holds Lima's own settings that have no vmhook field, as Lima has them.\n", name, name, name, name)
	if len(unset) > 0 {
		head += fmt.Sprintf("# The instance does not set %s: Lima's defaults apply to it, vmhook's once applied.\n", strings.Join(unset, ", "))
	}
	for _, l := range left {
		head += fmt.Sprintf("# Left out: the instance's mount of %s, which would expose your ssh keys (~/.ssh);\n#   vmhook up --apply drops it (forwardAgent: true gives the VM your ssh agent instead).\n", l)
	}
	if d.Image != nil {
		if ims, _ := lima["images"].([]any); len(ims) > 1 {
			head += fmt.Sprintf("# image: of the instance's %d images, the one for this VM's arch (%s).\n", len(ims), vmArch)
		}
	}
	return append([]byte(head), body...), left, nil
}

// expandHostSockets writes out the template variables of Lima's own
// templates ({{.Dir}}, {{.Name}}, {{.Home}}) in the host sockets of
// portForwards, as Lima would for this instance: vmhook takes host paths
// as they are.
func expandHostSockets(pf []any, instDir, name, home string) []any {
	r := strings.NewReplacer("{{.Dir}}", instDir, "{{.Name}}", name, "{{.Home}}", home)
	out := make([]any, len(pf))
	for i, e := range pf {
		m, ok := e.(map[string]any)
		if !ok {
			out[i] = e
			continue
		}
		c := map[string]any{}
		for k, v := range m {
			if s, ok := v.(string); ok && k == "hostSocket" {
				v = r.Replace(s)
			}
			c[k] = v
		}
		out[i] = c
	}
	return out
}

// mountLocation is the host path of Lima's mount v ("" when it has none).
func mountLocation(v any, home string) string {
	m, _ := v.(map[string]any)
	loc, _ := m["location"].(string)
	if loc == "" {
		return ""
	}
	return expandHome(home, loc)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sizeString is a Lima size (a string like "8GiB", or a number of bytes)
// as a setting.
func sizeString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return fmt.Sprintf("%d", v)
	}
	return ""
}

// pickImage is the entry of Lima's images for the VM's arch (an entry
// without arch is for any).
func pickImage(v any, vmArch string) (adoptedImage, bool) {
	list, _ := v.([]any)
	var any_ *adoptedImage
	for _, e := range list {
		m, _ := e.(map[string]any)
		loc, _ := m["location"].(string)
		if loc == "" {
			continue
		}
		arch, _ := m["arch"].(string)
		dig, _ := m["digest"].(string)
		img := adoptedImage{Location: loc, Arch: arch, Digest: dig}
		if arch == vmArch {
			return img, true
		}
		if arch == "" && any_ == nil {
			any_ = &img
		}
	}
	if any_ != nil {
		return *any_, true
	}
	return adoptedImage{}, false
}

// plainMount is Lima's mount v as a definition's mount, when it is one:
// mounted at its own path, with no options but writable.
func plainMount(v any, home string) (Mount, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return Mount{}, false
	}
	loc, _ := m["location"].(string)
	if loc == "" {
		return Mount{}, false
	}
	loc = expandHome(home, loc)
	for k, val := range m {
		switch k {
		case "location":
		case "writable":
			if _, ok := val.(bool); !ok {
				return Mount{}, false
			}
		case "mountPoint":
			if mp, _ := val.(string); mp != "" && expandHome(home, mp) != loc {
				return Mount{}, false
			}
		default:
			return Mount{}, false
		}
	}
	w, _ := m["writable"].(bool)
	return Mount{Location: loc, Writable: w}, true
}

// compareWithInstance lists where the named VM p's settings differ from
// the instance's lima.yaml, in the fields a definition says.
func compareWithInstance(p *Project, lima map[string]any, home string) []string {
	s := p.Settings
	var diffs []string
	diff := func(field string, def, inst any) {
		diffs = append(diffs, fmt.Sprintf("%s: definition %v, instance %v", field, show(def), show(inst)))
	}
	if n, _ := lima["cpus"].(int); n != s.CPUs {
		diff("cpus", s.CPUs, lima["cpus"])
	}
	if v := sizeString(lima["memory"]); v != s.Memory {
		diff("memory", s.Memory, lima["memory"])
	}
	if v := sizeString(lima["disk"]); v != s.Disk && (v != "" || s.Disk != "100GiB") { // Lima's default
		diff("disk", s.Disk, lima["disk"])
	}
	vmArch := p.vmArch()
	if a, ok := lima["arch"].(string); ok && a != "" && a != "default" && a != vmArch {
		diff("arch", vmArch, a)
	}
	img, _ := pickImage(lima["images"], vmArch)
	if s.Image.Location != "" && (img.Location != s.Image.Location || (s.Image.Digest != "" && img.Digest != s.Image.Digest)) {
		diff("image", s.Image.Location, img.Location)
	}
	var instMounts []string
	if ms, ok := lima["mounts"].([]any); ok {
		for _, v := range ms {
			if mt, ok := plainMount(v, home); ok {
				instMounts = append(instMounts, mountWord(mt))
			} else if m, ok := v.(map[string]any); ok {
				loc, _ := m["location"].(string)
				instMounts = append(instMounts, expandHome(home, loc)+" (with options)")
			}
		}
	}
	var defMounts []string
	for _, mt := range s.Mounts {
		defMounts = append(defMounts, mountWord(mt))
	}
	sort.Strings(instMounts)
	sort.Strings(defMounts)
	if !reflect.DeepEqual(instMounts, defMounts) && (len(instMounts)+len(defMounts) > 0) {
		diff("mounts", defMounts, instMounts)
	}
	instEnv := map[string]string{}
	if env, ok := lima["env"].(map[string]any); ok {
		for k, v := range env {
			instEnv[k] = fmt.Sprint(v)
		}
	}
	for k, v := range s.Env {
		if iv, ok := instEnv[k]; !ok || iv != v {
			diff("env."+k, v, instEnv[k])
		}
	}
	for k := range instEnv {
		if _, ok := s.Env[k]; !ok {
			diff("env."+k, nil, instEnv[k])
		}
	}
	return diffs
}

func mountWord(m Mount) string {
	if m.Writable {
		return m.Location + " (writable)"
	}
	return m.Location
}

// show is a value for a difference line: "unset" for nothing.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "unset"
	case string:
		if v == "" {
			return "unset"
		}
		return fmt.Sprintf("%q", v)
	case []string:
		if len(v) == 0 {
			return "none"
		}
		return "[" + strings.Join(v, ", ") + "]"
	}
	return fmt.Sprint(v)
}
