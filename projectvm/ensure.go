package projectvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Manager runs the lifecycle of project VMs through a Limactl.
type Manager struct {
	Lima Limactl
	Env  Env
	// OnWait is called once when a lock has been busy for a second.
	OnWait func(name string)
	// OnPhase receives Lima's progress messages while a VM is created or
	// started.
	OnPhase func(msg string)
	// OnNotice receives one-line remarks for people (drift, recovery).
	OnNotice func(msg string)
	// LockTimeout bounds the wait for another vmhook working on the same VM
	// (no bound but the context's when zero). It does not bound the work
	// done once the lock is held: each limactl call has its own bound.
	LockTimeout time.Duration
}

func (m *Manager) notice(format string, args ...any) {
	if m.OnNotice != nil {
		m.OnNotice(fmt.Sprintf(format, args...))
	}
}

func (m *Manager) lockPath(name string) string {
	return filepath.Join(m.Env.LockDir(), name+".lock")
}

// lock runs fn holding the VM's lock, waiting for it at most LockTimeout
// and, when notify is set, saying so through OnWait after a second.
func (m *Manager) lock(ctx context.Context, name string, notify bool, fn func() error) error {
	var onWait func()
	if notify && m.OnWait != nil {
		onWait = func() { m.OnWait(name) }
	}
	return waitLock(ctx, m.lockPath(name), m.LockTimeout, onWait, fn)
}

// State returns the VM's state from its instance directory; Broken becomes
// Starting while a vmhook start holds the VM's lock.
func (m *Manager) State(name string) State {
	s := InstanceState(m.Env.InstanceDir(name))
	if s == Broken && lockHeld(m.lockPath(name)) {
		return Starting
	}
	return s
}

// checkOwner refuses an instance that exists and is recorded as another
// directory's, or was not made by vmhook.
func (m *Manager) checkOwner(p *Project) error {
	inst := m.Env.InstanceDir(p.Name)
	if _, err := os.Stat(filepath.Join(inst, "lima.yaml")); err != nil {
		return nil
	}
	// The reservation counts too: it precedes the owner record, which can
	// only be written after limactl create.
	owner, _, err := ownerOf(m.Env, p.Name)
	if err != nil {
		return err
	}
	if owner != p.Owner() {
		who := "was not created by vmhook"
		if owner != "" {
			who = fmt.Sprintf("belongs to %q", owner)
		}
		return fmt.Errorf("VM %q %s, not to %q; vmhook will not touch it (%w)", p.Name, who, p.Owner(), ErrNotOwned)
	}
	return nil
}

// Ensure makes the project's VM exist and run: created from the generated
// config if absent, started if stopped, recovered if broken. It is safe to
// call from many processes at once: only one creates or starts the VM, and
// of several projects with one basename, the ones that lose the base name
// to another take their hashed names (p.Name changes).
func (m *Manager) Ensure(ctx context.Context, p *Project) error {
	err := m.ensure(ctx, p)
	if errors.Is(err, ErrNotOwned) && m.takeHashedName(ctx, p) {
		return m.ensure(ctx, p)
	}
	return err
}

// takeHashedName moves a project that lost its base name to another project
// (which created or reserved it since the name was resolved) to its hashed
// name, and renders its config for that name. It reports whether it did.
func (m *Manager) takeHashedName(ctx context.Context, p *Project) bool {
	if p.Named {
		return false
	}
	n, err := DeriveNames(p.Dir, m.Env.LimaHome)
	if err != nil || p.Name != n.Base || n.Base == n.Hashed {
		return false
	}
	if owner, _, err := ownerOf(m.Env, n.Base); err != nil || owner == p.Owner() || owner == "" && !m.instanceExists(n.Base) {
		return false
	}
	old := p.Name
	p.Name = n.Hashed
	if _, err := p.WriteConfig(ctx, m.Env); err != nil {
		p.Name = old
		return false
	}
	m.notice("%s is another project's VM; this project uses %s", old, p.Name)
	return true
}

func (m *Manager) instanceExists(name string) bool {
	_, err := os.Stat(m.Env.InstanceDir(name))
	return err == nil
}

func (m *Manager) ensure(ctx context.Context, p *Project) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	if InstanceState(m.Env.InstanceDir(p.Name)) == Running {
		return nil
	}
	return m.lock(ctx, p.Name, true, func() error {
		return m.ensureLocked(ctx, p)
	})
}

