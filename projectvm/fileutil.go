package projectvm

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmhook/vmhook/internal/atomicfile"
)

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it over path, so readers see the old file or the new one, never a
// partial one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

// isTempFile reports whether name is a temporary file of writeFileAtomic.
func isTempFile(name string) bool { return atomicfile.IsTemp(name) }

// WriteFileAtomicPublic writes a file people may read (0644) atomically,
// creating its directory.
func WriteFileAtomicPublic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %q: %w", filepath.Dir(path), err)
	}
	return writeFileAtomic(path, data, 0o644)
}
