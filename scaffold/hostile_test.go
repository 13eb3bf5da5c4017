package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and ends the whole test binary when f has not returned
// after d: a read that blocks on a FIFO or never ends on /dev/zero must not
// hang the suite or fill the machine's memory while it is being reported.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		panic(what + ": still running after " + d.String() + " (blocked on a FIFO, or reading an endless file)")
	}
}

// TestApplyHostileTargets adopts directories whose .envrc or .gitignore is
// a FIFO or a link to an endless device: Apply neither blocks nor reads
// them, reports each as kept with what to do by hand, and writes the rest.
func TestApplyHostileTargets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		make       func(p string) error
	}{
		{"a FIFO .envrc", ".envrc", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{".gitignore linked to /dev/zero", ".gitignore", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{".envrc linked to /dev/urandom", ".envrc", func(p string) error { return os.Symlink("/dev/urandom", p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			target := filepath.Join(dir, tc.file)
			if err := tc.make(target); err != nil {
				t.Fatal(err)
			}
			var changes []Change
			var err error
			within(t, 10*time.Second, "Apply with "+tc.name, func() { changes, err = Apply(dir, "vm-minimal", false) })
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			var kept *Change
			for i, c := range changes {
				if c.File == tc.file {
					kept = &changes[i]
				}
			}
			if kept == nil || kept.Action != Kept || !strings.Contains(kept.Hint, "not a regular file") {
				t.Errorf("%s: %+v, want it kept as not a regular file", tc.file, kept)
			}
			fi, err := os.Lstat(target)
			if err != nil || fi.Mode().IsRegular() {
				t.Errorf("%s was replaced: %v, %v", tc.file, fi, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "vmhook.yaml")); err != nil {
				t.Errorf("vmhook.yaml not written: %v", err)
			}
		})
	}
}

// TestApplyHugeGitignore keeps a .gitignore too large to merge safely, with
// one hint, rather than reading all of it.
func TestApplyHugeGitignore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, ".gitignore")
	if err := os.WriteFile(p, []byte(strings.Repeat("x\n", 5<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := Apply(dir, "vm-minimal", false)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(changes)[".gitignore"]; a != Kept {
		t.Errorf(".gitignore: %v, want Kept", a)
	}
	if fi, _ := os.Stat(p); fi.Size() != 10<<20 {
		t.Errorf(".gitignore changed size: %d", fi.Size())
	}
}
