package projectvm

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// settingField is one settings field as every source knows it: the files
// (layers) that may set it, the environment variable and the `use vm` flag
// that set it from a string, and how they read the string. The command
// line, the `use vm` usage text, the README and the completion come from
// this table (a test keeps stdlib.sh and the README in step with it).
type settingField struct {
	// name is the field in vmhook.yaml, the user config and a named VM
	// definition.
	name string
	// kinds are the files that may set it.
	kinds []layerKind
	// env is the VM_* variable that sets it, if any.
	env string
	// flag is the `use vm` flag that sets it, if any; arg names its value
	// in the usage text and usage says what it does.
	flag, arg, usage string
	// repeat marks a flag given once per value (its values are joined with
	// commas, as in the variable).
	repeat bool
	// set applies a value from the variable or the flag to a layer.
	set func(l *layer, v, home string) error
	// list marks a field whose value is a list, bounded by maxList.
	list bool
	// decode reads the field's YAML value into a layer; errors name what
	// is wrong below the field (SettingsError.Field), or just why.
	decode func(l *layer, v *yaml.Node) error
	// apply validates the field's value in a layer, when set there, and
	// lays it over s; bad makes the error, home expands ~.
	apply func(s *Settings, l *layer, bad badFunc, home string) error
}

var (
	filesAll   = []layerKind{kindUser, kindProject, kindNamed}
	filesUser  = []layerKind{kindUser}
	filesNamed = []layerKind{kindNamed}
)

