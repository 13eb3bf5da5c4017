package projectvm

import (
	"fmt"
	"path/filepath"
	"strings"
)

// This file names every path vmhook owns or reads, in three places: the
// project (its settings and generated config), vmhook's state directory
// ($XDG_STATE_HOME/vmhook: locks, name reservations, the port registry,
// per-project records, caches) and Lima's instance directories (vmhook's
// records beside Lima's own files). Code elsewhere asks for a path here and
// never joins one itself, so a file has one name and one place; stdlib.sh
// computes the path of the `use vm` cache the same way (UseCache), and a
// test keeps the two in step.

// Files in a project directory.
const (
	// ProjectFile is the committed per-project settings file.
	ProjectFile = "vmhook.yaml"
	// projectLimaDir holds the generated config (and nothing vmhook trusts).
	projectLimaDir = ".lima"
	// projectConfigFile is the generated Lima config in projectLimaDir.
	projectConfigFile = "config.yaml"
)

// ProjectConfig is the generated Lima config of the project directory dir.
func ProjectConfig(dir string) string {
	return filepath.Join(dir, projectLimaDir, projectConfigFile)
}

// ProjectSettings is the vmhook.yaml of the project directory dir.
func ProjectSettings(dir string) string { return filepath.Join(dir, ProjectFile) }

// Files in a Lima instance directory, the ones vmhook writes and the ones of
// Lima's that it reads.
const (
	// ownerFile records who created the instance (see encodeOwner).
	ownerFile = "vmhook-owner"
	// appliedFile records the hash of the config the instance was created
	// or last updated from.
	appliedFile = "vmhook-applied"
	// limaYAML is Lima's copy of the config; without it there is no
	// instance.
	limaYAML = "lima.yaml"
	// hostAgentLog is where Lima's host agent logs, one JSON object per line
	// (logrus), the cause of a failed start included.
	hostAgentLog = "ha.stderr.log"
	// hostAgentPid names the live host agent.
	hostAgentPid = "ha.pid"
	// guestGuardFile records, for one boot of the instance (the host
	// agent's pid), whether the guest's login environment carries the
	// nesting guard: "PID yes" or "PID no" (see GuardInGuest).
	guestGuardFile = "vmhook-guest-guard"
)

// driverPidFiles are the VM process pid files Lima's drivers write, with a
// word of the process's command line (guarding against pid reuse).
var driverPidFiles = []struct{ file, cmd string }{
	{"qemu.pid", "qemu"},
	{"vz.pid", ""},
	{"krunkit.pid", "krunkit"},
}

// InstanceDir is Lima's directory for instance name.
func (e Env) InstanceDir(name string) string { return filepath.Join(e.LimaHome, name) }

// instanceFile is file in the instance directory of name.
func (e Env) instanceFile(name, file string) string {
	return filepath.Join(e.InstanceDir(name), file)
}

// diskDir is Lima's directory for the disk called name (limactl disk
// create); vmhook records its owner there as in an instance directory.
func (e Env) diskDir(name string) string { return filepath.Join(e.LimaHome, "_disks", name) }

// limaGlobalConfig is a file of Lima's own configuration under limaHome
// ($LIMA_HOME/_config), merged into every instance.
func limaGlobalConfig(limaHome, file string) string {
	return filepath.Join(limaHome, "_config", file)
}

// LimaSSHConfig is the ssh client config Lima writes for a running
// instance; ssh and WezTerm entries reach the guest through it.
func (e Env) LimaSSHConfig(name string) string { return e.instanceFile(name, "ssh.config") }

// LimaUserKey is the private key Lima's ssh config logs in with.
func (e Env) LimaUserKey() string { return limaGlobalConfig(e.LimaHome, "user") }

// AutostartLog is where the login item that starts named VM name logs.
func (e Env) AutostartLog(name string) string {
	return filepath.Join(e.stateDir(), "autostart-"+name+".log")
}

// UserConfig is the path of the user defaults file.
func (e Env) UserConfig() string { return filepath.Join(e.ConfigHome, "vmhook", "config.yaml") }

// VMDefinition is the path of a named VM's definition.
func (e Env) VMDefinition(name string) string {
	return filepath.Join(e.ConfigHome, "vmhook", "vms", name+".yaml")
}

// stateDir is vmhook's own directory: nothing a project holds is read from
// it, and nothing in it comes from a project.
func (e Env) stateDir() string { return filepath.Join(e.StateHome, "vmhook") }

