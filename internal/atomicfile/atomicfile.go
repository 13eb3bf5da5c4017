// Package atomicfile writes files so that readers see the old content or
// the new, never a part: the data goes to a temporary file beside the
// target, is synced, and is moved into place. Temporary files of writers
// that were killed are removed by later writes in the same directory.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vmhook/vmhook/internal/lazyre"
)

// Write replaces path with data, with permissions perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// Create writes data to path, which must not exist: the move is a hard
// link, which fails rather than replace a file someone created meanwhile.
func Create(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

// InterruptBeforeRename, when set (in tests), is called where a writer
// could be killed: after the temporary file is complete, before the move.
// Its error fails the write.
var InterruptBeforeRename func() error

// Stage writes data, synced and with permissions perm, to a new temporary
// file beside path and returns its name, for a caller that moves several
// files into place only once all of them are written (and removes the
// temporary files when it gives up).
func Stage(path string, data []byte, perm os.FileMode) (string, error) {
	dir := filepath.Dir(path)
	removeStaleTemps(dir)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write %q: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %q: %w", path, err)
	}
	return f.Name(), nil
}

func write(path string, data []byte, perm os.FileMode, replace bool) error {
	tmp, err := Stage(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after a successful rename
	if InterruptBeforeRename != nil {
		if err := InterruptBeforeRename(); err != nil {
			return fmt.Errorf("write %q: %w", path, err)
		}
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		// Some file systems have no hard links: check, then rename, is the
		// next best thing.
		if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
}

// tempFileName matches the temporary files write creates (".NAME.tmp" and
// random digits). One is left behind only when its writer was killed
// between creating and moving it.
var tempFileName = lazyre.New(`^\..+\.tmp[0-9]+$`)

// staleTempAge is how old a temporary file must be before it is taken for a
// dead writer's: a live writer moves its file within moments.
const staleTempAge = time.Minute

// IsTemp reports whether name is one of the temporary files of a write.
func IsTemp(name string) bool { return tempFileName().MatchString(name) }

// removeStaleTemps deletes the temporary files of dead writers in dir. It is
// best effort: a file it cannot remove is tried again at the next write.
func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleTempAge)
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsTemp(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