// settingFields are every settings field, in the order people read them
// (and in which a layer's values are checked).
var settingFields = []settingField{
	{
		name: "cpus", kinds: filesAll, env: "VM_CPUS", flag: "cpus", arg: "N", usage: "virtual CPUs", set: setCPUs,
		decode: func(l *layer, v *yaml.Node) error {
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				return nil // "cpus:" with nothing after it leaves the layer below
			}
			n, err := decodeInt(v)
			if err != nil {
				return err
			}
			l.CPUs = &n
			return nil
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.CPUs == nil {
				return nil
			}
			if *l.CPUs < 1 || *l.CPUs > 512 {
				return bad("cpus", "must be a whole number from 1 to 512, got %d", *l.CPUs)
			}
			s.CPUs = *l.CPUs
			return nil
		},
	},
	sizeField("memory", "VM_MEMORY", "memory, e.g. 8GiB",
		func(l *layer) **string { return &l.Memory }, func(s *Settings) *string { return &s.Memory }),
	sizeField("disk", "VM_DISK", "disk size, e.g. 100GiB",
		func(l *layer) **string { return &l.Disk }, func(s *Settings) *string { return &s.Disk }),
	{
		name: "image", kinds: filesAll, env: "VM_IMAGE", flag: "image", arg: "PATH|URL", usage: "guest image path or URL",
		set: func(l *layer, v, home string) error { l.Image = &Image{Location: expandHome(home, v)}; return nil },
		decode: func(l *layer, v *yaml.Node) error {
			if err := checkKeys(v, "location", "arch", "digest"); err != nil {
				return err
			}
			l.Image = new(Image)
			if v.Kind == yaml.ScalarNode {
				l.Image.Location = v.Value
				return nil
			}
			type plain Image
			return v.Decode((*plain)(l.Image))
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Image == nil {
				return nil
			}
			if strings.TrimSpace(l.Image.Location) == "" {
				return bad("image", "location must not be empty")
			}
			if l.Image.Digest != "" && !digestRE().MatchString(l.Image.Digest) {
				return bad("image", "digest %q must look like sha256:<hex> (64 hex digits; sha512: 128)", l.Image.Digest)
			}
			if l.Image.Arch != "" {
				a, ok := imageArchNames[l.Image.Arch]
				if !ok {
					return bad("image", "arch %q is not one of x86_64, aarch64, armv7l, riscv64 (amd64 and arm64 work too)", l.Image.Arch)
				}
				l.Image.Arch = a
			}
			s.Image = *l.Image
			return nil
		},
	},
	{
		name: "ports", kinds: filesAll, list: true, env: "VM_PORTS", flag: "port", arg: "PORT", repeat: true, usage: "guest port to forward (repeat, or comma list)",
		set: func(l *layer, v, _ string) error { return setPorts(l, strings.Split(v, ",")) },
		decode: func(l *layer, v *yaml.Node) error {
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				l.Ports = new([]int) // "ports:" with nothing after it clears them
				return nil
			}
			if v.Kind != yaml.SequenceNode {
				return &SettingsError{Msg: fmt.Sprintf("must be a list, got %q", v.Value)}
			}
			ports := make([]int, 0, len(v.Content))
			for i, it := range v.Content {
				n, err := decodeInt(it)
				if err != nil {
					err.Field = fmt.Sprintf("[%d]", i)
					return err
				}
				ports = append(ports, n)
			}
			l.Ports = &ports
			return nil
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Ports == nil {
				return nil
			}
			if n := len(*l.Ports); n > maxList {
				return bad("ports", "lists %d entries; at most %d are allowed", n, maxList)
			}
			seen := map[int]bool{}
			for i, p := range *l.Ports {
				if p < 1 || p > 65535 {
					return bad(fmt.Sprintf("ports[%d]", i), "%d is not a port number (1-65535)", p)
				}
				if p == 22 {
					return bad(fmt.Sprintf("ports[%d]", i), "22 is the guest's ssh port, which Lima does not forward")
				}
				if seen[p] {
					return bad("ports", "port %d is listed twice", p)
				}
				seen[p] = true
			}
			s.Ports = slices.Clone(*l.Ports)
			return nil
		},
	},
	{
		name: "mounts", kinds: filesAll, list: true,
		decode: func(l *layer, v *yaml.Node) error {
			if err := checkKeys(v, "location", "writable"); err != nil {
				return err
			}
			l.Mounts = new([]Mount)
			if err := v.Decode(l.Mounts); err != nil {
				return err
			}
			for i, m := range *l.Mounts {
				line := v.Line
				if v.Kind == yaml.SequenceNode && i < len(v.Content) {
					line = v.Content[i].Line
				}
				switch {
				case strings.TrimSpace(m.Location) == "":
					return &SettingsError{Line: line, Field: fmt.Sprintf("[%d]", i), Msg: "location must not be empty"}
				case filepath.Clean(m.Location) == ".":
					// It would be mounted over the project, read-only.
					return &SettingsError{Line: line, Field: fmt.Sprintf("[%d]", i), Msg: fmt.Sprintf("%q is the project directory, which is mounted writable already; list a directory inside it", m.Location)}
				}
			}
			return nil
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Mounts == nil {
				return nil
			}
			for i, m := range *l.Mounts {
				if m.Location == "" {
					return bad(fmt.Sprintf("mounts[%d]", i), "location must not be empty")
				}
				if isSSHDir(home, m.Location) {
					return bad(fmt.Sprintf("mounts[%d]", i), "%q would expose your ssh keys; use forwardAgent: true instead", m.Location)
				}
			}
			s.Mounts = slices.Clone(*l.Mounts)
			return nil
		},
	},
	{
		name: "sockets", kinds: filesAll, list: true,
		decode: func(l *layer, v *yaml.Node) error {
			if err := checkKeys(v, "host", "guest", "env", "direction", "envForm"); err != nil {
				return err
			}
			l.Sockets = new([]Socket)
			return v.Decode(l.Sockets)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Sockets == nil {
				return nil
			}
			for i, so := range *l.Sockets {
				if so.Host == "" || so.Guest == "" {
					return bad(fmt.Sprintf("sockets[%d]", i), "needs both host and guest")
				}
				if so.Env != "" && !envName().MatchString(so.Env) {
					return bad(fmt.Sprintf("sockets[%d]", i), "env %q is not a variable name", so.Env)
				}
				if !filepath.IsAbs(so.Guest) && strings.Contains(so.Guest, "/") {
					return bad(fmt.Sprintf("sockets[%d]", i), "guest %q must be a file name (placed under /run/user/UID/) or an absolute path", so.Guest)
				}
				switch so.Direction {
				case "", "to-guest", "to-host":
				default:
					return bad(fmt.Sprintf("sockets[%d]", i), "direction %q must be to-guest (a host server, the default) or to-host (a server in the guest)", so.Direction)
				}
				switch so.EnvForm {
				case "", "path", "url":
				default:
					return bad(fmt.Sprintf("sockets[%d]", i), "envForm %q must be path or url (unix://PATH)", so.EnvForm)
				}
				if so.EnvForm != "" && so.Env == "" {
					return bad(fmt.Sprintf("sockets[%d]", i), "envForm needs env, the variable it shapes")
				}
				if so.SocketToHost() {
					if err := checkHostSocket(home, so.Host); err != "" {
						return bad(fmt.Sprintf("sockets[%d]", i), "%s", err)
					}
				}
			}
			s.Sockets = slices.Clone(*l.Sockets)
			return nil
		},
	},
	{
		name: "forwardAgent", kinds: filesAll,
		decode: func(l *layer, v *yaml.Node) error {
			return v.Decode(&l.ForwardAgent)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.ForwardAgent == nil {
				return nil
			}
			s.ForwardAgent = *l.ForwardAgent
			return nil
		},
	},
	{
		name: "fileEvents", kinds: filesAll,
		decode: func(l *layer, v *yaml.Node) error {
			return v.Decode(&l.FileEvents)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.FileEvents == nil {
				return nil
			}
			s.FileEvents = *l.FileEvents
			return nil
		},
	},
	{
		name: "envFile", kinds: filesAll,
		decode: func(l *layer, v *yaml.Node) error {
			return v.Decode(&l.EnvFile)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.EnvFile == nil {
				return nil
			}
			f := *l.EnvFile
			if f != "" && (filepath.IsAbs(f) || f != filepath.Clean(f) || f == ".." || strings.HasPrefix(f, "../")) {
				return bad("envFile", "%q must be a file of the project, named relative to it (such as .env or .env.development), or \"\" for none", f)
			}
			s.EnvFile = f
			return nil
		},
	},
	{
		name: "env", kinds: filesAll,
		decode: func(l *layer, v *yaml.Node) error {
			return decodeEnv(v, &l.Env)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Env == nil {
				return nil
			}
			keys := make([]string, 0, len(l.Env))
			for k := range l.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !envName().MatchString(k) {
					return bad("env", "%q is not a variable name", k)
				}
				if k == "SYSINIT_IN_VM" {
					return bad("env", "SYSINIT_IN_VM is set by vmhook and cannot be overridden")
				}
				s.Env[k] = l.Env[k]
			}
			return nil
		},
	},
	{
		name: "provision", kinds: filesAll, list: true,
		decode: func(l *layer, v *yaml.Node) error {
			if err := checkKeys(v, "mode", "script", "when"); err != nil {
				return err
			}
			l.Provision = new([]Provision)
			return v.Decode(l.Provision)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Provision == nil {
				return nil
			}
			for i, p := range *l.Provision {
				switch p.Mode {
				case "", "system", "user", "boot", "dependency":
				default:
					return bad(fmt.Sprintf("provision[%d]", i), "mode %q must be system, user, boot or dependency", p.Mode)
				}
				if strings.TrimSpace(p.Script) == "" {
					return bad(fmt.Sprintf("provision[%d]", i), "script must not be empty")
				}
				switch p.When {
				case "", "once", "boot":
				default:
					return bad(fmt.Sprintf("provision[%d]", i), "when %q must be once (once per VM) or boot (at every boot)", p.When)
				}
			}
			s.Provision = slices.Clone(*l.Provision)
			for i := range s.Provision {
				if s.Provision[i].Mode == "" {
					s.Provision[i].Mode = "system"
				}
				// Setting a VM up is what people mean by provisioning, so a
				// step runs once unless it says otherwise; Lima's boot mode
				// is every boot by its name.
				if s.Provision[i].When == "" {
					s.Provision[i].When = "once"
					if s.Provision[i].Mode == "boot" {
						s.Provision[i].When = "boot"
					}
				}
			}
			return nil
		},
	},
	{
		name: "session", kinds: filesAll, flag: "session", arg: "tmux|zellij", usage: "attach to a tmux or zellij session",
		set: func(l *layer, v, _ string) error { l.Session = &v; return nil },
		decode: func(l *layer, v *yaml.Node) error {
			return decodeScalarString(v, &l.Session)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Session == nil {
				return nil
			}
			switch *l.Session {
			case "", "none", "tmux", "zellij":
				s.Session = strings.TrimPrefix(*l.Session, "none")
			default:
				return bad("session", "%q must be tmux, zellij or none", *l.Session)
			}
			return nil
		},
	},
	{
		name: "lima", kinds: filesAll,
		decode: func(l *layer, v *yaml.Node) error {
			if v.Kind != yaml.MappingNode {
				return &SettingsError{Msg: "must be a mapping of Lima settings"}
			}
			if err := checkLima(v); err != nil {
				return err
			}
			m, err := limaMapping(v)
			if err != nil {
				return err
			}
			l.Lima = m
			return nil
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Lima == nil {
				return nil
			}
			if s.Lima == nil {
				s.Lima = map[string]any{}
			}
			deepMerge(s.Lima, l.Lima)
			return nil
		},
	},
	{
		name: "rebuild", kinds: filesNamed,
		decode: func(l *layer, v *yaml.Node) error {
			return decodeScalarString(v, &l.Rebuild)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Rebuild == nil {
				return nil
			}
			s.Rebuild = *l.Rebuild
			return nil
		},
	},
	{
		name: "data", kinds: filesNamed,
		decode: func(l *layer, v *yaml.Node) error {
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				return nil // "data:" with nothing after it: no data disk
			}
			if v.Kind != yaml.MappingNode {
				return &SettingsError{Msg: "must be a mapping such as {size: 20GiB, path: \"~\"}"}
			}
			if err := checkKeys(v, "size", "path"); err != nil {
				return err
			}
			l.Data = new(DataDisk)
			return v.Decode(l.Data)
		},
		apply: func(s *Settings, l *layer, bad badFunc, home string) error {
			if l.Data == nil {
				return nil
			}
			d := *l.Data
			if d.Size == "" {
				d.Size = DefaultDataSize
			}
			size, err := normalizeSize(d.Size)
			if err != nil {
				return bad("data.size", "%v", err)
			}
			d.Size = size
			if d.Path == "" {
				d.Path = "~"
			}
			if msg := checkDataPath(d.Path); msg != "" {
				return bad("data.path", "%s", msg)
			}
			d.Path = cleanDataPath(d.Path)
			s.Data = &d
			return nil
		},
	},
	{
		name: "allowMounts", kinds: filesUser, list: true,
		decode: func(l *layer, v *yaml.Node) error {
			l.AllowMounts = new([]string)
			return v.Decode(l.AllowMounts)
		},
	},
}

