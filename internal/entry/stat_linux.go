package entry

import (
	"os"
	"path/filepath"
	"syscall"
)

// Supported reports whether records are kept here: they need /proc to
// know a process by its start time.
const Supported = true

func stat(f *File) error {
	var st syscall.Stat_t
	var err error
	if f.Follow {
		err = syscall.Stat(f.Path, &st)
	} else {
		err = syscall.Lstat(f.Path, &st)
	}
	if err != nil {
		return err
	}
	f.Mode = st.Mode
	f.Dev = st.Dev
	f.Ino = st.Ino
	f.Size = st.Size
	f.Mtime = st.Mtim.Nano()
	f.Ctime = st.Ctim.Nano()
	return nil
}

// ownedSafe reports whether the open file f and each directory from it up
// to top (inclusive) belong to this user and no one else may write them: a
// record another user could have written or swapped is not this user's
// decision.
func ownedSafe(f *os.File, top string) bool {
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) != nil || !safeMode(st) || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return false
	}
	for d := filepath.Dir(f.Name()); ; d = filepath.Dir(d) {
		if syscall.Lstat(d, &st) != nil || !safeMode(st) || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return false
		}
		if d == top || filepath.Dir(d) == d {
			return d == top
		}
	}
}

func safeMode(st syscall.Stat_t) bool {
	return int(st.Uid) == os.Getuid() && st.Mode&0o022 == 0
}
