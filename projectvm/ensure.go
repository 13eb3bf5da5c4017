package projectvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
	// OnStarted is called once limactl start brought the VM up, with the
	// one line that says where its guest ports went (see portsLine), ""
	// when they are where they were and at their own numbers. A VM that
	// was running already is not started, and nothing is said.
	OnStarted func(ports string)
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
	return m.Env.vmLock(name)
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
	in, err := m.inspectState(p.Name)
	if err != nil {
		return err
	}
	return in.owns(p)
}

// inspectState reads what the lifecycle needs of an instance: its state
// (as the instance directory says, without Starting) and owner; no ports
// or drift, which cost more to read.
func (m *Manager) inspectState(name string) (Instance, error) {
	in := Instance{Name: name, Dir: m.Env.InstanceDir(name), State: InstanceState(m.Env.InstanceDir(name))}
	if in.State == Absent {
		return in, nil
	}
	var err error
	in.Owner, _, err = ownerOf(m.Env, name)
	return in, err
}

// locked runs fn on p's VM holding the VM's lock. Ownership is checked
// before waiting (a VM another project owns is refused at once) and again
// under the lock, where fn gets the instance as it is now: the holder
// before may have created, started or deleted it. The wait is bounded by
// LockTimeout and, when notify is set, announced through OnWait after a
// second; the work under the lock has the bounds of each limactl call.
func (m *Manager) locked(ctx context.Context, p *Project, notify bool, fn func(in Instance) error) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	var onWait func()
	if notify && m.OnWait != nil {
		onWait = func() { m.OnWait(p.Name) }
	}
	return waitLock(ctx, m.lockPath(p.Name), m.LockTimeout, onWait, func() error {
		in, err := m.inspectState(p.Name)
		if err != nil {
			return err
		}
		if err := in.owns(p); err != nil {
			return err
		}
		return fn(in)
	})
}

// Ensure makes the project's VM exist and run: created from the generated
// config if absent, started if stopped, recovered if broken. It is safe to
// call from many processes at once: only one creates or starts the VM, and
// of several projects with one basename, the ones that lose the base name
// to another take their hashed names (p.Name changes).
func (m *Manager) Ensure(ctx context.Context, p *Project) error {
	return m.retryHashed(ctx, p, m.ensure)
}

// Apply brings a changed config to an existing VM: stop, replace the
// instance's lima.yaml, start (as Colima does). Disk, image, vmType and arch
// changes are refused: they need destroy and up. Like Ensure, a project that
// lost its base name takes its hashed name.
func (m *Manager) Apply(ctx context.Context, p *Project) error {
	return m.retryHashed(ctx, p, m.apply)
}

