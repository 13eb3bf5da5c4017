// Package entry is the record that lets vmhook-enter enter a running VM
// without vmhook: the decision `vmhook shell --project DIR` took, with
// everything it was taken from. vmhook writes it after entering a running
// VM in which nothing had to change; vmhook-enter repeats the decision only
// when every input is still what it was: the same files (device, inode,
// size, times), the same host agent and VM processes (pid and start time),
// the same environment, the same limactl and the same vmhook binary. Any
// difference, or any doubt, hands the run to vmhook, which decides afresh.
//
// The package is kept to the standard library's smallest parts: it is
// linked into vmhook-enter, whose whole run is the price of an entry.
package entry

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// header starts every record; a record of another format is not read.
const header = "vmhook-entry 1"

// Record is one entry decision and what it was taken from.
type Record struct {
	// Project is the --project argument as given.
	Project string
	// Vmhook is the vmhook binary that decided: another one may decide
	// otherwise.
	Vmhook File
	// Env holds the environment entries the decision could read
	// (RelevantEnv).
	Env []string
	// Files are the files and directories read on the way, or found
	// missing.
	Files []File
	// Procs are the VM's processes as they were seen running.
	Procs []Proc
	// Limactl is what limactl was looked up as (LIMACTL, or "limactl"),
	// and Path what that found.
	Limactl, Path string
	// Command marks the decision for a command (-- CMD ARGS…), whose Argv
	// is what comes before the command; otherwise Argv is whole.
	Command bool
	// Argv is what vmhook executed Path with.
	Argv []string
	// Terminal is whether stdin and stdout were both terminals, StderrTTY
	// whether stderr was.
	Terminal, StderrTTY bool
	// Said are the lines printed to stderr before the exec, as printed.
	Said []string
}

// File is a path as stat(2) (Follow) or lstat(2) saw it.
type File struct {
	Path   string
	Follow bool
	// List marks a directory whose entries matter: it is compared by its
	// times too.
	List bool
	// Missing marks a path that did not exist (ENOENT or ENOTDIR).
	Missing bool
	Mode    uint32
	Dev     uint64
	Ino     uint64
	Size    int64
	Mtime   int64 // nanoseconds
	Ctime   int64 // nanoseconds
}

// Proc is a process by pid and start time (clock ticks after boot), which
// together name one process for as long as it lives.
type Proc struct {
	Pid   int
	Start uint64
}

// Stat returns path as it is now; Follow resolves a final symbolic link.
// Errors other than a missing path are reported, and so is every path
// where records are not kept (anywhere but Linux).
func Stat(path string, follow bool) (File, error) {
	f := File{Path: path, Follow: follow}
	err := stat(&f)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return File{Path: path, Follow: follow, Missing: true}, nil
	}
	if err != nil {
		return f, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return f, nil
}

// Same reports whether f is still what it was. A directory is compared by
// what it is (type, device, inode), not by its times, unless it is a List:
// an entry made or removed in it changes them, and the entries that matter
// are listed themselves.
func (f File) Same() bool {
	now, err := Stat(f.Path, f.Follow)
	if err != nil {
		return false
	}
	now.List = f.List
	if f.IsDir() && !f.List {
		return now.Mode == f.Mode && now.Dev == f.Dev && now.Ino == f.Ino && !now.Missing
	}
	return now == f
}

// IsDir reports whether f was a directory.
func (f File) IsDir() bool { return !f.Missing && f.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// ProcNow returns the process pid if it is alive (not a zombie), with its
// start time.
func ProcNow(pid int) (Proc, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	// The fields after the parenthesised command name, which may itself
	// hold spaces and parentheses: state is field 3 of proc(5)'s list,
	// starttime field 22.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Proc{}, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return Proc{}, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return Proc{}, false
	}
	return Proc{Pid: pid, Start: start}, true
}

