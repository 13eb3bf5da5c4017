package projectvm

import "path/filepath"

// EntryInputs are the paths that entering p's running VM is decided from
// (OpenProject, WriteConfig with nothing to write, Ensure of a running VM,
// EnterArgs), for a record of the decision that vmhook-enter repeats while
// none of them changes (package entry). The record compares
// them with lstat(2), and follow with stat(2).
//
// Every path in the chain to each one is listed, so that a directory
// swapped for a link is seen; so are the files the decision found missing,
// whose appearance changes it, each after the directories above it. arg is
// the --project argument as given. The directories in lists are the ones
// read for their entries, whose times the record compares too; a steady
// entry reads none (where ports went is said when the VM starts, not at an
// entry). TestEntryInputsCoverEntry holds this list to what an
// entry reads.
func (m *Manager) EntryInputs(p *Project, arg string) (paths, follow, lists []string) {
	e := m.Env
	seen := map[string]bool{}
	// Each path comes after the directories above it, so that a record
	// can leave out what is below a missing one.
	add := func(ps ...string) {
		for _, path := range ps {
			var chain []string
			for d := path; !seen[d]; d = filepath.Dir(d) {
				seen[d] = true
				chain = append(chain, d)
			}
			for i := len(chain) - 1; i >= 0; i-- {
				paths = append(paths, chain[i])
			}
		}
	}
	add(arg, p.Dir, e.Home, filepath.Join(e.Home, ".ssh"))
	for _, dir := range []string{arg, p.Dir} {
		if id, ok := statDir(dir); ok {
			add(e.dirRecord(id.dev, id.ino))
		}
	}
	add(p.SettingsPath, p.ConfigPath, e.UserConfig(), e.TrustStamp(),
		filepath.Join(p.StateDir, flagsFile), filepath.Join(p.StateDir, writtenFile), filepath.Join(p.StateDir, allowedFile),
		e.limaVersionCache())
	names := []string{p.Name}
	if n, err := DeriveNames(p.Dir, e.LimaHome); err == nil {
		names = append(names, n.Base, n.Hashed)
	}
	for _, name := range names {
		add(e.nameClaim(name))
		for _, f := range []string{limaYAML, hostAgentPid, ownerFile, appliedFile, guestGuardFile} {
			add(e.instanceFile(name, f))
		}
		for _, d := range driverPidFiles {
			add(e.instanceFile(name, d.file))
		}
	}
	// The host paths of the settings, as written and as resolved: a link
	// retargeted on the way to one changes what the decision judges.
	add(p.Settings.hostPathInputs()...)
	// The guest's environment: the env file, and the file written from it.
	add(p.GuestEnvInputs()...)
	return paths, []string{arg}, nil
}

// LivePids are the pids of p's VM processes that InstanceState counts as
// alive: the host agent and the VM process.
func (m *Manager) LivePids(p *Project) []int {
	var pids []int
	files := []struct{ file, cmd string }{{hostAgentPid, "hostagent"}}
	for _, f := range append(files, driverPidFiles...) {
		if pid := alivePid(m.Env.instanceFile(p.Name, f.file), f.cmd); pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hostPathInputs are the host paths s names, each as written and as
// resolved (HostPaths), for the entry record: what the decision resolved.
func (s Settings) hostPathInputs() []string {
	var out []string
	for _, m := range s.Mounts {
		out = append(out, m.Location)
	}
	for _, so := range s.Sockets {
		out = append(out, so.Host)
	}
	if p, local := localFile(s.Image.Location); local && p != "" {
		out = append(out, p)
	}
	out = append(out, s.AllowMounts...)
	for _, hp := range s.HostPaths {
		out = append(out, hp.Written, hp.Resolved)
	}
	for _, hp := range limaHostPaths(s.Lima) {
		out = append(out, hp.value)
	}
	var abs []string
	for _, p := range out {
		if filepath.IsAbs(p) {
			abs = append(abs, filepath.Clean(p))
		}
	}
	return abs
}