// sizeField is a field holding a size such as 4GiB, set by the variable env
// and the flag of its name: in a layer at *in(l), in the settings at
// out(s).
func sizeField(name, env, usage string, in func(*layer) **string, out func(*Settings) *string) settingField {
	return settingField{
		name: name, kinds: filesAll, env: env, flag: name, arg: "SIZE", usage: usage,
		set: func(l *layer, v, _ string) error { *in(l) = &v; return nil },
		decode: func(l *layer, v *yaml.Node) error {
			return decodeScalarString(v, in(l))
		},
		apply: func(s *Settings, l *layer, bad badFunc, _ string) error {
			if *in(l) == nil {
				return nil
			}
			v, err := normalizeSize(**in(l))
			if err != nil {
				return bad(name, "%v", err)
			}
			*out(s) = v
			return nil
		},
	}
}

// settingFieldNamed is the field called name, or nil.
func settingFieldNamed(name string) *settingField {
	for i := range settingFields {
		if settingFields[i].name == name {
			return &settingFields[i]
		}
	}
	return nil
}

// fieldsOf are the fields a file of kind may set, in table order.
func fieldsOf(kind layerKind) []string {
	var out []string
	for _, f := range settingFields {
		if slices.Contains(f.kinds, kind) {
			out = append(out, f.name)
		}
	}
	return out
}