// LockDir holds vmhook's lock files.
func (e Env) LockDir() string { return filepath.Join(e.stateDir(), "locks") }

// vmLock is held while a VM is created, started, stopped, updated or
// deleted.
func (e Env) vmLock(name string) string { return filepath.Join(e.LockDir(), name+".lock") }

// portsLock is held while host ports are allocated.
func (e Env) portsLock() string { return filepath.Join(e.LockDir(), "ports.lock") }

// namesLock is held while a name is reserved.
func (e Env) namesLock() string { return filepath.Join(e.LockDir(), "names.lock") }

// nameClaim is vmhook's reservation of a VM name, written before limactl
// create makes the instance directory (Lima refuses to create into an
// existing directory, so the owner record can only follow it). Names are
// Lima's per LIMA_HOME, and so are reservations: they sit in a directory
// keyed by the real path of LIMA_HOME. Earlier versions kept them in
// names/ itself, for every LIMA_HOME at once; those are not read, since
// they cannot say which LIMA_HOME they were for (an instance whose create
// was cut short under them is taken back with vmhook adopt).
func (e Env) nameClaim(name string) string {
	return filepath.Join(e.stateDir(), "names", limaHomeKey(e.LimaHome), name)
}

// limaHomeKey names a LIMA_HOME in vmhook's state: a hash of its real path
// (of its nearest existing ancestor's, before Lima creates it).
func limaHomeKey(limaHome string) string { return "lima-" + hashHex([]byte(realPath(limaHome))) }

// portRegistry records the host ports each VM was given.
func (e Env) portRegistry() string { return filepath.Join(e.stateDir(), "ports.json") }

// limaVersionCache records the version of each limactl binary asked.
func (e Env) limaVersionCache() string { return filepath.Join(e.stateDir(), "limactl-version.json") }

// ProjectStateDir holds vmhook's records of one project on this machine (the
// config it wrote, the user's consent, remembered flags), keyed by the
// project's real path.
func (e Env) ProjectStateDir(owner string) string {
	return filepath.Join(e.stateDir(), "projects", hashHex([]byte(owner)))
}

// dirRecord remembers the path that stands for the directory with device
// dev and inode ino: the first at which it was opened as a project (see
// canonicalDir).
func (e Env) dirRecord(dev, ino uint64) string {
	return filepath.Join(e.stateDir(), "dirs", fmt.Sprintf("%x-%x", dev, ino))
}

// namedStateDir holds a named VM's generated config and records.
func (e Env) namedStateDir(name string) string { return filepath.Join(e.stateDir(), "vms", name) }

// namedConfig is the generated Lima config of named VM name.
func (e Env) namedConfig(name string) string {
	return filepath.Join(e.namedStateDir(name), "lima.yaml")
}

// Files in a project's state directory (Project.StateDir).
const (
	flagsFile   = "flags.json"   // the settings flags of the last `use vm`
	writtenFile = "written.json" // what vmhook last wrote as the config
	allowedFile = "allowed.json" // the user's consent
)

// TrustStamp is touched whenever the user allows or revokes a project, so
// `use vm` (which watches it) runs vmhook again.
func (e Env) TrustStamp() string { return filepath.Join(e.stateDir(), "trust-changed") }

// UseCacheDir holds the answers `use vm` reuses while nothing changed. It is
// vmhook's own directory: a project cannot plant a cache there.
func (e Env) UseCacheDir() string { return filepath.Join(e.stateDir(), "use-vm") }

// useCacheNameMax is the longest cache file name; a longer directory has no
// cache (vmhook runs at every load).
const useCacheNameMax = 240

// UseCache is the file in which `use vm` keeps its last answer for the
// directory dir (as the shell reached it), or "" when dir's name is too
// long to be a file name. stdlib.sh computes the same path with builtins.
func (e Env) UseCache(dir string) string {
	name := strings.ReplaceAll(dir, "%", "%25")
	name = strings.ReplaceAll(name, "/", "%2F")
	if len(name) > useCacheNameMax {
		return ""
	}
	return filepath.Join(e.UseCacheDir(), name)
}

// EntryRecords holds the recorded entries vmhook-enter repeats, one per
// project argument and kind (package entry, which computes the same path
// from the environment).
func (e Env) EntryRecords() string { return filepath.Join(e.stateDir(), "enter") }
