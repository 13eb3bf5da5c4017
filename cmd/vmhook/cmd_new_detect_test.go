package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/vmhook/vmhook/projectvm"
)

var update = flag.Bool("update", false, "rewrite the want/ files of testdata/detect/*.txtar")

// TestNewDetects runs vmhook new in each repository of testdata/detect: the
// archive's files are the repository; "setup" makes what an archive cannot
// hold (links, FIFOs, huge files); "args" are vmhook new's flags; want/ is
// what vmhook new writes (vmhook.yaml and its report), refreshed with
// -update. Every byte of the repository's own files must be kept, and the
// vmhook.yaml written must load through the settings loader.
func TestNewDetects(t *testing.T) {
	archives, _ := filepath.Glob("testdata/detect/*.txtar")
	if len(archives) < 12 {
		t.Fatalf("only %d repository shapes in testdata/detect", len(archives))
	}
	for _, path := range archives {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), name)
			var args []string
			want := map[string][]byte{}
			for _, f := range ar.Files {
				switch {
				case f.Name == "setup" || f.Name == "args":
				case strings.HasPrefix(f.Name, "want/"):
					want[strings.TrimPrefix(f.Name, "want/")] = f.Data
				default:
					p := filepath.Join(dir, filepath.FromSlash(f.Name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range ar.Files {
				switch f.Name {
				case "setup":
					setupRepo(t, dir, string(f.Data))
				case "args":
					args = strings.Fields(string(f.Data))
				}
			}
			before := snapshotTree(t, dir)

			env := newTestEnv(t)
			var code int
			var stderr string
			done := make(chan struct{})
			go func() {
				defer close(done)
				code, _, stderr = runVmhook(t, env, append(append([]string{"new"}, args...), dir)...)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("vmhook new did not finish in 20s (a FIFO or device read?)")
			}
			if code != 0 {
				t.Fatalf("vmhook new: exit %d\n%s", code, stderr)
			}
			got := map[string][]byte{"stderr": []byte(strings.ReplaceAll(stderr, dir, "$REPO"))}
			if _, had := before["vmhook.yaml"]; !had {
				got["vmhook.yaml"] = readBytes(t, filepath.Join(dir, "vmhook.yaml"))
			}
			if *update {
				var files []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "want/") {
						files = append(files, f)
					}
				}
				for _, k := range []string{"vmhook.yaml", "stderr"} {
					if data, ok := got[k]; ok {
						files = append(files, txtar.File{Name: "want/" + k, Data: data})
					}
				}
				ar.Files = files
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				for k, data := range got {
					if !bytes.Equal(data, want[k]) {
						t.Errorf("%s differs from want/%s (go test -run TestNewDetects -update rewrites it):\n%s", k, k, data)
					}
				}
			}

			// Every byte of the repository is kept: its files as they were,
			// or, for .envrc and .gitignore, with lines added at the end.
			after := snapshotTree(t, dir)
			for p, old := range before {
				now, ok := after[p]
				switch {
				case !ok:
					t.Errorf("%s is gone", p)
				case (p == ".envrc" || p == ".gitignore") && strings.HasPrefix(old, "file\n"):
					if !strings.HasPrefix(now, old) {
						t.Errorf("%s lost bytes: was %q, now %q", p, old, now)
					}
				case now != old:
					t.Errorf("%s changed: was %q, now %q", p, old, now)
				}
			}

			// What was written loads as vmhook.yaml.
			s, err := projectvm.LoadSettings(projectvm.Sources{ProjectFile: filepath.Join(dir, "vmhook.yaml"), ProjectDir: dir, Home: t.TempDir()})
			if err != nil {
				t.Fatalf("the vmhook.yaml written does not load: %v", err)
			}
			if sh, err := exec.LookPath("shellcheck"); err == nil {
				for i, p := range s.Provision {
					cmd := exec.Command(sh, "-s", "bash", "-")
					cmd.Stdin = strings.NewReader(p.Script)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("shellcheck provision[%d]: %v\n%s\n%s", i, err, out, p.Script)
					}
				}
			}
		})
	}
}

// setupRepo runs an archive's setup lines: "link NAME TARGET", "fifo
// NAME", "huge NAME BYTES", "dir-link NAME TARGET".
func setupRepo(t *testing.T, dir, script string) {
	t.Helper()
	for _, l := range strings.Split(script, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f[1]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch f[0] {
		case "link":
			err = os.Symlink(f[2], p)
		case "fifo":
			err = syscall.Mkfifo(p, 0o644)
		case "huge":
			n, _ := strconv.Atoi(f[2])
			err = os.WriteFile(p, bytes.Repeat([]byte("x = 1\n"), n/6), 0o644)
		default:
			t.Fatalf("setup: unknown %q", l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotTree describes every entry under dir without following links or
// opening anything but regular files: "file\n" and the content, "link\n"
// and the target, or the kind.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link\n" + target
		case d.IsDir():
			out[rel] = "dir"
		case d.Type().IsRegular():
			out[rel] = "file\n" + string(readBytes(t, p))
		default:
			out[rel] = fmt.Sprintf("%v", d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readBytes(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