// SettingsEnv are the VM_* variables that set settings.
func SettingsEnv() []string {
	var out []string
	for _, f := range settingFields {
		if f.env != "" {
			out = append(out, f.env)
		}
	}
	return out
}

// ProjectFields are the fields of vmhook.yaml, in the order people read
// them.
func ProjectFields() []string { return fieldsOf(kindProject) }

// SettingsFlag is one `use vm` flag, for the command line.
type SettingsFlag struct {
	// Field is the settings field it sets, the key in Flags.
	Field string
	// Name is the flag without dashes; Arg names its value.
	Name, Arg, Usage string
	// Repeat marks a flag given once per value.
	Repeat bool
}

// SettingsFlags are the flags of `use vm` (and of config and up).
func SettingsFlags() []SettingsFlag {
	var out []SettingsFlag
	for _, f := range settingFields {
		if f.flag != "" {
			out = append(out, SettingsFlag{Field: f.name, Name: f.flag, Arg: f.arg, Usage: f.usage, Repeat: f.repeat})
		}
	}
	return out
}

// UseUsage is the synopsis of `use vm`, as stdlib.sh's usage comment
// shows it, wrapped to width.
func UseUsage(width int) []string {
	const head = "use vm"
	lines := []string{head}
	for _, f := range SettingsFlags() {
		word := fmt.Sprintf("[--%s %s]", f.Name, f.Arg)
		if f.Repeat {
			word += "..."
		}
		last := &lines[len(lines)-1]
		if len(*last)+1+len(word) > width {
			lines = append(lines, strings.Repeat(" ", len(head)))
			last = &lines[len(lines)-1]
		}
		*last += " " + word
	}
	return lines
}

