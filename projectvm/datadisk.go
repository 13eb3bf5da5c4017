package projectvm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
)

// DataDisk is a named VM's data disk: a Lima disk (limactl disk create)
// that vmhook creates once and attaches to the VM, mounted over Path in the
// guest. It is kept when the VM is destroyed, so the next VM of the name
// finds the data again; only destroy --data deletes it.
type DataDisk struct {
	// Size is the disk's size when vmhook creates it, such as 20GiB.
	Size string `yaml:"size" json:"size"`
	// Path is where the guest sees the disk: "~" (the guest user's home),
	// "~/DIR" or an absolute path.
	Path string `yaml:"path" json:"path"`
}

// DefaultDataSize is the size of a data disk whose setting names none.
// Lima's disks grow as they are written, so this is a ceiling.
const DefaultDataSize = "20GiB"

// DataDiskName is the name of the data disk of the VM called vm, in Lima's
// disk namespace (one per LIMA_HOME). A VM name is a Lima identifier, and so
// is the name with a suffix of letters.
func DataDiskName(vm string) string { return vm + "-data" }

// dataPathRE is the shape of a data path: ~, ~/DIR or /DIR, in characters
// that need no quoting anywhere.
var dataPathRE = regexp.MustCompile(`^(?:~|~/[A-Za-z0-9._/-]+|/[A-Za-z0-9._/-]*)$`)

// systemDirs are guest directories the system runs from: a disk mounted
// over one of them (or below it) at boot would hide what the guest needs.
var systemDirs = []string{"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "nix", "proc", "run", "sbin", "sys", "usr"}

// checkDataPath says what is wrong with a data path, or "".
func checkDataPath(p string) string {
	if !dataPathRE.MatchString(p) {
		return fmt.Sprintf("%q must be ~ (the guest home), ~/DIR or an absolute path, in letters, digits and . _ - /", p)
	}
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/"), "/") {
		if part == "." || part == ".." {
			return fmt.Sprintf("%q must not contain . or .. components", p)
		}
	}
	if strings.HasPrefix(p, "~") {
		return ""
	}
	c := path.Clean(p)
	first, _, _ := strings.Cut(strings.TrimPrefix(c, "/"), "/")
	switch {
	case c == "/" || c == "/home" || c == "/var" || c == "/mnt":
		return fmt.Sprintf("%q would hide the guest's own files; pick a directory of its own, or ~ for the home", p)
	case strings.HasPrefix(c, "/mnt/lima-"):
		return fmt.Sprintf("%q is where Lima mounts its own disks", p)
	}
	for _, d := range systemDirs {
		if first == d {
			return fmt.Sprintf("%q is in /%s, which the guest system runs from", p, d)
		}
	}
	return ""
}

// cleanDataPath drops repeated and trailing slashes.
func cleanDataPath(p string) string {
	if p == "~" {
		return p
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return "~/" + strings.TrimPrefix(path.Clean("/"+rest), "/")
	}
	return path.Clean(p)
}

// guestDataMount is where Lima mounts the disk called disk in the guest.
func guestDataMount(disk string) string { return "/mnt/lima-" + disk }

