package projectvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Env is the part of the host environment vmhook depends on. The command
// layer fills it in; nothing below reads the process environment itself.
type Env struct {
	Home       string
	LimaHome   string // $LIMA_HOME or ~/.lima
	ConfigHome string // $XDG_CONFIG_HOME or ~/.config
	StateHome  string // $XDG_STATE_HOME or ~/.local/state
	Environ    []string
	Host       Host
}

// NewEnv derives the directories from an environment list such as
// os.Environ().
func NewEnv(environ []string, host Host) (Env, error) {
	get := func(k string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(environ[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
	e := Env{Home: get("HOME"), Environ: environ, Host: host}
	if e.Home == "" {
		return Env{}, errors.New("HOME is not set; set it to your home directory")
	}
	e.LimaHome = get("LIMA_HOME")
	if e.LimaHome == "" {
		e.LimaHome = filepath.Join(e.Home, ".lima")
	}
	e.ConfigHome = get("XDG_CONFIG_HOME")
	if e.ConfigHome == "" {
		e.ConfigHome = filepath.Join(e.Home, ".config")
	}
	e.StateHome = get("XDG_STATE_HOME")
	if e.StateHome == "" {
		e.StateHome = filepath.Join(e.Home, ".local", "state")
	}
	return e, nil
}

// UserConfig is the path of the user defaults file.
func (e Env) UserConfig() string { return filepath.Join(e.ConfigHome, "vmhook", "config.yaml") }

// VMDefinition is the path of a named VM's definition.
func (e Env) VMDefinition(name string) string {
	return filepath.Join(e.ConfigHome, "vmhook", "vms", name+".yaml")
}

// LockDir holds vmhook's lock files.
func (e Env) LockDir() string { return filepath.Join(e.StateHome, "vmhook", "locks") }

// InstanceDir is Lima's directory for instance name.
func (e Env) InstanceDir(name string) string { return filepath.Join(e.LimaHome, name) }

// Project is a directory with its own VM, or a named VM.
type Project struct {
	// Dir is the absolute project directory, mounted at the same path.
	Dir string
	// Name is the Lima instance name.
	Name string
	// ConfigPath is the generated Lima config.
	ConfigPath string
	// SettingsPath is vmhook.yaml (or the named VM definition).
	SettingsPath string
	// Named marks a persistent, user-level VM.
	Named    bool
	Settings Settings
	Host     Host
}

// FindProjectDir walks up from dir to the first directory holding
// vmhook.yaml or .lima/config.yaml.
func FindProjectDir(dir string) (string, bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		for _, marker := range []string{ProjectFile, filepath.Join(".lima", "config.yaml")} {
			if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
				return d, true
			}
		}
		if d == filepath.Dir(d) {
			return "", false
		}
	}
}

// OpenProject resolves the project in dir: its name (never one owned by
// another directory) and its layered settings.
func OpenProject(e Env, dir string, flags Flags) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve project directory %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("project directory %q does not exist", abs)
	}
	name, err := ResolveName(e, abs)
	if err != nil {
		return nil, err
	}
	p := &Project{
		Dir:          abs,
		Name:         name,
		ConfigPath:   filepath.Join(abs, ".lima", "config.yaml"),
		SettingsPath: filepath.Join(abs, ProjectFile),
		Host:         e.Host,
	}
	p.Settings, err = LoadSettings(Sources{
		UserConfig:  e.UserConfig(),
		ProjectFile: p.SettingsPath,
		Env:         e.Environ,
		Flags:       flags,
		ProjectDir:  abs,
		Home:        e.Home,
	})
	if err != nil {
		return nil, err
	}
	if err := p.Settings.CheckMounts(abs, p.SettingsPath); err != nil {
		return nil, err
	}
	return p, nil
}

