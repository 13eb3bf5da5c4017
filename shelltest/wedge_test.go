package shelltest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestInterruptHungStart: Ctrl-C while the hook starts a VM whose limactl
// ignores SIGINT and SIGTERM (and left a child holding its stderr) gives the
// prompt back with one line; limactl and its child are gone, the shell works,
// $? is the user's, and the hook does not try again in this visit.
func TestInterruptHungStart(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, "FAKE_LIMACTL_HANG=start")
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("start", 1)
		// Both hanging processes ignore SIGINT once they are recorded.
		waitFor(t, "the hanging limactl", func() bool { return len(w.hung()) == 2 }, tm.report)
		tm.key("C-c")
		// test that the prompt comes back with one line
		tm.waitLine("vmhook: interrupted while starting " + w.vm)
		tm.sync()
		if n := tm.vmhookLines("interrupted"); n != 1 {
			t.Errorf("%d lines say interrupted, want 1\n%s", n, tm.report())
		}
		// test that limactl and the child it left were killed
		waitFor(t, "the hanging limactl to be killed", func() bool {
			for _, pid := range w.hung() {
				if alive(pid) {
					return false
				}
			}
			return true
		}, tm.report)
		// test that the shell works, keeps $?, and the hook does not retry
		tm.prompts(2)
		tm.typeLine("false")
		tm.typeLine("echo st=" + sh.status)
		tm.waitLine("st=1")
		tm.expectCalls(map[string]int{"start": 1, "shell": 0})
	})
}

// hung returns the pids the fake limactl recorded for hanging calls.
func (w *world) hung() []int {
	files, _ := filepath.Glob(filepath.Join(w.root, "l", "_hung", "*.pid"))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// TestInterruptDestroyPrompt: Ctrl-C at destroy's confirmation gives the
// prompt back with one line, and destroys nothing.
func TestInterruptDestroyPrompt(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("shell", 1)
		tm.sync()
		tm.typeLine("vm-destroy")
		tm.waitLine("Destroy VM " + w.vm + " and its disk? [y/N]")
		tm.key("C-c")
		tm.waitLine("vmhook: interrupted; " + w.vm + " not destroyed")
		tm.sync()
		tm.expectCalls(map[string]int{"delete": 0})
	})
}