// retryHashed runs op, and once more under the project's hashed name when
// op found the base name taken by another project since it was resolved.
func (m *Manager) retryHashed(ctx context.Context, p *Project, op func(context.Context, *Project) error) error {
	err := op(ctx, p)
	if errors.Is(err, ErrNotOwned) && m.takeHashedName(ctx, p) {
		return op(ctx, p)
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
	owner, exists, err := ownerOf(m.Env, n.Base)
	if err != nil || owner == p.Owner() || owner.IsZero() && !exists {
		return false
	}
	old := p.Name
	p.Name = n.Hashed
	if _, err := p.WriteConfig(ctx, m.Env); err != nil {
		p.Name = old
		return false
	}
	m.notice("%s is %s; this project uses %s", old, owner.describe(), p.Name)
	return true
}

// noticeDrift says, in one line, that p's VM runs behind its config and
// which command applies it.
func (m *Manager) noticeDrift(p *Project) {
	if d, _ := m.Drift(p); d.Changed {
		m.notice("%s", d.Line(p.Name))
	}
}

func (m *Manager) ensure(ctx context.Context, p *Project) error {
	// A running VM of the project's needs no lock: the common case, which
	// reads the instance once.
	in, err := m.inspectState(p.Name)
	if err != nil {
		return err
	}
	if err := in.owns(p); err != nil {
		return err
	}
	if in.State == Running {
		m.noticeDrift(p)
		return nil
	}
	return m.locked(ctx, p, true, func(in Instance) error {
		return m.ensureLocked(ctx, p, in)
	})
}

// ensureLocked creates, recovers and starts the VM as its state asks; the
// caller holds the VM's lock and has checked its owner.
func (m *Manager) ensureLocked(ctx context.Context, p *Project, in Instance) error {
	var was map[int]int
	switch in.State {
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
		var err error
		if was, err = m.preferPorts(ctx, p, in); err != nil {
			return err
		}
		if err := m.clearDebris(p); err != nil {
			return err
		}
		if err := m.ensureDataDisk(ctx, p); err != nil {
			return err
		}
		if err := m.verifyDoc(p, p.ConfigPath, "the config"); err != nil {
			return err
		}
		started := time.Now()
		if err := m.Lima.Run(ctx, m.OnPhase, "create", "--name", p.Name, "--tty=false", p.ConfigPath); err != nil {
			return m.failedCreate(p, started, err)
		}
		if err := WriteOwner(in.Dir, p.Owner()); err != nil {
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
		var err error
		if was, err = m.preferPorts(ctx, p, in); err != nil {
			return err
		}
		m.noticeDrift(p)
	}
	return m.start(ctx, p, was)
}

// verifyDoc checks, right before Lima reads the document at path, that its
// host paths still resolve to themselves (verifyHostPaths). It holds for a
// document vmhook generated, which names every path resolved; one written
// by hand, which may name a path through a link, is judged as resolved at
// every run instead (Project.Needs), right before this.
func (m *Manager) verifyDoc(p *Project, path, docName string) error {
	data, err := readNoFollow(path)
	if err != nil {
		return nil // Lima reports what it cannot read
	}
	if _, _, ok := ParseConfig(data); !ok {
		return nil
	}
	return verifyHostPaths(p.Name, docName, data, m.Env.Home)
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
	if _, err := os.Stat(m.Env.instanceFile(p.Name, limaYAML)); err != nil {
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

// freePorts makes sure no host port the registry gives the project is
// forwarded by another vmhook VM before the VM is created. That happens
// when the port registry was lost after the config was written and another
// project was given the port. A config vmhook wrote is rendered again with
// new ports; a hand-edited one is an error that says where to change it.
func (m *Manager) freePorts(ctx context.Context, p *Project) error {
	reg, err := loadPortRegistry(m.Env)
	if err != nil {
		return err
	}
	clash := reg.clash(p.ConfigPath)
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
	// Without the file and this project's claim there is no previous
	// mapping to keep: every port is chosen again, around the ports in use.
	if err := os.Remove(p.ConfigPath); err != nil {
		return fmt.Errorf("replace config: %w", err)
	}
	if _, err := p.WriteConfig(ctx, m.Env); err != nil {
		return err
	}
	m.notice("host port %d is forwarded by another VM now; %s gets new host ports", clash, p.Name)
	return nil
}

// preferPorts allocates the project's host ports again before its VM starts
// (or is created): a guest port that got another host port moves back to
// its own number when that is free and unclaimed now, and a claim released
// by destroy is taken again. A config vmhook wrote is rendered anew; when
// the stopped VM ran that very config, its copy is updated too, so a port
// that moved is not drift. A hand-edited config is left alone. was is the
// mapping before, when it changed, for the line said at the start.
func (m *Manager) preferPorts(ctx context.Context, p *Project, in Instance) (was map[int]int, err error) {
	e := m.Env
	err = withLock(ctx, e.portsLock(), nil, func() error {
		st, err := p.configState(e)
		if err != nil || st.result != ConfigUnchanged || !st.ours {
			return err
		}
		reg, err := loadPortRegistry(e)
		if err != nil {
			return err
		}
		cur := map[int]int{}
		forwards := limaForwards(p.ConfigPath)
		for _, g := range p.Settings.Ports {
			if h, ok := forwards[g]; ok {
				cur[g] = h
			}
		}
		taken := reg.claimedByOthers(p.ConfigPath)
		previous := map[int]int{}
		for g, h := range cur {
			if h != g && g >= 1024 && !taken[g] && reg.free(g) {
				continue // its own number is free again
			}
			previous[g] = h
		}
		mapping, err := reg.allocate(p.Name, p.ConfigPath, p.Settings.Ports, previous)
		if err != nil || maps.Equal(mapping, cur) {
			return err
		}
		oldHash, err := fileHash(p.ConfigPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		data, err := p.Render(mapping)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(p.ConfigPath, data, 0o644); err != nil {
			return err
		}
		rec := writtenRecord{Project: p.Owner(), Output: fullHash(data), User: userConfigHash(e), Needs: st.needs}
		if err := writeJSON(p.writtenPath(), rec); err != nil {
			return err
		}
		if in.State == Stopped {
			applied, _ := os.ReadFile(e.instanceFile(p.Name, appliedFile))
			if strings.TrimSpace(string(applied)) == oldHash {
				if err := writeFileAtomic(e.instanceFile(p.Name, limaYAML), data, 0o644); err != nil {
					return err
				}
				if err := m.markApplied(p); err != nil {
					return err
				}
			}
		}
		was = cur
		return nil
	})
	return was, err
}

// cleanupTimeout bounds the delete of a half-created instance.
const cleanupTimeout = 30 * time.Second

// repairOwner writes the owner record of an instance that vmhook created
// for p (its name reservation says so) but that lacks one, as when vmhook
// was killed between create and writing the record.
func (m *Manager) repairOwner(p *Project) error {
	inst := m.Env.InstanceDir(p.Name)
	if owner, err := ReadOwner(inst); err != nil || !owner.IsZero() {
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

func (m *Manager) markApplied(p *Project) error {
	h, err := fileHash(p.ConfigPath)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	return writeFileAtomic(m.Env.instanceFile(p.Name, appliedFile), []byte(h+"\n"), 0o644)
}

func (m *Manager) apply(ctx context.Context, p *Project) error {
	return m.locked(ctx, p, true, func(in Instance) error {
		if in.State == Absent {
			return m.ensureLocked(ctx, p, in)
		}
		d, err := m.Drift(p)
		if err != nil {
			return err
		}
		if !d.Changed {
			return m.ensureLocked(ctx, p, in)
		}
		if len(d.NeedsRecreate) > 0 {
			return fmt.Errorf("%s changed for %s; up --apply cannot change it: run %s", strings.Join(d.NeedsRecreate, ", "), p.Name, d.Fix())
		}
		if in.State == Running || in.State == Broken {
			m.notice("stopping %s to apply the new config", p.Name)
			if err := m.Lima.Run(ctx, nil, "stop", p.Name); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(p.ConfigPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if err := writeFileAtomic(m.Env.instanceFile(p.Name, limaYAML), data, 0o644); err != nil {
			return err
		}
		if err := m.markApplied(p); err != nil {
			return err
		}
		return m.start(ctx, p, nil)
	})
}

// Stop stops the VM if it runs.
func (m *Manager) Stop(ctx context.Context, p *Project) error {
	return m.locked(ctx, p, true, func(in Instance) error {
		switch in.State {
		case Absent, Stopped:
			return nil
		case Broken:
			return m.Lima.Run(ctx, nil, "stop", "--force", p.Name)
		}
		return m.Lima.Run(ctx, m.OnPhase, "stop", p.Name)
	})
}

// Destroy deletes the VM and its disk. The generated config stays, and so
// does a named VM's data disk (DeleteDataDisk deletes it).
func (m *Manager) Destroy(ctx context.Context, p *Project) error {
	return m.locked(ctx, p, false, func(in Instance) error {
		if _, err := os.Stat(in.Dir); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err := m.Lima.Run(ctx, nil, "delete", "--force", p.Name); err != nil {
			return err
		}
		releaseName(m.Env, p.Name)
		return releasePorts(ctx, m.Env, p.ConfigPath)
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
	args := append(shellPrefix(p), "SYSINIT_IN_VM=1", "VMHOOK_VM="+p.Name)
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

// shellPrefix is `limactl shell` into p's VM at the project directory (or
// p.Workdir under it), before any command.
func shellPrefix(p *Project) []string {
	if p.Named {
		// A named VM mounts no project: Lima starts in the guest's home.
		return []string{"shell", p.Name}
	}
	wd := p.Dir
	if p.Workdir != "" {
		wd = p.Workdir
	}
	return []string{"shell", "--workdir", wd, p.Name}
}

// defaultGuestShell is Lima's default for user.shell.
const defaultGuestShell = "/bin/bash"

// GuestShell is the login shell Lima gave the guest user: user.shell of the
// instance's config, or Lima's default.
func GuestShell(instDir string) string {
	data, err := os.ReadFile(filepath.Join(instDir, limaYAML))
	if err != nil {
		return defaultGuestShell
	}
	return guestShell(data)
}

// guestShell reads user.shell from a Lima config. Every entry into a VM
// asks, and the configs vmhook writes do not set it, so a config that
// cannot set it is not parsed: one that never spells "shell", and has no
// backslash escape, tag (!!binary, say) or NUL (UTF-16 or -32 text), which
// are the ways YAML could spell it otherwise.
func guestShell(data []byte) string {
	if !bytes.Contains(data, []byte("shell")) && !bytes.ContainsAny(data, "\\!\x00") {
		return defaultGuestShell
	}
	return parseGuestShell(data)
}

// parseGuestShell is the guest user's shell as the instance config sets it,
// or the default.
func parseGuestShell(data []byte) string {
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