// OpenNamed resolves a persistent VM defined in
// ~/.config/vmhook/vms/NAME.yaml. Its generated config lives beside the
// definition state, and its working directory is the user's home.
func OpenNamed(e Env, name string, flags Flags) (*Project, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := CheckSocketBudget(e.LimaHome, name); err != nil {
		return nil, err
	}
	def := e.VMDefinition(name)
	if _, err := os.Stat(def); err != nil {
		return nil, fmt.Errorf("no VM definition %q; create it (same fields as vmhook.yaml, plus rebuild:)", def)
	}
	p := &Project{
		Dir:          e.Home,
		Name:         name,
		ConfigPath:   filepath.Join(e.StateHome, "vmhook", "vms", name, "lima.yaml"),
		SettingsPath: def,
		Named:        true,
		Host:         e.Host,
	}
	var err error
	p.Settings, err = LoadSettings(Sources{UserConfig: e.UserConfig(), ProjectFile: def, Named: true, Env: e.Environ, Flags: flags, ProjectDir: filepath.Dir(def), Home: e.Home})
	if err != nil {
		return nil, err
	}
	// A named VM is the user's own machine: its mounts are theirs to choose.
	return p, nil
}

// Owner is the identity recorded in the instance directory.
func (p *Project) Owner() string {
	if p.Named {
		return "vm:" + p.SettingsPath
	}
	return p.Dir
}

// WriteResult describes a config (re)generation.
type WriteResult struct {
	Result  ConfigResult
	Mapping map[int]int
}

// WriteConfig renders the project's config when its inputs changed and the
// file on disk is still what vmhook wrote. Host ports are allocated under the
// global ports lock. A hand-edited file is never touched.
func (p *Project) WriteConfig(ctx context.Context, e Env) (WriteResult, error) {
	current, handEdited, err := p.ConfigCurrent()
	if err != nil {
		return WriteResult{}, err
	}
	if handEdited {
		return WriteResult{Result: ConfigHandEdited}, nil
	}
	if current {
		return WriteResult{Result: ConfigUnchanged}, nil
	}
	var res WriteResult
	err = withLock(ctx, filepath.Join(e.LockDir(), "ports.lock"), nil, func() error {
		// Re-check under the lock: another process may have just written it.
		current, handEdited, err := p.ConfigCurrent()
		if err != nil {
			return err
		}
		if handEdited {
			res.Result = ConfigHandEdited
			return nil
		}
		if current {
			res.Result = ConfigUnchanged
			return nil
		}
		previous, _ := PortMapping(p.ConfigPath)
		reg, err := loadPortRegistry(e)
		if err != nil {
			return err
		}
		mapping, err := reg.allocate(p.Name, p.ConfigPath, p.Settings.Ports, previous)
		if err != nil {
			return err
		}
		data, err := p.Render(mapping)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p.ConfigPath), 0o755); err != nil {
			return fmt.Errorf("create %q: %w", filepath.Dir(p.ConfigPath), err)
		}
		if err := writeFileAtomic(p.ConfigPath, data, 0o644); err != nil {
			return err
		}
		if err := reg.save(); err != nil {
			return err
		}
		res = WriteResult{Result: ConfigWritten, Mapping: mapping}
		return nil
	})
	return res, err
}

// flagsFile remembers the settings flags of the last `use vm` or `config`.
func (p *Project) flagsFile() string { return filepath.Join(filepath.Dir(p.ConfigPath), "flags.json") }

// SaveFlags remembers flags (removing the record when there are none).
func SaveFlags(p *Project, f Flags) error {
	path := p.flagsFile()
	if f.Empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("forget flags: %w", err)
		}
		return nil
	}
	data, _ := json.Marshal(f)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("remember flags: %w", err)
	}
	return writeFileAtomic(path, data, 0o644)
}

// LoadFlags returns the remembered flags, if any.
func LoadFlags(p *Project) Flags {
	var f Flags
	if data, err := os.ReadFile(p.flagsFile()); err == nil {
		_ = json.Unmarshal(data, &f)
	}
	return f
}
