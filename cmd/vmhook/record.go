package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/vmhook/vmhook/internal/atomicfile"
	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/projectvm"
)

// settle is how recent a change to an input may be for the run not to
// record its decision: file times come from a clock that may lag the one
// vmhook reads by a few milliseconds.
const settle = 100 * time.Millisecond

// coarseSettle is settle for a file time in whole seconds, as file systems
// with one- or two-second timestamps give: an edit in the same second
// would leave the time as recorded, and the same size would hide it.
const coarseSettle = 2 * time.Second

// entryRecord is where an entry with cl and cmd is recorded, or "" for
// one that is not: vmhook-enter knows a project only by an absolute
// --project, and records are kept on Linux only.
func (r *rt) entryRecord(cl call, cmd []string) string {
	if !entry.Supported || cl.vm != "" || !filepath.IsAbs(cl.project) {
		return ""
	}
	return entry.Path(entry.Dir(r.environ), cl.project, len(cmd) > 0)
}

// forgetEntry removes the record of the last entry into the project cl
// names, which this run of vmhook shell decides afresh; recordEntry writes
// the new one if there is one to write.
func (r *rt) forgetEntry(cl call, cmd []string) {
	if path := r.entryRecord(cl, cmd); path != "" {
		_ = os.Remove(path)
	}
}

// recordEntry records the decision to run limactl with args, for
// vmhook-enter to repeat while nothing it was taken from changes (package
// entry). Only a steady entry is recorded: one entryRecord names, into a
// VM that was running, with nothing written, started or waited for. Any input changed since the run began
// (one it wrote, or anyone else) leaves the record out, so that a change
// racing with the decision is never recorded as seen; the next entry
// records it. Failing to record costs only speed, so it is silent.
func (r *rt) recordEntry(cl call, m *projectvm.Manager, p *projectvm.Project, cmd, args []string) {
	path := r.entryRecord(cl, cmd)
	lima, ok := m.Lima.(*projectvm.Command)
	if !ok || path == "" || p.Named || r.busy.Load() || r.saidOnce {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	rec := &entry.Record{
		Project:   cl.project,
		Env:       entry.RelevantEnv(r.environ),
		Limactl:   r.getenv("LIMACTL"),
		Path:      lima.Path,
		Command:   len(cmd) > 0,
		Argv:      append([]string{"limactl"}, args[:len(args)-len(cmd)]...),
		Terminal:  r.interactive(),
		StderrTTY: isTerminal(r.stderr),
		Said:      r.said,
	}
	if rec.Limactl == "" {
		rec.Limactl = "limactl"
	}
	stat := func(path string, follow, list bool) bool {
		f, err := entry.Stat(path, follow)
		f.List = list
		if err != nil || unsettled(f, r.start) {
			return false
		}
		rec.Files = append(rec.Files, f)
		return true
	}
	if rec.Vmhook, err = entry.Stat(self, true); err != nil || rec.Vmhook.Missing {
		return
	}
	paths, follow, lists := m.EntryInputs(p, cl.project)
	// What is below a missing directory is missing while it is.
	missing := map[string]bool{}
	for _, path := range paths {
		if missing[filepath.Dir(path)] {
			missing[path] = true
			continue
		}
		if !stat(path, false, false) {
			return
		}
		missing[path] = rec.Files[len(rec.Files)-1].Missing
	}
	for _, path := range append(follow, lima.Path) {
		if !stat(path, true, false) {
			return
		}
	}
	for _, path := range lists {
		if !stat(path, false, true) {
			return
		}
	}
	for _, pid := range m.LivePids(p) {
		proc, ok := entry.ProcNow(pid)
		if !ok {
			return
		}
		rec.Procs = append(rec.Procs, proc)
	}
	if len(rec.Procs) < 2 {
		return // a host agent and a VM process: Running, as Ensure saw it
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	_ = atomicfile.Write(path, rec.Encode(), 0o600)
}

// unsettled reports whether f changed so shortly before a run that began at
// start that a later change could leave it looking the same: within
// settle, or within coarseSettle for a time in whole seconds. A directory
// compared by what it is, not by its times, is never unsettled.
func unsettled(f entry.File, start time.Time) bool {
	if f.Missing || f.IsDir() && !f.List {
		return false
	}
	if f.Ctime%int64(time.Second) == 0 {
		return f.Ctime >= start.Add(-coarseSettle).UnixNano()
	}
	return f.Ctime >= start.Add(-settle).UnixNano()
}