func (m *Manager) ensureLocked(ctx context.Context, p *Project) error {
	// Re-read under the lock: the holder before us may have done the work.
	if err := m.checkOwner(p); err != nil {
		return err
	}
	inst := m.Env.InstanceDir(p.Name)
	switch InstanceState(inst) {
	case Running:
		return nil
	case Absent:
		if _, err := os.Stat(p.ConfigPath); err != nil {
			return fmt.Errorf("no config at %q; run vmhook config (or direnv allow) first", p.ConfigPath)
		}
		if err := claimName(m.Env, p.Name, p.Owner()); err != nil {
			return err
		}
		if err := m.freePorts(ctx, p); err != nil {
			return err
		}
		if err := m.clearDebris(p); err != nil {
			return err
		}
		started := time.Now()
		if err := m.Lima.Run(ctx, m.OnPhase, "create", "--name", p.Name, "--tty=false", p.ConfigPath); err != nil {
			return m.failedCreate(p, started, err)
		}
		if err := WriteOwner(inst, p.Owner()); err != nil {
			return err
		}
		if err := m.markApplied(p); err != nil {
			return err
		}
	case Broken:
		if err := m.repairOwner(p); err != nil {
			return err
		}
		m.notice("%s was left half-running; stopping it before starting again", p.Name)
		if err := m.Lima.Run(ctx, nil, "stop", "--force", p.Name); err != nil {
			return err
		}
	case Stopped:
		if err := m.repairOwner(p); err != nil {
			return err
		}
		if d, _ := m.Drift(p); d.Changed {
			m.notice("%s: %s; run vmhook up --apply to apply it", p.Name, d.Describe())
		}
	}
	return m.runStart(ctx, p.Name)
}

// failedCreate cleans up after a limactl create that failed, which may have
// left an instance directory (Lima writes lima.yaml early). The instance is
// recorded as the project's first, so that if the clean-up fails too (or
// vmhook is killed) list shows it and destroy removes it; then it is
// deleted. The create's error is returned either way. A directory older
// than the create (one limactl refused to create over) is not touched.
func (m *Manager) failedCreate(p *Project, started time.Time, createErr error) error {
	inst := m.Env.InstanceDir(p.Name)
	fi, err := os.Stat(inst)
	if err != nil || fi.ModTime().Before(started.Add(-time.Second)) {
		return createErr
	}
	if err := WriteOwner(inst, p.Owner()); err != nil {
		return fmt.Errorf("%w (and recording the half-created VM failed: %v)", createErr, err)
	}
	if _, err := os.Stat(filepath.Join(inst, "lima.yaml")); err != nil {
		// Without lima.yaml limactl cannot see it; clearDebris removes it
		// before the next create.
		return createErr
	}
	// The context may be done (Ctrl-C, time-out); the clean-up still runs,
	// for a bounded time.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := m.Lima.Run(ctx, nil, "delete", "--force", p.Name); err != nil {
		return fmt.Errorf("%w; the half-created VM %s is left (vmhook destroy removes it)", createErr, p.Name)
	}
	return createErr
}

// freePorts makes sure no host port in the project's config is forwarded
// by another vmhook VM before the VM is created from it. That happens when
// the port registry was lost after the config was written and another
// project was given the port. A config vmhook wrote is rendered again with
// new ports; a hand-edited one is an error that says where to change it.
func (m *Manager) freePorts(ctx context.Context, p *Project) error {
	mine, err := PortMapping(p.ConfigPath)
	if err != nil || len(mine) == 0 {
		return nil
	}
	hosts := map[int]bool{}
	for _, h := range mine {
		hosts[h] = true
	}
	clash := 0
	for _, u := range portsInUse(m.Env) {
		if u.config != p.ConfigPath && hosts[u.host] {
			clash = u.host
			break
		}
	}
	if clash == 0 {
		return nil
	}
	data, err := os.ReadFile(p.ConfigPath)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if HandEdited(data) {
		return fmt.Errorf("host port %d in %q is forwarded by another VM; the file was edited by hand, so change the port there (or delete the file to let vmhook choose)", clash, p.ConfigPath)
	}
	// Without the file there is no previous mapping to keep: every port is
	// chosen again, around the ports in use.
	if err := os.Remove(p.ConfigPath); err != nil {
		return fmt.Errorf("replace config: %w", err)
	}
	if _, err := p.WriteConfig(ctx, m.Env); err != nil {
		return err
	}
	m.notice("host port %d is forwarded by another VM now; %s gets new host ports", clash, p.Name)
	return nil
}

// cleanupTimeout bounds the delete of a half-created instance.
const cleanupTimeout = 30 * time.Second

// repairOwner writes the owner record of an instance that vmhook created
// for p (its name reservation says so) but that lacks one, as when vmhook
// was killed between create and writing the record.
func (m *Manager) repairOwner(p *Project) error {
	inst := m.Env.InstanceDir(p.Name)
	if owner, err := ReadOwner(inst); err != nil || owner != "" {
		return err
	}
	return WriteOwner(inst, p.Owner())
}

