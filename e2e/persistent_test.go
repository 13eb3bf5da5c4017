package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// persistentDef is the named VM's definition: small enough to boot here,
// a data disk over the home, and a rebuild that leaves a mark on the VM's
// own disk (which destroy loses and the data disk does not).
const persistentDef = `cpus: 1
memory: 1GiB
disk: 4GiB
data: {size: 2GiB, path: "~"}
rebuild: echo rebuilt | sudo tee /etc/vmhook-rebuilt >/dev/null
`

// adoptConfig is a plain Lima config, as a user would write for limactl;
// the run's override boots it from the local image.
const adoptConfig = `cpus: 1
memory: 1GiB
disk: 4GiB
images:
- location: "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img"
  arch: "x86_64"
mounts: []
containerd: {system: false, user: false}
`

// TestPersistent walks the named-VM flow under the newest installed Lima:
// up from a definition, a command in the guest, rebuild and restart, the
// real ssh client through ssh-config, a file on the data disk kept across
// destroy and up, an instance made by plain limactl adopted, and destroy
// with the data disk. It boots three times: up, the restart of rebuild,
// and up after destroy.
func TestPersistent(t *testing.T) {
	all := limatest.Installed()
	if len(all) == 0 {
		t.Skip("persistent VM test skipped: real limactl not installed: run scripts/install-lima.sh both")
	}
	h := newHarness(t, all[0])
	const name = "keep"
	vms := filepath.Join(h.home, ".config", "vmhook", "vms")
	if err := os.MkdirAll(vms, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vms, name+".yaml"), []byte(persistentDef), 0o644); err != nil {
		t.Fatal(err)
	}
	h.chownAll()
	vm := []string{"--vm", name}
	guest := func(script string) string {
		t.Helper()
		return strings.TrimSpace(h.run(append(append([]string{"vmhook", "shell"}, vm...), "--", "sh", "-c", script)...))
	}

	// 1. up creates the data disk, then the VM, which boots with the home
	// on the disk.
	start := time.Now()
	h.runWithin(bootTimeout, append([]string{"vmhook", "up"}, vm...)...)
	h.record("named VM: vmhook up (create data disk + VM, boot)", time.Since(start))
	if got := guest(`mountpoint -q "$HOME" && echo bound; test -s "$HOME/.ssh/authorized_keys" && echo keys; echo "$SYSINIT_IN_VM"`); got != "bound\nkeys\n1" {
		t.Fatalf("guest home after the first boot: %q, want it on the data disk with the ssh keys, and the guard", got)
	}
	if n := h.calls("disk create keep-data"); n != 1 {
		t.Fatalf("%d disk creates, want 1", n)
	}
	guest(`echo kept > "$HOME/data.txt"`)
	status := h.run(append([]string{"vmhook", "status"}, vm...)...)
	if !strings.Contains(status, "data:") || !strings.Contains(status, "kept when the VM is destroyed") {
		t.Fatalf("status does not show the data disk:\n%s", status)
	}

	// 2. rebuild runs its command inside; --restart restarts the VM, which
	// comes back (another boot) with the change and the home bound again.
	boot := guest("cat /proc/sys/kernel/random/boot_id")
	start = time.Now()
	h.runWithin(bootTimeout, append([]string{"vmhook", "rebuild", "--restart"}, vm...)...)
	h.record("named VM: rebuild --restart (rebuild, stop, boot)", time.Since(start))
	if got := guest(`cat /etc/vmhook-rebuilt; cat /proc/sys/kernel/random/boot_id; mountpoint -q "$HOME" && echo bound; cat "$HOME/data.txt"`); !strings.HasPrefix(got, "rebuilt\n") || strings.Contains(got, boot) || !strings.HasSuffix(got, "\nbound\nkept") {
		t.Fatalf("after rebuild --restart: %q, want the rebuild's mark, a new boot id (was %s), the home bound, the data", got, boot)
	}

	// 3. The real ssh client reaches the VM with what ssh-config prints.
	sshConfig := filepath.Join(h.root, "ssh_config")
	if err := os.WriteFile(sshConfig, []byte(h.run(append([]string{"vmhook", "ssh-config"}, vm...)...)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.chownAll()
	if got := strings.TrimSpace(h.run("ssh", "-F", sshConfig, "-o", "BatchMode=yes", name, "--", "cat", "data.txt")); got != "kept" {
		t.Fatalf("ssh -F ssh_config %s -- cat data.txt: %q, want kept", name, got)
	}
	h.run("ssh", "-F", sshConfig, "-o", "BatchMode=yes", name, "--", "true")

	// 4. destroy keeps the data disk; up makes a new VM (the rebuild's mark
	// on its own disk is gone) that finds the data again.
	out := h.runErr(append([]string{"vmhook", "destroy", "--yes"}, vm...)...)
	if !strings.Contains(out, "kept data disk keep-data") {
		t.Fatalf("destroy did not say the data disk is kept:\n%s", out)
	}
	start = time.Now()
	h.runWithin(bootTimeout, append([]string{"vmhook", "up"}, vm...)...)
	h.record("named VM: vmhook up after destroy (new VM, same data disk, boot)", time.Since(start))
	if got := guest(`cat /etc/vmhook-rebuilt 2>/dev/null || echo new; cat "$HOME/data.txt"; stat -c %U "$HOME"`); got != "new\nkept\n"+testUser {
		t.Fatalf("after destroy and up: %q, want a new VM that has the data, the home still the user's", got)
	}
	if n := h.calls("disk create"); n != 1 {
		t.Fatalf("%d disk creates, want 1", n)
	}
	h.run("ssh", "-F", sshConfig, "-o", "BatchMode=yes", name, "--", "true")

	// 5. An instance plain limactl created (not started: adopt needs no
	// boot) becomes a named VM, and is destroyed as one.
	cfg := filepath.Join(h.root, "plain.yaml")
	if err := os.WriteFile(cfg, []byte(adoptConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	h.chownAll()
	h.run("limactl", "create", "--name", "plain", "--tty=false", cfg)
	out = h.runErr("vmhook", "adopt", "--vm", "plain")
	if !strings.Contains(out, "plain is now vmhook's named VM") {
		t.Fatalf("adopt:\n%s", out)
	}
	status = h.run("vmhook", "status", "--vm", "plain")
	if !strings.Contains(status, "vms/plain.yaml") || !strings.Contains(status, "Stopped") {
		t.Fatalf("status of the adopted VM:\n%s", status)
	}
	h.run("vmhook", "destroy", "--yes", "--vm", "plain")

	// 6. destroy --data deletes the VM and then its data disk.
	out = h.runErr(append([]string{"vmhook", "destroy", "--yes", "--data"}, vm...)...)
	if !strings.Contains(out, "deleted data disk keep-data") {
		t.Fatalf("destroy --data:\n%s", out)
	}
	if left := strings.TrimSpace(h.run("limactl", "list", "--quiet")); left != "" {
		t.Fatalf("instances left: %q", left)
	}
	if disks := strings.TrimSpace(h.run("limactl", "disk", "list", "--json")); disks != "" {
		t.Fatalf("disks left: %s", disks)
	}
	h.writeNotes()
}

// runWithin runs argv like run, failing the test when it takes longer
// than timeout (a boot that hangs).
func (h *harness) runWithin(timeout time.Duration, argv ...string) string {
	h.t.Helper()
	var out, errb bytes.Buffer
	cmd := h.command(argv...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			h.t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, out.String(), errb.String())
		}
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		h.t.Fatalf("%s: not done within %s\n%s%s", strings.Join(argv, " "), timeout, out.String(), errb.String())
	}
	return out.String()
}
