package entry

import (
	"os"
	"path/filepath"
	"strings"
)

// Workdir is the guest directory an entry into the VM of the project at
// dir starts in, for a shell standing in cwd: cwd itself when it is the
// project or a directory under it (the project is mounted at the same
// path, so the guest has it), else the project. Both are judged resolved: a
// link in the project that leads out of it is not in the mount, and a
// path through a link to the project is the project. Empty cwd means
// "ask the process".
func Workdir(dir, cwd string) string {
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return dir
		}
		cwd = wd
	}
	root := dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		root = r
	}
	here, err := filepath.EvalSymlinks(cwd)
	if err != nil {
		return dir
	}
	if here == root {
		return dir
	}
	rel, err := filepath.Rel(root, here)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return dir
	}
	return filepath.Join(dir, rel)
}