// Relevant reports whether the environment entry kv is one a decision to
// enter can depend on: vmhook's, Lima's, the guard's, the directories
// vmhook derives its paths from, the lookup of limactl, and the settings
// `use vm` passes on (VM_*). VMHOOK_HOOK, which names the shell's pid for
// vmhook doctor, is not: with it every terminal would decide afresh.
func Relevant(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	switch name {
	case "VMHOOK_HOOK":
		return false
	case "HOME", "PATH", "SHELL", "USER", "NO_COLOR", "TMUX", "DIRENV_IN_ENVRC", "DIRENV_CONFIG":
		return true
	}
	for _, prefix := range []string{"VMHOOK_", "SYSINIT_", "LIMA", "XDG_", "VM_"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// RelevantEnv returns the entries of environ that Relevant keeps, one per
// name (the last, which is the one read), sorted: shells reorder their
// environment as direnv unloads and loads it. It takes time linear in
// environ, however many entries share a prefix.
//
// The variables VMHOOK_GUEST_ENV names (use vm --env) are relevant too: their
// values reach the guest.
func RelevantEnv(environ []string) []string {
	var out []string
	seen := map[string]bool{}
	guest := map[string]bool{}
	for _, name := range strings.Fields(Getenv(environ, "VMHOOK_GUEST_ENV")) {
		guest[name] = true
	}
	for i := len(environ) - 1; i >= 0; i-- {
		kv := environ[i]
		if name, _, _ := strings.Cut(kv, "="); !Relevant(kv) && !guest[name] {
			continue
		}
		name, _, _ := strings.Cut(kv, "=")
		if !seen[name] {
			seen[name] = true
			out = append(out, kv)
		}
	}
	slices.Sort(out)
	return out
}

// Getenv returns the value of the last entry for name in environ, as the
// shell and every part of vmhook read it.
func Getenv(environ []string, name string) string {
	v, _ := LookupEnv(environ, name)
	return v
}

// LookupEnv is Getenv that also reports whether name is set at all.
func LookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Dir is where records are kept for the environment environ: beside the
// `use vm` answers in vmhook's state directory ($XDG_STATE_HOME/vmhook).
// It is "" without HOME.
func Dir(environ []string) string {
	state := Getenv(environ, "XDG_STATE_HOME")
	if state == "" {
		home := Getenv(environ, "HOME")
		if home == "" {
			return ""
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "vmhook", "enter")
}

// Load reads the record at path, made under dir (Dir), for the --project
// argument project, and returns it only when it can be this user's own
// decision: a regular file opened without following a link, it and every
// directory up to dir owned by this user and writable by no one else, and
// a record of what a steady entry is taken from (the project's files, and
// the host agent and VM processes it saw running). Anything else reads as
// no record: vmhook decides.
func Load(path, dir, project string) (*Record, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !ownedSafe(f, dir) {
		return nil, errBad
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil || len(data) > maxRecord {
		return nil, errBad
	}
	r, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if r.Project != project || len(r.Procs) < 2 || !slices.ContainsFunc(r.Files, func(f File) bool { return f.Path == project }) {
		return nil, errBad
	}
	return r, nil
}

// maxRecord bounds a record: a project's inputs take a few KiB.
const maxRecord = 1 << 20

// nameMax is the longest record file name; a longer --project argument has
// no record (every entry asks vmhook).
const nameMax = 240

// Path is the record of the --project argument project under dir, for
// entering (a shell) or for running a command, or "" when the argument is
// too long to name a file.
func Path(dir, project string, command bool) string {
	name := strings.ReplaceAll(project, "%", "%25")
	name = strings.ReplaceAll(name, "/", "%2F")
	if dir == "" || len(name) > nameMax {
		return ""
	}
	kind := "shell"
	if command {
		kind = "command"
	}
	return filepath.Join(dir, kind, name)
}

// LookPath finds name as os/exec.LookPath does, in the directories of path
// (a PATH value): a name with a slash as it is, otherwise the first
// executable regular file called name in them. What it finds may be
// relative, which LookPath refuses and a shell runs.
func LookPath(name, path string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, Executable(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); Executable(p) {
			return p, true
		}
	}
	return "", false
}

// Executable reports whether path is a regular file someone may execute.
func Executable(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0
}

// Check reports whether r still holds for a run with the --project argument
// project, a command or none, the environment environ, the vmhook binary at
// vmhook, and terminals as given. It reads only what it must, stopping at
// the first difference.
func (r *Record) Check(project string, command bool, environ []string, vmhook string, terminal, stderrTTY bool) bool {
	return r.Diff(project, command, environ, vmhook, terminal, stderrTTY) == ""
}

// Diff is Check saying what differs first, or "".
func (r *Record) Diff(project string, command bool, environ []string, vmhook string, terminal, stderrTTY bool) string {
	switch {
	case r.Project != project:
		return "project " + project
	case r.Command != command:
		return "command or shell"
	case r.Terminal != terminal || r.StderrTTY != stderrTTY:
		return "terminals"
	}
	env := RelevantEnv(environ)
	if len(env) != len(r.Env) {
		return "environment"
	}
	for i := range env {
		if env[i] != r.Env[i] {
			return "environment: " + env[i]
		}
	}
	if r.Vmhook.Path != vmhook || !r.Vmhook.Same() {
		return "vmhook " + vmhook
	}
	for _, f := range r.Files {
		if !f.Same() {
			return "file " + f.Path
		}
	}
	for _, p := range r.Procs {
		if now, ok := ProcNow(p.Pid); !ok || now != p {
			return "process " + strconv.Itoa(p.Pid)
		}
	}
	// vmhook found limactl at an absolute path (os/exec refuses others).
	if found, ok := LookPath(r.Limactl, Getenv(environ, "PATH")); !ok || found != r.Path {
		return "limactl " + found
	}
	return ""
}
