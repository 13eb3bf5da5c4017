package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// echoServer is a python3 unix-socket server that answers each client with
// its second argument and a newline.
const echoServer = `import socket, sys, os
p, word = sys.argv[1], sys.argv[2]
if os.path.exists(p): os.unlink(p)
s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(word.encode() + b"\n"); c.close()
`

// echoClient connects to the unix socket in argv[1] (a path, or a unix://
// URL) and prints the line it reads.
const echoClient = `import socket, sys
p = sys.argv[1]
if p.startswith("unix://"): p = p[len("unix://"):]
s = socket.socket(socket.AF_UNIX); s.connect(p); print(s.makefile().readline().strip())
`

// background starts argv as the test user in a process group of its own,
// killed when the test ends.
func (h *harness) background(argv ...string) {
	h.t.Helper()
	cmd := h.command(argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	h.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
}

// agent starts a real ssh-agent of the test user at ROOT/NAME/agent.sock
// holding one new ed25519 key, and returns the socket and the key's SHA256
// fingerprint.
func (h *harness) agent(name string) (sock, fingerprint string) {
	h.t.Helper()
	dir := filepath.Join(h.root, name)
	h.run("mkdir", "-m", "700", dir)
	key := filepath.Join(dir, "key")
	h.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key)
	sock = filepath.Join(dir, "agent.sock")
	h.background("ssh-agent", "-D", "-a", sock)
	// ssh-add -l exits 2 while it cannot reach the agent, 1 once the agent
	// answers that it holds no key.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := h.command("env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-l").Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("ssh-agent at %s does not answer: %v", sock, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.run("env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-q", key)
	f := strings.Fields(h.run("ssh-keygen", "-l", "-f", key+".pub"))
	if len(f) < 2 || !strings.HasPrefix(f[1], "SHA256:") {
		h.t.Fatalf("ssh-keygen -l: %q", f)
	}
	return sock, f[1]
}

// inVM runs a shell script in dir's VM through vmhook shell and returns its
// trimmed output.
func (h *harness) inVM(dir, script string) string {
	h.t.Helper()
	return strings.TrimSpace(h.run("vmhook", "shell", "--project", dir, "--", "sh", "-c", script))
}

// settle writes dir's vmhook.yaml, allows what it asks for on the host as
// the user would, and applies it to the running VM (a stop and a start).
func (h *harness) settle(dir, settings, what string) {
	h.t.Helper()
	h.writeSettings(dir, settings)
	h.run("vmhook", "allow", "--project", dir)
	start := time.Now()
	h.run("vmhook", "up", "--apply", "--project", dir)
	h.record("inside: up --apply "+what+" (stop + start)", time.Since(start))
}

func (h *harness) writeSettings(dir, settings string) {
	h.t.Helper()
	path := filepath.Join(dir, "vmhook.yaml")
	if err := os.WriteFile(path, []byte(settings), 0o644); err != nil {
		h.t.Fatal(err)
	}
	os.Chown(path, h.uid, h.gid)
}

// hostSide is what the host offers a VM in the inside checks: a unix-socket
// server (a stand-in for the Docker socket), the path where a guest server
// is to appear (a stand-in for a WezTerm mux), the user's ssh-agent and a
// 1Password-style agent at a socket of its own.
type hostSide struct {
	in, out            string
	userAgent, opAgent string
	userKey, opKey     string
}

func (h *harness) hostSide() hostSide {
	h.t.Helper()
	s := hostSide{in: filepath.Join(h.root, "in.sock"), out: filepath.Join(h.root, "out.sock")}
	h.background("python3", "-c", echoServer, s.in, "pong-from-host")
	s.userAgent, s.userKey = h.agent("agent-user")
	s.opAgent, s.opKey = h.agent("agent-op")
	return s
}

// settings are the VM settings of the inside checks: a once and a boot
// provision step, a to-guest socket named by DOCKER_HOST, a to-host
// socket, and extra.
func (s hostSide) settings(extra string) string {
	return "cpus: 1\nmemory: 1GiB\ndisk: 4GiB\n" +
		"provision:\n" +
		"  - script: \"#!/bin/sh\\necho x >> /var/lib/vmhook-e2e-once\\n\"\n" +
		"  - when: boot\n    script: \"#!/bin/sh\\necho x >> /var/lib/vmhook-e2e-boot\\n\"\n" +
		"sockets:\n" +
		"  - {host: " + s.in + ", guest: in.sock, env: DOCKER_HOST}\n" +
		"  - {host: " + s.out + ", guest: /tmp/vmhook-e2e-out.sock, direction: to-host}\n" +
		extra
}

// agentSocket is the settings line that forwards the 1Password-style agent
// as the guest's SSH_AUTH_SOCK (a list item of sockets:).
func (s hostSide) agentSocket() string {
	return "  - {host: " + s.opAgent + ", guest: op-agent.sock, env: SSH_AUTH_SOCK}\n"
}

// provisioned checks how often the once and the boot step have run.
func (h *harness) provisioned(dir string, once, boot int, when string) {
	h.t.Helper()
	want := fmt.Sprintf("%d\n%d", once, boot)
	if got := h.inVM(dir, "wc -l < /var/lib/vmhook-e2e-once; wc -l < /var/lib/vmhook-e2e-boot"); got != want {
		h.t.Fatalf("%s, the once and boot steps ran %q times, want %d and %d", when, got, once, boot)
	}
}

