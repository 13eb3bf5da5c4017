package projectvm

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Provisioning once: Lima runs every provision script at every boot, so a
// step with when: once is wrapped in a guard that records a marker in the
// guest, named after a hash of the script, and skips the step while the
// marker is there. A new VM (after destroy) has no markers; a changed
// script has a new hash; `vmhook provision` removes the markers and runs
// the steps again.

// systemMarkers and userMarkers hold the markers of steps that run as root
// and as the guest user.
const (
	systemMarkers = "/var/lib/vmhook/provisioned"
	userMarkers   = `${XDG_STATE_HOME:-$HOME/.local/state}/vmhook/provisioned`
)

// markerDir is where the markers of a step of mode live.
func markerDir(mode string) string {
	if mode == "user" {
		return userMarkers
	}
	return systemMarkers
}

// ProvisionScript is the script vmhook hands Lima for pr: the step's own
// for when: boot, or a POSIX sh guard around it for when: once. The step
// runs as its own file, so its #! line still chooses its interpreter.
func ProvisionScript(pr Provision) string {
	if pr.When != "once" {
		return pr.Script
	}
	h := hashHex([]byte(pr.Script))
	body := pr.Script
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return fmt.Sprintf(`#!/bin/sh
# vmhook: runs once per VM (when: once); vmhook provision runs it again.
set -e
d="%[1]s"
[ -e "$d/%[2]s" ] && exit 0
mkdir -p "$d"
f=$(mktemp "$d/.step.XXXXXX")
trap 'rm -f "$f"' EXIT
cat >"$f" <<'VMHOOK_%[2]s'
%[3]sVMHOOK_%[2]s
chmod 700 "$f"
"$f"
touch "$d/%[2]s"
`, markerDir(pr.Mode), h, body)
}

// Provision runs p's once-per-VM steps again in its running VM, in order:
// it removes every marker, then runs each wrapped step through limactl
// shell (as root, or as the guest user for mode user), which records the
// markers anew. Steps that run at every boot are left to the next boot.
func (m *Manager) Provision(ctx context.Context, p *Project, stdout, stderr io.Writer) error {
	if err := m.checkOwner(p); err != nil {
		return err
	}
	if st := m.State(p.Name); st != Running {
		return fmt.Errorf("%s is not running; start it with vmhook start, then run vmhook provision again", p.Name)
	}
	clear := "sudo rm -rf " + systemMarkers + "\nrm -rf \"" + userMarkers + "\"\n"
	if err := m.Lima.Attach(ctx, strings.NewReader(clear), stdout, stderr, "shell", "--workdir", "/", p.Name, "sh", "-s"); err != nil {
		return fmt.Errorf("could not clear the provision markers (%w); check that the VM answers with vmhook shell -- true", err)
	}
	for i, pr := range p.Settings.Provision {
		if pr.When != "once" {
			continue
		}
		args := []string{"shell", "--workdir", "/", p.Name, "sudo", "sh", "-s"}
		if pr.Mode == "user" {
			args = []string{"shell", "--workdir", "/", p.Name, "sh", "-s"}
		}
		if err := m.Lima.Attach(ctx, strings.NewReader(ProvisionScript(pr)), stdout, stderr, args...); err != nil {
			return fmt.Errorf("provision[%d] failed (%w); fix the script and run vmhook provision again", i, err)
		}
	}
	return nil
}
