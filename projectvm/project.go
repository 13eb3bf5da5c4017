package projectvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	// OwnVMEnv makes the VM_* variables of Environ the settings layer even
	// when use vm recorded others: only use vm itself sets it.
	OwnVMEnv bool
}

// NewEnv derives the directories from an environment list such as
// os.Environ().
func NewEnv(environ []string, host Host) (Env, error) {
	get := func(k string) string { return getenv(environ, k) }
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
	// StateDir holds vmhook's records of the project (Env.ProjectStateDir).
	StateDir string
	// Workdir is where an entry starts in the guest: the directory the user
	// stands in under Dir (see entry.Workdir); empty is Dir.
	Workdir string
	// Named marks a persistent, user-level VM.
	Named    bool
	Settings Settings
	Host     Host
}

// FindProjectDir walks up from dir to the first directory holding
// vmhook.yaml or .lima/config.yaml.
func FindProjectDir(dir string) (string, bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		for _, marker := range []string{ProjectSettings(d), ProjectConfig(d)} {
			if _, err := os.Stat(marker); err == nil {
				return d, true
			}
		}
		if d == filepath.Dir(d) {
			return "", false
		}
	}
}

// OpenProject resolves the project in dir: its name (never one owned by
// another directory) and its layered settings. The project is its real
// directory, with every symbolic link resolved, and the first such path
// seen when a bind mount shows the directory at another (canonicalDir), so
// one directory has one VM however it is reached.
func OpenProject(e Env, dir string, flags Flags) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve project directory %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("project directory %q does not exist", abs)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("resolve project directory %q: %w", dir, err)
	}
	abs = canonicalDir(e, abs)
	if hasTemplate(abs) {
		return nil, fmt.Errorf("project directory %q holds \"{{\", which Lima would expand as a template in the mount; rename the directory", abs)
	}
	if err := checkProjectDir(e.Home, abs); err != nil {
		return nil, err
	}
	name, err := ResolveName(e, abs)
	if err != nil {
		return nil, err
	}
	p := &Project{
		Dir:          abs,
		Name:         name,
		ConfigPath:   ProjectConfig(abs),
		SettingsPath: ProjectSettings(abs),
		StateDir:     e.ProjectStateDir(abs),
		Host:         e.Host,
	}
	p.Settings, err = LoadSettings(Sources{
		UserConfig:  e.UserConfig(),
		ProjectFile: p.SettingsPath,
		Env:         e.Environ,
		OwnEnv:      e.OwnVMEnv,
		Flags:       flags,
		Remembered:  filepath.Join(p.StateDir, flagsFile),
		ProjectDir:  abs,
		Home:        e.Home,
	})
	if err != nil {
		return nil, err
	}
	if err := p.Settings.resolve(e.Home, p.SettingsPath); err != nil {
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
		if _, err := os.Stat(e.instanceFile(name, limaYAML)); err == nil {
			return nil, fmt.Errorf("no VM definition %q, but Lima has an instance %s; vmhook adopt --vm %s takes it over (and writes the definition from it)", def, name, name)
		}
		return nil, fmt.Errorf("no VM definition %q; create it (same fields as vmhook.yaml, plus rebuild:)", def)
	}
	p := &Project{
		Dir:          e.Home,
		Name:         name,
		ConfigPath:   e.namedConfig(name),
		SettingsPath: def,
		StateDir:     e.namedStateDir(name),
		Named:        true,
		Host:         e.Host,
	}
	var err error
	p.Settings, err = LoadSettings(Sources{UserConfig: e.UserConfig(), ProjectFile: def, Named: true, Env: e.Environ, OwnEnv: e.OwnVMEnv, Flags: flags, Remembered: filepath.Join(p.StateDir, flagsFile), ProjectDir: filepath.Dir(def), Home: e.Home})
	if err != nil {
		return nil, err
	}
	// A named VM is the user's own machine: its mounts are theirs to choose,
	// but its paths are checked as a project's are.
	if err := p.Settings.resolve(e.Home, def); err != nil {
		return nil, err
	}
	return p, nil
}

// Owner is the identity recorded in the instance directory.
func (p *Project) Owner() Owner {
	if p.Named {
		return NamedOwner(p.SettingsPath)
	}
	return ProjectOwner(p.Dir)
}

// WriteResult describes a config (re)generation.
type WriteResult struct {
	Result ConfigResult
}

// WriteConfig renders the project's config when its inputs changed and the
// file on disk is the one vmhook last wrote here. Host ports are allocated
// under the global ports lock. A config vmhook did not write on this machine
// (edited by hand, or committed) is never touched, and used only with the
// user's consent; neither is a config that reaches the host (see Needs). A
// *ConsentError says what is held back: nothing is written then.
func (p *Project) WriteConfig(ctx context.Context, e Env) (WriteResult, error) {
	if err := p.checkLimaDir(false); err != nil {
		return WriteResult{}, err
	}
	st, err := p.configState(e)
	if err != nil {
		return WriteResult{}, err
	}
	if st.result != ConfigWritten {
		return WriteResult{Result: st.result}, p.checkConsent(st.needs, st.hand)
	}
	needs, err := p.renderNeeds(e)
	if err != nil {
		return WriteResult{}, err
	}
	if err := p.checkConsent(needs, nil); err != nil {
		return WriteResult{}, err
	}
	var res WriteResult
	err = withLock(ctx, e.portsLock(), nil, func() error {
		// Re-check under the lock: another process may have just written it.
		st, err := p.configState(e)
		if err != nil {
			return err
		}
		if st.result != ConfigWritten {
			res.Result = st.result
			return p.checkConsent(st.needs, st.hand)
		}
		reg, err := loadPortRegistry(e)
		if err != nil {
			return err
		}
		var previous map[int]int
		if st.ours {
			previous = reg.mapping(p.Name, p.ConfigPath)
		}
		mapping, err := reg.allocate(p.Name, p.ConfigPath, p.Settings.Ports, previous)
		if err != nil {
			return err
		}
		data, err := p.Render(mapping)
		if err != nil {
			return err
		}
		if err := p.checkLimaDir(true); err != nil {
			return err
		}
		if err := writeFileAtomic(p.ConfigPath, data, 0o644); err != nil {
			return err
		}
		rec := writtenRecord{Project: p.Owner(), Output: fullHash(data), User: userConfigHash(e), Needs: needs}
		if err := writeJSON(p.writtenPath(), rec); err != nil {
			return err
		}
		if err := reg.save(); err != nil {
			return err
		}
		res = WriteResult{Result: ConfigWritten}
		return nil
	})
	return res, err
}

