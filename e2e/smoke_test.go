package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestSmoke walks a shorter real-VM flow under each Lima version older than
// the one TestE2E uses (v1.0.7 in CI): create and enter on cd, a file written
// in the guest seen on the host, port isolation, stop, start and enter on cd
// with guest data kept, destroy. Step names match TestE2E's, so the timings
// file shows the versions side by side.
func TestSmoke(t *testing.T) {
	all := limatest.Installed()
	if len(all) < 2 {
		t.Skip("smoke under older Lima versions skipped: only one limactl installed (VMHOOK_LIMACTLS lists them; scripts/install-lima.sh both installs v1 and v2)")
	}
	for _, lima := range all[1:] {
		t.Run(lima.Version, func(t *testing.T) { smoke(t, lima) })
	}
}

func smoke(t *testing.T, lima limatest.Binary) {
	h := newHarness(t, lima)
	main := h.pane("main")
	dir := h.newProject(main, "smoke")
	name := h.vmName(dir)
	// The VM gets sockets both ways, the user's ssh agent and provisioning
	// from the start; the stop and start below shows once against boot.
	inside := h.hostSide()
	h.agentSock = inside.userAgent
	h.writeSettings(dir, inside.settings("ports: [8000]\nforwardAgent: true\n"))
	h.run("vmhook", "allow", "--project", dir)

	h.clear(main)
	start := time.Now()
	h.send(main, "cd smoke && direnv allow")
	h.waitPane(main, guestPrompt(name), bootTimeout)
	h.record("cold: direnv allow → prompt in a new VM (create + boot)", time.Since(start))
	if got := h.marker(main, "pwd; findmnt -n -o FSTYPE --target .", 30*time.Second); got != dir+"\n9p" {
		t.Fatalf("pwd and project mount type in the VM = %q, want %q and 9p", got, dir)
	}
	h.send(main, "echo hi > from-vm.txt; echo kept > ~/persist.txt")
	h.waitContent(filepath.Join(dir, "from-vm.txt"), "hi\n", 60*time.Second)
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.provisioned(dir, 1, 1, "after the first boot")
	h.sockets(dir, inside)
	h.agentKeys(dir, inside.userKey, "forwardAgent")
	h.send(main, "cd ..")
	h.checkSession(main, dir, name)

	h.checkPorts(dir, name)
	for i := 0; i < 3; i++ {
		start = time.Now()
		h.run("limactl", "shell", name, "--", "true")
		h.record("limactl shell NAME -- true", time.Since(start))
		start = time.Now()
		h.run("vmhook", "shell", "--project", dir, "--", "true")
		h.record("vmhook shell -- true", time.Since(start))
	}

	h.stopThenEnter(main, dir, name, "smoke")
	if got := h.marker(main, "cat ~/persist.txt; cat from-vm.txt", 30*time.Second); got != "kept\nhi" {
		t.Fatalf("guest data and project mount after stop/start: %q", got)
	}
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.provisioned(dir, 1, 2, "after a stop and start")
	h.sockets(dir, inside)
	h.run("vmhook", "provision", "--project", dir)
	h.provisioned(dir, 2, 2, "after vmhook provision")

	h.run("vmhook", "destroy", "--yes", "--project", dir)
	if state, _ := h.status(dir); state != "Absent" {
		t.Fatalf("after destroy: %s", state)
	}
	if n := h.calls("create "); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	if out := strings.TrimSpace(h.run("limactl", "list", "--quiet")); out != "" {
		t.Fatalf("instances left after destroy: %q", out)
	}
	h.writeNotes()
}