// agentKeys checks that ssh-add -l in the guest lists the key.
func (h *harness) agentKeys(dir, key, via string) {
	h.t.Helper()
	got := h.inVM(dir, `echo "SSH_AUTH_SOCK=$SSH_AUTH_SOCK"; ssh-add -l`)
	if !strings.Contains(got, key) {
		h.t.Fatalf("%s: ssh-add -l in the guest does not list %s:\n%s", via, key, got)
	}
}

// sockets checks both socket directions: a guest client reaches the host
// server at DOCKER_HOST (a unix:// URL of the guest path), and a server
// started in the guest answers a host client at the to-host socket.
func (h *harness) sockets(dir string, s hostSide) {
	h.t.Helper()
	got := h.inVM(dir, `case "$DOCKER_HOST" in unix:///run/user/*/in.sock) ;; *) echo "DOCKER_HOST=$DOCKER_HOST"; exit 0;; esac; python3 -c '`+echoClient+`' "$DOCKER_HOST"`)
	if got != "pong-from-host" {
		h.t.Fatalf("guest client at DOCKER_HOST (the to-guest socket): %q", got)
	}
	h.inVM(dir, "rm -f /tmp/vmhook-e2e-out.sock\n"+
		"nohup setsid python3 -c '"+echoServer+"' /tmp/vmhook-e2e-out.sock pong-from-guest </dev/null >/dev/null 2>&1 &\n"+
		"i=0; until [ -S /tmp/vmhook-e2e-out.sock ]; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done")
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := h.command("python3", "-c", echoClient, s.out).Output()
		if err == nil && strings.TrimSpace(string(out)) == "pong-from-guest" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("host client at the to-host socket %s: %q, %v", s.out, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkInside proves, in the running VM of dir, what the guest gets of the
// host beyond mounts and ports, each through vmhook's settings as a user
// writes them and applies them to a running VM:
//   - sockets both ways (see sockets);
//   - a 1Password-style agent at its own host socket, forwarded through
//     sockets: with env SSH_AUTH_SOCK (a plain path), lists its key to
//     ssh-add -l in the guest; then forwardAgent: true does the same with
//     the user's own ssh-agent;
//   - a once step runs at the first boot only, a boot step at every boot
//     (across the stop and start of the second apply), and vmhook provision
//     runs the once step again, and only that.
func (h *harness) checkInside(dir string) {
	h.t.Helper()
	s := h.hostSide()

	h.settle(dir, s.settings(s.agentSocket()), "with sockets, an agent socket and provisioning")
	h.provisioned(dir, 1, 1, "after the first boot with them")
	h.sockets(dir, s)
	if got := h.inVM(dir, `echo "$SSH_AUTH_SOCK"`); !regexp.MustCompile(`^/run/user/\d+/op-agent\.sock$`).MatchString(got) {
		h.t.Fatalf("SSH_AUTH_SOCK from sockets: = %q, want the guest path of the socket", got)
	}
	h.agentKeys(dir, s.opKey, "agent socket with env SSH_AUTH_SOCK")

	// The user's own agent through forwardAgent: true, in place of the
	// agent socket. Applying it stops and starts the VM.
	h.agentSock = s.userAgent
	h.settle(dir, s.settings("forwardAgent: true\n"), "with forwardAgent")
	h.provisioned(dir, 1, 2, "after a stop and start")
	h.agentKeys(dir, s.userKey, "forwardAgent")
	h.sockets(dir, s)

	h.run("vmhook", "provision", "--project", dir)
	h.provisioned(dir, 2, 2, "after vmhook provision")
	h.notes = append(h.notes, "inside: to-guest socket (DOCKER_HOST), to-host socket, agent socket with SSH_AUTH_SOCK, forwardAgent, provision once/boot/vmhook provision: all held")
}

// checkSession proves session: tmux in pane p (at the host prompt in the
// parent of dir): cd in attaches to a tmux session named after the VM;
// detaching leaves the VM; cd in again re-attaches to the same session,
// where a shell variable set before is still set.
func (h *harness) checkSession(p, dir, name string) {
	h.t.Helper()
	path := filepath.Join(dir, "vmhook.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, "session: tmux\n"...), 0o644); err != nil {
		h.t.Fatal(err)
	}
	project := filepath.Base(dir)
	h.clear(p)
	h.send(p, "cd "+project)
	if got := h.marker(p, "tmux display-message -p '#S'; hostname", time.Minute); got != name+"\nlima-"+name {
		h.t.Fatalf("session: tmux: cd in gave session and host %q, want %s in lima-%s", got, name, name)
	}
	h.send(p, "VMHOOK_E2E_MARK=still-here")
	// Detach with tmux's own command: a C-b typed by send-keys right after
	// other keys falls within tmux's assume-paste-time and reaches the
	// shell as text instead of as the prefix.
	h.send(p, "tmux detach-client")
	h.waitPane(p, `host%\s*$`, 30*time.Second)
	h.send(p, "cd ..")
	h.clear(p)
	h.send(p, "cd "+project)
	if got := h.marker(p, `echo "$VMHOOK_E2E_MARK"; tmux list-sessions -F '#S' | wc -l`, time.Minute); got != "still-here\n1" {
		h.t.Fatalf("session: tmux: cd in again did not re-attach to the same session: %q", got)
	}
	h.inVM(dir, "tmux kill-server")
	h.waitPane(p, `host%\s*$`, 30*time.Second)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.notes = append(h.notes, "session: tmux: cd in attaches to the VM's session; after a detach, cd in re-attaches to the same one")
}
