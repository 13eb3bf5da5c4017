package projectvm

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
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

// ProvisionScript is the script vmhook hands Lima for pr, a step of the
// project at dir: a POSIX sh wrapper that exports VMHOOK_PROJECT_DIR (the
// project's path in the guest, where it is mounted) and runs the step as a
// file of its own, so its #! line still chooses its interpreter; for when:
// once, guarded by its marker.
func ProvisionScript(pr Provision, dir string) string {
	body := pr.Script
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	h := hashHex([]byte(pr.Script))
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	if pr.When == "once" {
		b.WriteString("# vmhook: runs once per VM (when: once); vmhook provision runs it again.\n")
	} else {
		b.WriteString("# vmhook: runs at every boot (when: boot).\n")
	}
	fmt.Fprintf(&b, "set -e\nVMHOOK_PROJECT_DIR=%s\nexport VMHOOK_PROJECT_DIR\n", shellquote.POSIX(dir))
	fmt.Fprintf(&b, "d=\"%s\"\n", markerDir(pr.Mode))
	if pr.When == "once" {
		fmt.Fprintf(&b, "[ -e \"$d/%s\" ] && exit 0\n", h)
	}
	// The step's file sits beside the markers, not in a /tmp that may be
	// mounted noexec.
	b.WriteString("mkdir -p \"$d\"\nf=$(mktemp \"$d/.step.XXXXXX\")\n")
	fmt.Fprintf(&b, "trap 'rm -f \"$f\"' EXIT\ncat >\"$f\" <<'VMHOOK_%[1]s'\n%[2]sVMHOOK_%[1]s\nchmod 700 \"$f\"\n\"$f\"\n", h, body)
	if pr.When == "once" {
		fmt.Fprintf(&b, "touch \"$d/%s\"\n", h)
	}
	return b.String()
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
		if err := m.Lima.Attach(ctx, strings.NewReader(ProvisionScript(pr, p.Dir)), stdout, stderr, args...); err != nil {
			return fmt.Errorf("provision[%d] failed (%w); fix the script and run vmhook provision again", i, err)
		}
	}
	return nil
}
