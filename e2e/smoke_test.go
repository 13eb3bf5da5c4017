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
	// The VM gets sockets both ways, the user's ssh agent and provisioning
	// from the start; the stop and start below shows once against boot.
	// The agent is in place before the VM starts: Lima's ssh sessions
	// share the master connection opened by the process that started the
	// VM, and a forwarded agent is that process's.
	inside := h.hostSide()
	h.agentSock = inside.userAgent
	main := h.pane("main")
	dir := h.newProject(main, "smoke")
	name := h.vmName(dir)
	// No ports: the default dev ports, 8000 among them, are forwarded.
	h.writeSettings(dir, inside.settings("forwardAgent: true\n"))
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

	// A second project without ports started beside the first: both serve
	// guest 3000, both are reachable, and vmhook up says where the second
	// one's went.
	h.run("sh", "-c", "cd "+shq(h.projects)+" && vmhook new smoke2 >/dev/null")
	dir2 := filepath.Join(h.projects, "smoke2")
	h.writeSettings(dir2, "cpus: 1\nmemory: 1GiB\ndisk: 4GiB\n")
	name2 := h.vmName(dir2)
	start = time.Now()
	upSaid := h.runAll("vmhook", "up", "--project", dir2)
	h.record("second project: vmhook up (create + boot)", time.Since(start))
	_, ports := h.status(dir)
	_, ports2 := h.status(dir2)
	h.checkSamePort(map[string]string{name: dir, name2: dir2},
		map[string]func() string{name: func() string { return h.capture(main) }, name2: func() string { return upSaid }},
		map[string]map[int]int{name: ports, name2: ports2})
	h.run("vmhook", "destroy", "--yes", "--project", dir2)
	for i := 0; i < 3; i++ {
		start = time.Now()
		h.run("limactl", "shell", name, "--", "true")
		h.record("limactl shell NAME -- true", time.Since(start))
		start = time.Now()
		h.run("vmhook", "shell", "--project", dir, "--", "true")
		h.record("vmhook shell -- true", time.Since(start))
	}
	h.checkRecordedEntry(dir, name)

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
	for _, n := range []string{name, name2} {
		if c := h.calls("create --name " + n + " "); c != 1 {
			t.Fatalf("%s created %d times, want 1", n, c)
		}
	}
	if out := strings.TrimSpace(h.run("limactl", "list", "--quiet")); out != "" {
		t.Fatalf("instances left after destroy: %q", out)
	}
	h.writeNotes()
}
