package projectvm

import (
	"fmt"
	"slices"
	"strings"
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
}

var (
	filesAll   = []layerKind{kindUser, kindProject, kindNamed}
	filesUser  = []layerKind{kindUser}
	filesNamed = []layerKind{kindNamed}
)

// settingFields are every settings field, in the order people read them.
var settingFields = []settingField{
	{name: "cpus", kinds: filesAll, env: "VM_CPUS", flag: "cpus", arg: "N", usage: "virtual CPUs", set: setCPUs},
	{name: "memory", kinds: filesAll, env: "VM_MEMORY", flag: "memory", arg: "SIZE", usage: "memory, e.g. 8GiB",
		set: func(l *layer, v, _ string) error { l.Memory = &v; return nil }},
	{name: "disk", kinds: filesAll, env: "VM_DISK", flag: "disk", arg: "SIZE", usage: "disk size, e.g. 100GiB",
		set: func(l *layer, v, _ string) error { l.Disk = &v; return nil }},
	{name: "image", kinds: filesAll, env: "VM_IMAGE", flag: "image", arg: "PATH|URL", usage: "guest image path or URL",
		set: func(l *layer, v, home string) error { l.Image = &Image{Location: expandHome(home, v)}; return nil }},
	{name: "ports", kinds: filesAll, env: "VM_PORTS", flag: "port", arg: "PORT", repeat: true, usage: "guest port to forward (repeat, or comma list)",
		set: func(l *layer, v, _ string) error { return setPorts(l, strings.Split(v, ",")) }},
	{name: "mounts", kinds: filesAll},
	{name: "sockets", kinds: filesAll},
	{name: "forwardAgent", kinds: filesAll},
	{name: "env", kinds: filesAll},
	{name: "provision", kinds: filesAll},
	{name: "session", kinds: filesAll, flag: "session", arg: "tmux|zellij", usage: "attach to a tmux or zellij session",
		set: func(l *layer, v, _ string) error { l.Session = &v; return nil }},
	{name: "lima", kinds: filesAll},
	{name: "rebuild", kinds: filesNamed},
	{name: "allowMounts", kinds: filesUser},
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
