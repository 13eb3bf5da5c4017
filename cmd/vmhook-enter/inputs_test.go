package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/entry"
)

// quotedPath is the first argument of a file system call as strace prints
// it.
var quotedPath = regexp.MustCompile(`^(?:\d+ +)?(\w+)\((?:AT_FDCWD, )?"((?:[^"\\]|\\.)*)"`)

// TestEntryInputsCoverEntry traces vmhook's own steady entries and checks
// that every path they look at is in the record vmhook-enter compares:
// what the decision was taken from is what is watched. Only the system's
// (the runtime's /proc and /sys reads, shared libraries) and the two
// programs (vmhook itself, and limactl, which is compared as found on
// PATH) are left out.
func TestEntryInputsCoverEntry(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("strace is not installed; .ci/run installs it")
		}
		t.Skip("strace is not installed")
	}
	w := newWorld(t)
	// A project that asks for host access the user allowed (the consent
	// record is read), beside another project holding its port (which an
	// entry does not read: where ports went is said when the VM starts).
	other := newWorld(t)
	other.env = w.env
	if r := other.enter(other.env); r.code != 0 {
		t.Fatalf("the other project: %s", r.stderr)
	}
	w.write("vmhook.yaml", "cpus: 2\nports: [3000]\nforwardAgent: true\n")
	if r := w.run("vmhook", w.env, "allow", "--project", w.project); r.code != 0 {
		t.Fatalf("allow: %s", r.stderr)
	}
	w.enter(w.env)
	w.recorded()
	// The record vmhook writes now is the one the traced run writes.
	log := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=%file", "-e", "signal=none", "-o", log,
		filepath.Join(bin, "vmhook"), "shell", "--project", w.project, "--", "true")
	cmd.Env, cmd.Dir = w.env, w.project
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("traced entry: %v\n%s", err, out)
	}
	data, err := os.ReadFile(w.record())
	if err != nil {
		t.Fatalf("the traced entry recorded nothing: %v", err)
	}
	rec, err := entry.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "allowed.json") || len(rec.Said) != 0 {
		t.Fatalf("the traced entry is not the one meant (consent read, nothing said):\n%s", data)
	}
	watched := map[string]bool{rec.Path: true}
	for _, f := range rec.Files {
		watched[f.Path] = true
	}
	// Below a directory recorded as missing, nothing exists.
	under := func(path string) bool {
		for _, f := range rec.Files {
			if f.Missing && strings.HasPrefix(path, f.Path+"/") {
				return true
			}
		}
		return false
	}
	trace, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var unwatched []string
	for _, line := range strings.Split(string(trace), "\n") {
		m := quotedPath.FindStringSubmatch(line)
		if m != nil && m[1] == "execve" && m[2] == rec.Path {
			break // what follows is limactl's
		}
		if m == nil || m[1] == "execve" {
			continue
		}
		path := m[2]
		if strings.HasPrefix(path, "/proc/") || strings.HasPrefix(path, "/sys/") ||
			strings.HasPrefix(path, "/lib") || strings.HasPrefix(path, "/usr/lib") || strings.HasPrefix(path, "/etc/ld.so") ||
			path == filepath.Join(bin, "vmhook") || strings.HasPrefix(path, filepath.Dir(w.record())) {
			continue
		}
		if !filepath.IsAbs(path) {
			t.Errorf("vmhook looked at a relative path: %s", line)
			continue
		}
		if !watched[path] && !under(path) && !slices.Contains(unwatched, path) {
			unwatched = append(unwatched, path)
		}
	}
	if len(unwatched) > 0 {
		t.Errorf("an entry looks at paths its record does not watch (EntryInputs):\n%s\nrecord:\n%s", strings.Join(unwatched, "\n"), data)
	}
}