// dataScript is the system provision step that puts the data disk at its
// path. Lima runs system steps as root at every boot, after its boot
// scripts have formatted and mounted the disk (05-lima-disks.sh) and before
// the user's own steps and before `limactl start` returns, so nothing of
// vmhook's logs in before it. The first boot copies what is at the path
// (the fresh home, with its ssh keys) onto the disk; every boot binds the
// disk's copy over the path. The disk outlives the VM, so the home on it
// may be older than this VM's: the keys cloud-init gave this VM are added
// to it, or ssh (Lima's own included) could not log in.
func dataScript(disk, guestPath string) string {
	target := shellquote.POSIX(guestPath)
	home := false
	switch {
	case guestPath == "~":
		target, home = `"$LIMA_CIDATA_HOME"`, true
	case strings.HasPrefix(guestPath, "~/"):
		target = `"$LIMA_CIDATA_HOME"/` + shellquote.POSIX(strings.TrimPrefix(guestPath, "~/"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
# vmhook: keep %s on the data disk %s, which outlives this VM.
set -eu
disk=%s
store="$disk/data"
target=%s
user="$LIMA_CIDATA_USER"
group="$(id -gn "$user")"
if ! mountpoint -q "$disk"; then
	echo "vmhook: the data disk is not mounted at $disk; $target stays on the VM's own disk" >&2
	exit 1
fi
if mountpoint -q "$target"; then
	exit 0
fi
if [ ! -d "$target" ]; then
	case "$target" in
	"$LIMA_CIDATA_HOME"/*) runuser -u "$user" -- mkdir -p "$target" ;;
	*) mkdir -p "$target" && chown "$user:$group" "$target" ;;
	esac
fi
if [ ! -d "$store" ]; then
	rm -rf "$store.new"
	cp -a "$target" "$store.new"
	mv "$store.new" "$store"
fi
`, guestPath, disk, shellquote.POSIX(guestDataMount(disk)), target)
	if home {
		b.WriteString(`chown "$user:$group" "$store"
keys="$target/.ssh/authorized_keys"
if [ -f "$keys" ]; then
	mkdir -p "$store/.ssh"
	touch "$store/.ssh/authorized_keys"
	while IFS= read -r key; do
		grep -qxF -e "$key" "$store/.ssh/authorized_keys" || printf '%s\n' "$key" >>"$store/.ssh/authorized_keys"
	done <"$keys"
	chown "$user:$group" "$store/.ssh" "$store/.ssh/authorized_keys"
	chmod 700 "$store/.ssh"
	chmod 600 "$store/.ssh/authorized_keys"
fi
`)
	}
	b.WriteString(`mount --bind "$store" "$target"
`)
	return b.String()
}

// DataDiskState is what status says of a VM's data disk.
type DataDiskState struct {
	// Disk is the Lima disk's name.
	Disk string `json:"disk"`
	// Size and Path are the setting's (empty when the definition has no
	// data: but the disk is still there).
	Size string `json:"size,omitempty"`
	Path string `json:"path,omitempty"`
	// Exists says whether the disk is there; Ours whether vmhook made it
	// for this VM.
	Exists bool `json:"exists"`
	Ours   bool `json:"ours"`
}

// DataDiskOf reads the state of p's data disk; ok is false when p has no
// data setting and no disk of its own.
func (m *Manager) DataDiskOf(p *Project) (st DataDiskState, ok bool) {
	st.Disk = DataDiskName(p.Name)
	if d := p.Settings.Data; d != nil {
		st.Size, st.Path = d.Size, d.Path
	}
	st.Exists, st.Ours = m.dataDiskOwned(p)
	return st, p.Settings.Data != nil || st.Ours
}

// dataDiskOwned says whether anything is where p's data disk belongs and
// whether it is the disk vmhook created for p: a directory (never a link
// to one) whose owner record names p.
func (m *Manager) dataDiskOwned(p *Project) (exists, ours bool) {
	exists, ours, _ = m.foreignDataDisk(p)
	return exists, ours
}

// foreignDataDisk is dataDiskOwned, with what stands there when it is not
// p's disk, in words that finish "vmhook leaves it alone".
func (m *Manager) foreignDataDisk(p *Project) (exists, ours bool, what string) {
	disk := DataDiskName(p.Name)
	dir := m.Env.diskDir(disk)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false, ""
	case err != nil:
		return true, false, fmt.Sprintf("%s cannot be read (%v)", quoteArg(dir), err)
	case !fi.IsDir():
		return true, false, fmt.Sprintf("%s is %s, not a Lima disk", quoteArg(dir), fileKind(fi.Mode()))
	}
	owner, err := ReadOwner(dir)
	switch {
	case err != nil:
		return true, false, fmt.Sprintf("the owner record of Lima disk %q cannot be read", disk)
	case owner.IsZero():
		return true, false, fmt.Sprintf("Lima disk %q was not created by vmhook", disk)
	case owner.Named() && owner != p.Owner():
		return true, false, fmt.Sprintf("Lima disk %q is the data disk of the VM defined in %s", disk, quoteArg(owner.Definition))
	case owner != p.Owner():
		return true, false, fmt.Sprintf("Lima disk %q was created by vmhook for the project %s", disk, quoteArg(owner.Dir))
	}
	return true, true, ""
}

// CheckDataDiskDeletable refuses destroy --data, before anything is
// destroyed, when what is where p's data disk belongs is not the disk vmhook
// created for p: vmhook deletes only what it made.
func (m *Manager) CheckDataDiskDeletable(p *Project) error {
	if exists, ours, what := m.foreignDataDisk(p); exists && !ours {
		return fmt.Errorf("not deleting the data disk of %s: %s, so vmhook leaves it alone; nothing was destroyed (without --data, destroy removes the VM only)", p.Name, what)
	}
	return nil
}

// ensureDataDisk creates p's data disk when its settings ask for one and
// it is not there yet. The caller holds the VM's lock; the disk is created
// before the VM that attaches it is created or started.
func (m *Manager) ensureDataDisk(ctx context.Context, p *Project) error {
	d := p.Settings.Data
	if d == nil {
		return nil
	}
	disk := DataDiskName(p.Name)
	dir := m.Env.diskDir(disk)
	exists, ours := m.dataDiskOwned(p)
	switch {
	case ours:
		return nil
	case exists:
		return fmt.Errorf("Lima already has a disk %q that vmhook did not create for %s; delete it (limactl disk delete %s) or move the data off it first", disk, p.Name, disk)
	}
	if err := m.Lima.Run(ctx, nil, "disk", "create", disk, "--size", d.Size); err != nil {
		return fmt.Errorf("create data disk %q: %w", disk, err)
	}
	if err := WriteOwner(dir, p.Owner()); err != nil {
		return fmt.Errorf("record data disk %q: %w", disk, err)
	}
	m.notice("created data disk %s (%s) for %s", disk, d.Size, p.Name)
	return nil
}

// DeleteDataDisk deletes p's data disk, if vmhook made it for p; the VM
// must be gone (Lima keeps a disk an instance names). It reports whether
// there was a disk to delete.
func (m *Manager) DeleteDataDisk(ctx context.Context, p *Project) (bool, error) {
	var deleted bool
	err := m.locked(ctx, p, false, func(in Instance) error {
		if in.State != Absent {
			return fmt.Errorf("%s still exists; its data disk is deleted with the VM (vmhook destroy --data)", p.Name)
		}
		disk := DataDiskName(p.Name)
		exists, ours, what := m.foreignDataDisk(p)
		switch {
		case !exists:
			return nil
		case !ours:
			return fmt.Errorf("not deleting the data disk of %s: %s, so vmhook leaves it alone", p.Name, what)
		}
		if err := m.Lima.Run(ctx, nil, "disk", "delete", disk); err != nil {
			return fmt.Errorf("delete data disk %q: %w", disk, err)
		}
		// Lima skips, and exits 0, when another instance's config names
		// the disk.
		if _, err := os.Stat(m.Env.diskDir(disk)); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("limactl kept data disk %q: another Lima instance names it in its additionalDisks", disk)
		}
		deleted = true
		return nil
	})
	return deleted, err
}