// Flags are settings given on the command line, by field name (see
// SettingsFlags); a repeated flag's values are joined with commas. A nil
// Flags given to OpenProject or OpenNamed stands for the flags remembered
// from the last `use vm` or `config` of the project.
type Flags map[string]string

// Empty reports whether no flag is set.
func (f Flags) Empty() bool {
	for _, v := range f {
		if v != "" {
			return false
		}
	}
	return true
}

// envLayer reads the VM_* variables, one layer each.
func envLayer(env []string, home string) ([]*parsedLayer, error) {
	var out []*parsedLayer
	for _, f := range settingFields {
		if f.env == "" {
			continue
		}
		v := getenv(env, f.env)
		if v == "" {
			continue
		}
		pl := &parsedLayer{source: "environment " + f.env, lines: map[string]int{}, home: home}
		if err := f.set(&pl.layer, v, home); err != nil {
			return nil, &SettingsError{Source: pl.source, Msg: err.Error()}
		}
		out = append(out, pl)
	}
	return out, nil
}

// flagsLayer turns command-line flags into the highest layers, one a flag.
func flagsLayer(flags Flags, home string) ([]*parsedLayer, error) {
	var out []*parsedLayer
	for _, f := range settingFields {
		v := flags[f.name]
		if f.flag == "" || v == "" {
			continue
		}
		pl := &parsedLayer{source: "flag --" + f.flag, lines: map[string]int{}, home: home}
		if err := f.set(&pl.layer, v, home); err != nil {
			return nil, &SettingsError{Source: pl.source, Msg: err.Error()}
		}
		out = append(out, pl)
	}
	return out, nil
}