// clearDebris removes an instance directory without lima.yaml left by a
// failed create of ours (Lima refuses to create into it, and cannot delete
// it either). A directory with anything else in it is not touched.
func (m *Manager) clearDebris(p *Project) error {
	inst := m.Env.InstanceDir(p.Name)
	entries, err := os.ReadDir(inst)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %q: %w", inst, err)
	}
	// Temporary files of a killed vmhook are its own debris, not content.
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return isTempFile(e.Name()) })
	owner, _ := ReadOwner(inst)
	if owner != p.Owner() && len(entries) > 0 {
		return fmt.Errorf("%q exists but is not a Lima instance of this project; move it away and try again", inst)
	}
	if err := os.RemoveAll(inst); err != nil {
		return fmt.Errorf("remove failed instance %q: %w", inst, err)
	}
	return nil
}

// appliedFile records the hash of the config an instance was created or last
// updated from.
const appliedFile = "vmhook-applied"

func fileHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

func (m *Manager) markApplied(p *Project) error {
	h, err := fileHash(p.ConfigPath)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	return writeFileAtomic(filepath.Join(m.Env.InstanceDir(p.Name), appliedFile), []byte(h+"\n"), 0o644)
}

// Drift says how the project's config differs from what its VM runs with.
type Drift struct {
	Changed bool
	// NeedsRecreate lists fields (disk, images, vmType, arch) that only a
	// destroy and up can change.
	NeedsRecreate []string
}

// Describe is a short human description.
func (d Drift) Describe() string {
	if !d.Changed {
		return "config matches the VM"
	}
	if len(d.NeedsRecreate) > 0 {
		return "config changed since the VM was created (" + strings.Join(d.NeedsRecreate, ", ") + " need vmhook destroy, then vmhook up)"
	}
	return "config changed since the VM was created"
}

// Drift compares the generated config with the instance's copy.
func (m *Manager) Drift(p *Project) (Drift, error) {
	inst := m.Env.InstanceDir(p.Name)
	applied, err := os.ReadFile(filepath.Join(inst, appliedFile))
	if err != nil {
		return Drift{}, nil
	}
	h, err := fileHash(p.ConfigPath)
	if err != nil {
		return Drift{}, nil
	}
	if strings.TrimSpace(string(applied)) == h {
		return Drift{}, nil
	}
	d := Drift{Changed: true}
	var now, then map[string]any
	if b, err := os.ReadFile(p.ConfigPath); err == nil {
		_ = yaml.Unmarshal(b, &now)
	}
	if b, err := os.ReadFile(filepath.Join(inst, "lima.yaml")); err == nil {
		_ = yaml.Unmarshal(b, &then)
	}
	for _, k := range []string{"arch", "disk", "images", "vmType"} {
		if !reflect.DeepEqual(now[k], then[k]) {
			d.NeedsRecreate = append(d.NeedsRecreate, k)
		}
	}
	return d, nil
}

// Apply brings a changed config to an existing VM: stop, replace the
// instance's lima.yaml, start (as Colima does). Disk, image, vmType and arch
// changes are refused: they need destroy and up. Like Ensure, a project that
// lost its base name takes its hashed name.
func (m *Manager) Apply(ctx context.Context, p *Project) error {
	err := m.apply(ctx, p)
	if errors.Is(err, ErrNotOwned) && m.takeHashedName(ctx, p) {
		return m.apply(ctx, p)
	}
	return err
}

func (m *Manager) apply(ctx context.Context, p *Project) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	return m.lock(ctx, p.Name, true, func() error {
		if err := m.checkOwner(p); err != nil {
			return err
		}
		inst := m.Env.InstanceDir(p.Name)
		if InstanceState(inst) == Absent {
			return m.ensureLocked(ctx, p)
		}
		d, err := m.Drift(p)
		if err != nil {
			return err
		}
		if !d.Changed {
			return m.ensureLocked(ctx, p)
		}
		if len(d.NeedsRecreate) > 0 {
			return fmt.Errorf("%s changed for %s; run vmhook destroy, then vmhook up (the VM's disk is lost)", strings.Join(d.NeedsRecreate, ", "), p.Name)
		}
		if st := InstanceState(inst); st == Running || st == Broken {
			m.notice("stopping %s to apply the new config", p.Name)
			if err := m.Lima.Run(ctx, nil, "stop", p.Name); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(p.ConfigPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(inst, "lima.yaml"), data, 0o644); err != nil {
			return err
		}
		if err := m.markApplied(p); err != nil {
			return err
		}
		return m.runStart(ctx, p.Name)
	})
}

// Stop stops the VM if it runs.
func (m *Manager) Stop(ctx context.Context, p *Project) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	return m.lock(ctx, p.Name, true, func() error {
		switch InstanceState(m.Env.InstanceDir(p.Name)) {
		case Absent, Stopped:
			return nil
		case Broken:
			return m.Lima.Run(ctx, nil, "stop", "--force", p.Name)
		}
		return m.Lima.Run(ctx, m.OnPhase, "stop", p.Name)
	})
}

