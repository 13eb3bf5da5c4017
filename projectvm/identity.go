package projectvm

// One directory, one project. Symbolic links are resolved to the real path,
// but a bind mount (or a second mount of the same file system) shows one
// directory at two real paths. vmhook's state remembers, per (device,
// inode), the first real path a project directory was opened at, and that
// path stands for the directory while it still names it; the project's
// records, owner and VM follow from it.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vmhook/vmhook/internal/atomicfile"
)

// dirID is what makes a directory itself, whatever path reaches it.
type dirID struct{ dev, ino uint64 }

// statDir returns the identity of the directory at path, following links.
func statDir(path string) (dirID, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return dirID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, false
	}
	return dirID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}

// chooseDir picks the path that stands for the directory id, reached at the
// real path real, when remembered was the first path seen for id ("" for
// none): remembered while it is still a real path of the same directory,
// else real, to be remembered instead (the directory first seen may have
// been removed, and its inode reused). identify is statDir, and resolve
// filepath.EvalSymlinks, but for tests.
func chooseDir(real, remembered string, id dirID, identify func(string) (dirID, bool), resolve func(string) (string, error)) (dir string, remember bool) {
	if remembered == real {
		return real, false
	}
	if remembered == "" || !filepath.IsAbs(remembered) || hasControl(remembered) {
		return real, true
	}
	if now, ok := identify(remembered); !ok || now != id {
		return real, true
	}
	if r, err := resolve(remembered); err != nil || r != remembered {
		return real, true
	}
	return remembered, false
}

// canonicalDir returns the path that stands for the project directory at
// the real path real (see chooseDir), recording real when it is the first
// path seen for its directory. vmhook works without the record: a
// directory it cannot identify, or a state directory it cannot write,
// leaves the project at real.
func canonicalDir(e Env, real string) string {
	id, ok := statDir(real)
	if !ok {
		return real
	}
	path := e.dirRecord(id.dev, id.ino)
	// A second try reads the record another process wrote first.
	for try := 0; try < 2; try++ {
		remembered := ""
		if data, err := readLimited(path, 64<<10); err == nil {
			remembered = strings.TrimSuffix(string(data), "\n")
		}
		dir, remember := chooseDir(real, remembered, id, statDir, filepath.EvalSymlinks)
		if !remember {
			return dir
		}
		if err := rememberDir(path, real, remembered == ""); !errors.Is(err, os.ErrExist) {
			return dir
		}
	}
	return real
}

// rememberDir records dir in the record at path. When first is set there
// was none, and there must still be none (else the error is os.ErrExist),
// so two processes seeing one directory at two paths at once agree on one.
func rememberDir(path, dir string, first bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %q: %w", filepath.Dir(path), err)
	}
	data := []byte(dir + "\n")
	if !first {
		return writeFileAtomic(path, data, 0o600)
	}
	return atomicfile.Create(path, data, 0o600)
}