// configState is what vmhook makes of the config file on disk.
type configState struct {
	// result is ConfigUnchanged for vmhook's current file, ConfigHandEdited
	// for a file vmhook did not write here, and ConfigWritten for one that
	// must be (re)written.
	result ConfigResult
	// ours is set when vmhook wrote the file on disk, on this machine.
	ours bool
	// needs lists what the file asks for that needs consent (for a
	// current or hand-edited file).
	needs []string
	// hand describes a file vmhook did not write (ConfigHandEdited).
	hand *HandConfig
}

// configState reads the config file without following links and tells
// vmhook's own, current file from one to regenerate and one it did not
// write. A file with vmhook's header that vmhook did not record writing (a
// copy committed elsewhere, or from an older vmhook) is regenerated: its
// header proves nothing, and it holds nothing but what vmhook generates.
func (p *Project) configState(e Env) (configState, error) {
	data, err := readNoFollow(p.ConfigPath)
	if errors.Is(err, os.ErrNotExist) {
		return configState{result: ConfigWritten}, nil
	}
	if err != nil {
		return configState{}, err
	}
	var rec writtenRecord
	readJSON(p.writtenPath(), &rec)
	if rec.Project == p.Owner() && rec.Output == fullHash(data) {
		h, _, _ := ParseConfig(data)
		if h.Inputs == p.inputs().hash() && rec.User == userConfigHash(e) {
			return configState{result: ConfigUnchanged, ours: true, needs: rec.Needs}, nil
		}
		return configState{result: ConfigWritten, ours: true}, nil
	}
	if !HandEdited(data) {
		return configState{result: ConfigWritten}, nil
	}
	if err := checkExpandedYAML(p.ConfigPath, data, maxSettingsSize); err != nil {
		return configState{}, err
	}
	needs, err := p.needs(e, data, false)
	if err != nil {
		return configState{}, err
	}
	_, _, header := ParseConfig(data)
	hand := &HandConfig{Path: p.ConfigPath, Edited: header, Line: p.configLine(data)}
	return configState{result: ConfigHandEdited, needs: needs, hand: hand}, nil
}

// flagsFile remembers the settings flags of the last `use vm` or `config`.
// It is vmhook's record, outside the project: a committed file must not pick
// flags.
func (p *Project) flagsFile() string { return filepath.Join(p.StateDir, flagsFile) }

// SaveFlags remembers flags (removing the record when there are none).
func SaveFlags(p *Project, f Flags) error { return SaveUse(p, f, nil) }

// envKey holds, in the flags record, the VM_* variables `use vm` saw.
const envKey = "$env"

// SaveUse remembers the settings flags and the VM_* variables of environ
// that `use vm` (or config) rendered the config with. Later vmhook
// processes (the prompt hook's shell, vm-shell, up) take both from this
// record rather than from their own environment, which may lack what the
// .envrc exported: every process renders the same config. A nil environ
// keeps the variables recorded before. With neither, the record is removed.
func SaveUse(p *Project, f Flags, environ []string) error {
	path := p.flagsFile()
	if environ == nil {
		_, environ, _ = loadRemembered(path)
	}
	var vars []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "VM_") && strings.Contains(kv, "=") {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars)
	if f.Empty() && len(vars) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("forget flags: %w", err)
		}
		return nil
	}
	rec := map[string]any{}
	for k, v := range f {
		rec[k] = v
	}
	if len(vars) > 0 {
		rec[envKey] = vars
	}
	data, _ := json.Marshal(rec)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("remember flags: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}

// loadFlags returns the flags remembered in path, if any. A record of an
// earlier version (keys named after the Go fields, ports as a list) is
// read too.
func loadFlags(path string) Flags {
	f, _, _ := loadRemembered(path)
	return f
}

// loadRemembered returns the flags and the VM_* variables remembered in
// path; recorded is set when the record exists (then its variables, even
// none, stand for the environment's).
func loadRemembered(path string) (f Flags, environ []string, recorded bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Flags{}, nil, false
	}
	var raw map[string]any
	if json.Unmarshal(data, &raw) != nil {
		return Flags{}, nil, false
	}
	f = Flags{}
	if vars, ok := raw[envKey].([]any); ok {
		for _, x := range vars {
			if s, ok := x.(string); ok && strings.HasPrefix(s, "VM_") {
				environ = append(environ, s)
			}
		}
	}
	delete(raw, envKey)
	for k, v := range raw {
		k = strings.ToLower(k)
		switch v := v.(type) {
		case string:
			f[k] = v
		case []any:
			var vals []string
			for _, x := range v {
				if s, ok := x.(string); ok {
					vals = append(vals, s)
				}
			}
			f[k] = strings.Join(vals, ",")
		}
	}
	return f, environ, true
}
