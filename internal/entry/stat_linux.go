package entry

import "syscall"

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