// Destroy deletes the VM and its disk. The generated config stays.
func (m *Manager) Destroy(ctx context.Context, p *Project) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	return m.lock(ctx, p.Name, false, func() error {
		if _, err := os.Stat(m.Env.InstanceDir(p.Name)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err := m.Lima.Run(ctx, nil, "delete", "--force", p.Name); err != nil {
			return err
		}
		releaseName(m.Env, p.Name)
		return nil
	})
}

// ShellArgs returns the limactl arguments that open a shell (or run cmd) in
// the VM at the project directory. SYSINIT_IN_VM is set on the command line
// as well as in the guest's environment, so nesting is refused even if the
// guest's /etc/environment was changed. The variables are leading NAME=VALUE
// words, which limactl passes as shell assignments (no env process in the
// guest, where every exec is costly under emulation). guestShell is the
// guest user's login shell (see GuestShell).
func ShellArgs(p *Project, cmd []string, guestShell string) []string {
	args := []string{"shell", "--workdir", p.Dir, p.Name}
	if p.Named {
		// A named VM mounts no project: Lima starts in the guest's home.
		args = []string{"shell", p.Name}
	}
	args = append(args, "SYSINIT_IN_VM=1", "VMHOOK_VM="+p.Name)
	switch {
	case len(cmd) > 0:
		return append(args, cmd...)
	case p.Settings.Session == "tmux":
		return append(args, "tmux", "new-session", "-A", "-s", p.Name)
	case p.Settings.Session == "zellij":
		return append(args, "zellij", "attach", "--create", p.Name)
	}
	// limactl runs a command through the user's login shell ($SHELL
	// --login -c), which has read the profile already; the interactive shell
	// it starts only needs its rc file. A second login shell would read the
	// profile twice, which costs about as much as the shell itself.
	return append(args, guestShell, "-i")
}

// defaultGuestShell is Lima's default for user.shell.
const defaultGuestShell = "/bin/bash"

// GuestShell is the login shell Lima gave the guest user: user.shell of the
// instance's config, or Lima's default.
func GuestShell(instDir string) string {
	data, err := os.ReadFile(filepath.Join(instDir, "lima.yaml"))
	if err != nil {
		return defaultGuestShell
	}
	var doc struct {
		User struct {
			Shell string `yaml:"shell"`
		} `yaml:"user"`
	}
	if yaml.Unmarshal(data, &doc) != nil || doc.User.Shell == "" {
		return defaultGuestShell
	}
	return doc.User.Shell
}

// Info is what status and list report about one VM.
type Info struct {
	Name     string    `json:"name"`
	Project  string    `json:"project"`
	State    State     `json:"status"`
	Config   string    `json:"config"`
	Ports    []PortMap `json:"ports"`
	Drift    string    `json:"drift,omitempty"`
	HandEdit bool      `json:"configHandEdited,omitempty"`
	Recreate []string  `json:"needsRecreate,omitempty"`
	Instance string    `json:"instanceDir"`
}

// PortMap is one forwarded port.
type PortMap struct {
	Guest int `json:"guest"`
	Host  int `json:"host"`
}

// Info gathers a project's status without running limactl.
func (m *Manager) Info(p *Project) Info {
	in := Info{Name: p.Name, Project: p.Owner(), State: m.State(p.Name), Config: p.ConfigPath, Instance: m.Env.InstanceDir(p.Name)}
	if mp, err := PortMapping(p.ConfigPath); err == nil {
		for _, g := range SortedPorts(mp) {
			in.Ports = append(in.Ports, PortMap{Guest: g, Host: mp[g]})
		}
	}
	if data, err := os.ReadFile(p.ConfigPath); err == nil {
		in.HandEdit = HandEdited(data)
	}
	if in.State != Absent {
		if d, _ := m.Drift(p); d.Changed {
			in.Drift, in.Recreate = d.Describe(), d.NeedsRecreate
		}
	}
	return in
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
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		inst := filepath.Join(m.Env.LimaHome, e.Name())
		owner, err := ReadOwner(inst)
		if err == nil && owner == "" && InstanceState(inst) != Absent {
			// A create vmhook was killed in: the reservation names the
			// project until the next up writes the record.
			owner, _, err = ownerOf(m.Env, e.Name())
		}
		if err != nil || owner == "" {
			continue
		}
		in := Info{Name: e.Name(), Project: owner, State: m.State(e.Name()), Instance: inst}
		if !strings.HasPrefix(owner, "vm:") {
			in.Config = filepath.Join(owner, ".lima", "config.yaml")
			if mp, err := PortMapping(in.Config); err == nil {
				for _, g := range SortedPorts(mp) {
					in.Ports = append(in.Ports, PortMap{Guest: g, Host: mp[g]})
				}
			}
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
