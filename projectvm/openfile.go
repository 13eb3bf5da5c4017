package projectvm

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openRegular opens path for reading without blocking and refuses anything
// but a regular file: a settings file linked to /dev/tty or a FIFO would
// otherwise hold the prompt until the terminal's input ends.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file; replace it with a file (or remove it) and run the command again", quoteArg(path))
	}
	return f, nil
}

// fileKind names what is at a path, for an error that says what to remove.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a file"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
