package projectvm

import (
	"fmt"
	"path/filepath"
)

// checkProjectDir refuses a project directory vmhook must never mount: the
// root directory, and one that is, holds or is inside ~/.ssh (the home
// directory included). The project is mounted writable and its provisioning
// runs as root in the guest, so it would hand the guest the ssh keys; the
// ssh-keys guard on mounts skips the project mount itself.
func checkProjectDir(home, dir string) error {
	if dir == string(filepath.Separator) {
		return fmt.Errorf("the root directory cannot be a project: it holds your ssh keys and the whole host; run vmhook in a project directory")
	}
	if isSSHDir(home, dir) {
		return fmt.Errorf("project directory %q would expose your ssh keys (~/.ssh) to the VM; use a directory that neither holds nor is inside ~/.ssh", dir)
	}
	return nil
}
