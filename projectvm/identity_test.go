package projectvm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBindMountOneVM: one directory shown at a second path by a bind mount
// is one project, however it is reached first: one VM, one owner record,
// one state directory, one config.
func TestBindMountOneVM(t *testing.T) {
	for _, first := range []string{"real", "bind"} {
		t.Run(first+" first", func(t *testing.T) {
			root, _ := filepath.EvalSymlinks(t.TempDir())
			e := testEnv(t, root)
			real := filepath.Join(root, "src", "api")
			bind := filepath.Join(root, "mnt", "api")
			for _, d := range []string{real, bind} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command("mount", "--bind", real, bind).CombinedOutput(); err != nil {
				t.Skipf("mount --bind needs root and a kernel that allows it: %v: %s", err, out)
			}
			t.Cleanup(func() { exec.Command("umount", "--lazy", bind).Run() })
			paths := []string{real, bind}
			if first == "bind" {
				paths = []string{bind, real}
			}
			a, err := OpenProject(e, paths[0], Flags{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := OpenProject(e, paths[1], Flags{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Dir != paths[0] {
				t.Errorf("first reached at %s, the project is %s", paths[0], a.Dir)
			}
			if a.Dir != b.Dir || a.Name != b.Name || a.Owner() != b.Owner() || a.StateDir != b.StateDir || a.ConfigPath != b.ConfigPath {
				t.Errorf("through %s: %+v\nthrough %s: %+v", paths[1], b, paths[0], a)
			}
		})
	}
}

// TestChooseDir: the path first seen for a directory stands for it only
// while it is still a real path of that same directory.
func TestChooseDir(t *testing.T) {
	id := dirID{dev: 8, ino: 42}
	// The file system: /src/api and /mnt/api are one directory; /old was
	// removed; /reused holds another directory now; /link is a link to
	// /src/api.
	fs := map[string]dirID{"/src/api": id, "/mnt/api": id, "/reused": {dev: 8, ino: 43}, "/link": id}
	identify := func(p string) (dirID, bool) { d, ok := fs[p]; return d, ok }
	resolve := func(p string) (string, error) {
		switch {
		case p == "/link":
			return "/src/api", nil
		case fs[p] == dirID{}:
			return "", errors.New("no such directory")
		}
		return p, nil
	}
	tests := []struct {
		name, real, remembered string
		want                   string
		remember               bool
	}{
		{name: "first seen", real: "/src/api", want: "/src/api", remember: true},
		{name: "seen here before", real: "/src/api", remembered: "/src/api", want: "/src/api"},
		{name: "through a bind mount", real: "/mnt/api", remembered: "/src/api", want: "/src/api"},
		{name: "first path removed", real: "/mnt/api", remembered: "/old", want: "/mnt/api", remember: true},
		{name: "inode reused", real: "/mnt/api", remembered: "/reused", want: "/mnt/api", remember: true},
		{name: "first path now a link", real: "/mnt/api", remembered: "/link", want: "/mnt/api", remember: true},
		{name: "not a path", real: "/mnt/api", remembered: "src/api", want: "/mnt/api", remember: true},
		{name: "garbled record", real: "/mnt/api", remembered: "/src/api\x1b[2K", want: "/mnt/api", remember: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, remember := chooseDir(tt.real, tt.remembered, id, identify, resolve)
			if got != tt.want || remember != tt.remember {
				t.Errorf("chooseDir(%q, %q) = %q, %v; want %q, %v", tt.real, tt.remembered, got, remember, tt.want, tt.remember)
			}
		})
	}
}

// TestCanonicalDirStaleRecord: a record naming another directory (the
// inode was reused since) is replaced, not followed, and a first record
// never replaces one another process wrote meanwhile.
func TestCanonicalDirStaleRecord(t *testing.T) {
	root, _ := filepath.EvalSymlinks(t.TempDir())
	e := testEnv(t, root)
	dir, other := filepath.Join(root, "api"), filepath.Join(root, "other")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(other, 0o755)
	id, _ := statDir(dir)
	rec := e.dirRecord(id.dev, id.ino)
	if err := rememberDir(rec, other, true); err != nil {
		t.Fatal(err)
	}
	if got := canonicalDir(e, dir); got != dir {
		t.Fatalf("canonicalDir = %q, want %q (the record names another directory)", got, dir)
	}
	if data, _ := os.ReadFile(rec); string(data) != dir+"\n" {
		t.Errorf("record = %q, want it replaced by %q", data, dir)
	}
	if err := rememberDir(rec, other, true); !errors.Is(err, os.ErrExist) {
		t.Errorf("a first record over an existing one: %v, want it refused", err)
	}
	p, err := OpenProject(e, dir, Flags{})
	if err != nil || p.Dir != dir {
		t.Fatalf("OpenProject = %v, %v", p, err)
	}
}
