// Package safefile reads files of a directory someone else wrote (a cloned
// repository) the way vmhook must: bounded, without blocking and without
// following a symbolic link. A FIFO, a device or a socket where a file is
// expected is opened without waiting for a writer and then refused, never
// read; a file larger than the caller's limit is refused after reading one
// byte more than the limit, so /dev/zero behind a name costs nothing.
//
// It is a leaf: it imports nothing of vmhook's.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrLink is returned for a symbolic link where Read expects a file.
	ErrLink = errors.New("it is a symbolic link")
	// ErrNotRegular is returned for a directory, FIFO, device or socket.
	ErrNotRegular = errors.New("it is not a regular file")
	// ErrTooLarge is returned for a file larger than the limit.
	ErrTooLarge = errors.New("it is too large")
)

// Read reads the regular file at path, which must not be a symbolic link
// (the last component; callers check the directories above), and at most
// limit bytes long. A missing file gives an error matching fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	return read(path, limit, syscall.O_NOFOLLOW)
}

// ReadFollow is Read for a name that may be a symbolic link: what it points
// to is read, with the same limits, when it is a regular file.
func ReadFollow(path string, limit int64) ([]byte, error) {
	return read(path, limit, 0)
}

func read(path string, limit int64, flags int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|flags, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) && flags&syscall.O_NOFOLLOW != 0 {
			return nil, ErrLink
		}
		if errors.Is(err, syscall.ENXIO) {
			// A FIFO or socket without a peer refuses a non-blocking open.
			return nil, ErrNotRegular
		}
		return nil, unwrapPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %s", ErrTooLarge, Size(limit))
	}
	return data, nil
}

// unwrapPath drops the path an *fs.PathError carries: callers name the file
// in their own words.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return fs.ErrNotExist
		}
		return pe.Err
	}
	return err
}

// Size says n bytes the way people read it: "256 KiB", "4 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
