// Package e2e boots real Lima VMs with QEMU and walks vmhook's user flows
// through real zsh, direnv and vmhook's hooks, driven in tmux as a person
// would type.
//
// It runs when VMHOOK_E2E_IMAGE names a guest image directory built by
// e2e/setup/build-image.sh (.ci/run and `just e2e` do that) and the machine
// can boot it (e2e/setup/check-kvm.sh); otherwise it skips with one line.
// Under root, everything runs as the unprivileged user vmhook-test.
//
// TestE2E walks every flow under the newest installed Lima (v2, what users
// install); TestSmoke walks a shorter one under each older version (v1), see
// limatest.Installed. Both check port isolation in the guest. TestPersistent
// walks the named-VM flow (data disk, rebuild, ssh, adopt) under the newest.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"

	"github.com/vmhook/vmhook/internal/testkit"

	"go.yaml.in/yaml/v3"
)

const testUser = "vmhook-test"

// bootTimeout bounds one wait for a VM to boot to a prompt. Boots under
// emulation took 65–211 s on a busy 2-CPU machine; two at once take twice
// the CPU.
const bootTimeout = 8 * time.Minute

// harness is one end-to-end run: a user, a LIMA_HOME with the override that
// boots vmhook's normal configs here, a HOME with zsh, direnv and vmhook set
// up, and a tmux server.
type harness struct {
	t *testing.T
	// poll is how often waitPane looks at a pane: 100 ms unless set. What
	// waitPane times is known to that resolution only.
	poll     time.Duration
	lima     limatest.Binary // the real limactl this run drives
	repo     string
	root     string // everything of this run lives below it
	home     string // the user's HOME for this run
	limaHome string
	bin      string // directory with vmhook and the logging limactl wrapper
	callLog  string // every limactl call, one per line
	projects string // parent of the projects
	uid, gid int
	asRoot   bool
	tmuxSock string
	timings  []timing
	notes    []string
	// agentSock, when set, is the user's ssh agent (SSH_AUTH_SOCK) for
	// every command of the run.
	agentSock string
}

type timing struct {
	what string
	d    time.Duration
}

func (h *harness) record(what string, d time.Duration) {
	h.timings = append(h.timings, timing{what, d})
	results.add(h.lima.Version, what, d)
	h.t.Logf("timing: %s (Lima %s): %.2fs", what, h.lima.Version, d.Seconds())
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// skipUnlessBootable skips with one clear line unless everything a real
// boot with this limactl needs is here.
func skipUnlessBootable(t *testing.T, repo string, lima limatest.Binary) string {
	image := os.Getenv("VMHOOK_E2E_IMAGE")
	if image == "" {
		t.Skip("end-to-end VM test skipped: VMHOOK_E2E_IMAGE is not set (run e2e/run.sh or .ci/run, which build the guest image)")
	}
	for _, tool := range []string{"tmux", "zsh", "bash", "fish", "direnv", "runuser", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("end-to-end VM test skipped: %s not found", tool)
		}
	}
	check := exec.Command("bash", filepath.Join(repo, "e2e/setup/check-kvm.sh"))
	check.Env = append(os.Environ(), "LIMACTL="+lima.Path)
	out, err := check.CombinedOutput()
	if err != nil {
		// VMHOOK_E2E_IMAGE is only set where this machine was found able to
		// boot (.ci/run, e2e/run.sh): a check failing now is a fault to see,
		// not a reason to skip silently.
		t.Fatalf("end-to-end VM test cannot run with Lima %s: %s", lima.Version, strings.TrimSpace(string(out)))
	}
	return image
}

func newHarness(t *testing.T, lima limatest.Binary) *harness {
	repo := repoRoot(t)
	image := skipUnlessBootable(t, repo, lima)
	h := &harness{t: t, lima: lima, repo: repo, uid: os.Getuid(), gid: os.Getgid()}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(testUser)
		if err != nil {
			t.Skipf("end-to-end VM test skipped: running as root and user %s missing: run scripts/test-user.sh", testUser)
		}
		h.asRoot = true
		h.uid, _ = strconv.Atoi(u.Uid)
		h.gid, _ = strconv.Atoi(u.Gid)
	}
	// Short paths: Lima's sockets live in LIMA_HOME/NAME and must stay under
	// 104 bytes.
	root, err := os.MkdirTemp("/tmp", "vme")
	if err != nil {
		t.Fatal(err)
	}
	h.root = root
	h.home = filepath.Join(root, "h")
	h.bin = filepath.Join(root, "bin")
	h.projects = filepath.Join(root, "p")
	h.callLog = filepath.Join(root, "limactl.log")
	h.tmuxSock = "vme" + filepath.Base(root)
	for _, d := range []string{h.home, h.bin, h.projects, filepath.Join(h.home, ".config", "direnv", "lib")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Teardown deletes every instance this run created, even on failure.
	t.Cleanup(h.teardown)

	// vmhook and vmhook-enter, built for this run, side by side as go
	// install puts them: the hook enters through vmhook-enter.
	build := exec.Command("go", "build", "-tags", testkit.BuildTags, "-o", h.bin+"/", "./cmd/vmhook", "./cmd/vmhook-enter")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vmhook: %v\n%s", err, out)
	}
	// A limactl that records each call, then runs the real one: it proves
	// "started once" without touching Lima.
	wrapper := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> %s\nexec %s \"$@\"\n", shq(h.callLog), shq(lima.Path))
	if err := os.WriteFile(filepath.Join(h.bin, "limactl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	// Lima v2 would choose this machine's unusable KVM: QEMU runs through the
	// wrapper that switches it to TCG (QEMU_SYSTEM_X86_64 in env).
	if err := copyFile(filepath.Join(repo, "e2e/setup/qemu-tcg.sh"), filepath.Join(h.bin, "qemu-tcg")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(h.callLog, nil, 0o666)

	// zsh with direnv's hook, then vmhook's, as the README says.
	zshrc := "PROMPT='host%# '\nunsetopt BEEP\n" +
		`eval "$(direnv hook zsh)"` + "\n" + `eval "$(vmhook init zsh)"` + "\n"
	os.WriteFile(filepath.Join(h.home, ".zshrc"), []byte(zshrc), 0o644)
	os.WriteFile(filepath.Join(h.home, ".zshenv"), nil, 0o644)
	bashrc := "PS1='host% '\n" + `eval "$(direnv hook bash)"` + "\n" + `eval "$(vmhook init bash)"` + "\n"
	os.WriteFile(filepath.Join(h.home, ".bashrc"), []byte(bashrc), 0o644)
	fishConfig := "set -g fish_greeting\nfunction fish_prompt; echo -n 'host% '; end\ndirenv hook fish | source\nvmhook init fish | source\n"
	os.MkdirAll(filepath.Join(h.home, ".config", "fish"), 0o755)
	os.WriteFile(filepath.Join(h.home, ".config", "fish", "config.fish"), []byte(fishConfig), 0o644)
	h.chownAll()
	stdlib := h.run("vmhook", "stdlib")
	os.WriteFile(filepath.Join(h.home, ".config", "direnv", "lib", "vmhook.sh"), []byte(stdlib), 0o644)
	h.chownAll()

	// LIMA_HOME with the override that boots vmhook's configs offline here.
	cmd := exec.Command("bash", filepath.Join(repo, "e2e/setup/lima-home.sh"), image, filepath.Join(root, "l"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lima-home.sh: %v", err)
	}
	h.limaHome = strings.TrimSpace(string(out))
	return h
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (h *harness) chownAll() {
	if !h.asRoot {
		return
	}
	filepath.Walk(h.root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, h.uid, h.gid)
		}
		return nil
	})
	os.Chmod(h.root, 0o755)
}

// env is the environment every command of the run gets.
func (h *harness) env() []string {
	env := append(testkit.UserEnv(h.home),
		"USER="+testUser,
		"PATH="+h.bin+":/usr/local/bin:/usr/bin:/bin",
		"LIMA_HOME="+h.limaHome,
		"LIMACTL="+filepath.Join(h.bin, "limactl"),
		"QEMU_SYSTEM_X86_64="+filepath.Join(h.bin, "qemu-tcg"),
		"ZDOTDIR="+h.home,
		"TERM=xterm-256color",
		"LANG=C.UTF-8",
		"SHELL=/usr/bin/zsh",
		"TMUX_TMPDIR="+h.root,
	)
	if h.agentSock != "" {
		env = append(env, "SSH_AUTH_SOCK="+h.agentSock)
	}
	return env
}

// command runs argv as the test user with the run's environment.
func (h *harness) command(argv ...string) *exec.Cmd {
	full := append([]string{"env", "-i"}, h.env()...)
	full = append(full, argv...)
	if h.asRoot {
		full = append([]string{"runuser", "-u", testUser, "--"}, full...)
	}
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Dir = h.root
	return cmd
}

// runOutErr runs argv as the test user, failing the test when it fails,
// and returns its stdout and stderr.
func (h *harness) runOutErr(argv ...string) (stdout, stderr string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	cmd := h.command(argv...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func (h *harness) run(argv ...string) string {
	h.t.Helper()
	out, _ := h.runOutErr(argv...)
	return out
}

// runErr runs argv like run and returns its stderr, where vmhook speaks to
// people.
func (h *harness) runErr(argv ...string) string {
	h.t.Helper()
	_, errs := h.runOutErr(argv...)
	return errs
}

// runAll runs argv like run and returns its stdout and stderr.
func (h *harness) runAll(argv ...string) string {
	h.t.Helper()
	out, errs := h.runOutErr(argv...)
	return out + errs
}

func (h *harness) tmux(args ...string) string {
	h.t.Helper()
	return h.run(append([]string{"tmux", "-L", h.tmuxSock}, args...)...)
}

// pane opens a new tmux window running an interactive zsh and returns its
// target.
func (h *harness) pane(name string) string {
	h.t.Helper()
	return h.shellPane(name, "zsh")
}

// shellPane opens a new tmux window running an interactive shell (zsh,
// bash or fish, each set up with direnv's hook and vmhook's as the README
// says, and the prompt "host% ") and returns its target.
func (h *harness) shellPane(name, shell string) string {
	h.t.Helper()
	argv := []string{shell, "-i"}
	if strings.TrimSpace(h.tryTmux("has-session", "-t", "e2e")) == "ok" {
		h.tmux(append([]string{"new-window", "-t", "e2e", "-n", name, "-c", h.projects}, argv...)...)
	} else {
		h.tmux(append([]string{"-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-n", name, "-x", "220", "-y", "50", "-c", h.projects}, argv...)...)
	}
	target := "e2e:" + name
	h.waitPane(target, `host%\s*$`, 30*time.Second)
	return target
}

func (h *harness) tryTmux(args ...string) string {
	cmd := h.command(append([]string{"tmux", "-L", h.tmuxSock}, args...)...)
	if cmd.Run() == nil {
		return "ok"
	}
	return ""
}

// send types a line into the pane.
func (h *harness) send(target, line string) {
	h.t.Helper()
	h.tmux("send-keys", "-t", target, "-l", line)
	h.tmux("send-keys", "-t", target, "Enter")
}

func (h *harness) capture(target string) string {
	cmd := h.command("tmux", "-L", h.tmuxSock, "capture-pane", "-p", "-J", "-S", "-200", "-t", target)
	out, _ := cmd.Output()
	return strings.TrimRight(string(out), "\n ")
}

// waitPane polls the pane until re matches its content (multi-line mode).
func (h *harness) waitPane(target, re string, timeout time.Duration) string {
	h.t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.Now().Add(timeout)
	for {
		c := h.capture(target)
		if rx.MatchString(c) {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("pane %s: no match for %q within %s; pane shows:\n%s", target, re, timeout, c)
		}
		poll := h.poll
		if poll == 0 {
			poll = 100 * time.Millisecond
		}
		time.Sleep(poll)
	}
}

// clear empties the pane's screen and history so the next wait sees only
// new output.
func (h *harness) clear(target string) {
	h.tmux("send-keys", "-t", target, "C-l")
	h.tmux("clear-history", "-t", target)
	time.Sleep(100 * time.Millisecond)
	h.tmux("clear-history", "-t", target)
}

// marker runs a command that prints a unique line and waits for it.
func (h *harness) marker(target, cmd string, timeout time.Duration) string {
	h.t.Helper()
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	h.send(target, fmt.Sprintf(`echo "M%s[$(%s)]"`, id, cmd))
	// The output may span lines; the echoed command line itself has "$(",
	// so it never matches.
	c := h.waitPane(target, `^M`+id+`\[(?s:.*?)\]$`, timeout)
	m := regexp.MustCompile(`(?ms)^M` + id + `\[(.*?)\]$`).FindStringSubmatch(c)
	return m[1]
}

func (h *harness) calls(prefix string) int {
	data, _ := os.ReadFile(h.callLog)
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// newProject scaffolds a project with vmhook new and sets small VM
// settings, with guest port 8000 forwarded.
func (h *harness) newProject(target, name string) string {
	return h.newProjectWith(target, name, "ports: [8000]\n")
}

// newProjectWith is newProject with extra settings instead of the port.
func (h *harness) newProjectWith(target, name, extra string) string {
	h.t.Helper()
	// Waits for vmhook new to finish (its exit status), not for a file.
	errFile := filepath.Join(h.root, "new-"+name+".err")
	if got := h.marker(target, "cd "+shq(h.projects)+" && vmhook new "+name+" >/dev/null 2>"+shq(errFile)+"; echo rc=$?", 60*time.Second); got != "rc=0" {
		msg, _ := os.ReadFile(errFile)
		h.t.Fatalf("vmhook new %s: %s\n%s", name, got, msg)
	}
	dir := filepath.Join(h.projects, name)
	// One CPU and 1 GiB each: two VMs must boot side by side on 2 cores.
	settings := "cpus: 1\nmemory: 1GiB\ndisk: 4GiB\n" + extra
	if err := os.WriteFile(filepath.Join(dir, "vmhook.yaml"), []byte(settings), 0o644); err != nil {
		h.t.Fatal(err)
	}
	os.Chown(filepath.Join(dir, "vmhook.yaml"), h.uid, h.gid)
	return dir
}

// waitContent waits until path holds exactly want.
func (h *harness) waitContent(path, want string, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil && string(data) == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s holds %q (%v) after %s, want %q", path, data, err, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// vmName asks vmhook for a project's VM name.
func (h *harness) vmName(dir string) string {
	return strings.TrimSpace(h.run("vmhook", "name", "--project", dir))
}

func (h *harness) status(dir string) (state string, ports map[int]int) {
	h.t.Helper()
	var st struct {
		Status string `json:"status"`
		Ports  []struct{ Guest, Host int }
	}
	if err := json.Unmarshal([]byte(h.run("vmhook", "status", "--json", "--project", dir)), &st); err != nil {
		h.t.Fatal(err)
	}
	ports = map[int]int{}
	for _, p := range st.Ports {
		ports[p.Guest] = p.Host
	}
	return st.Status, ports
}

// guestPrompt matches the guest's bash prompt for VM name.
func guestPrompt(name string) string { return `@lima-` + regexp.QuoteMeta(name) + `:.*\$ ?$` }

func (h *harness) teardown() {
	if h.tmuxSock != "" {
		h.command("tmux", "-L", h.tmuxSock, "kill-server").Run()
	}
	if h.limaHome != "" {
		entries, _ := os.ReadDir(h.limaHome)
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
				if out, err := h.command("limactl", "delete", "--force", e.Name()).CombinedOutput(); err != nil {
					h.t.Errorf("teardown: delete %s: %v\n%s", e.Name(), err, out)
				}
			}
		}
	}
	if h.t.Failed() {
		if data, err := os.ReadFile(h.callLog); err == nil {
			h.t.Logf("limactl calls:\n%s", data)
		}
	}
	os.RemoveAll(h.root)
}

// writeNotes adds the run's remarks to the timings file.
func (h *harness) writeNotes() {
	for _, n := range h.notes {
		results.note(h.lima.Version, n)
	}
}

func TestE2E(t *testing.T) {
	all := limatest.Installed()
	if len(all) == 0 {
		t.Skip("end-to-end VM test skipped: real limactl not installed: run scripts/install-lima.sh both")
	}
	h := newHarness(t, all[0])
	main := h.pane("main")

	// 1. vmhook new demo → cd demo → direnv allow → inside the VM.
	dir := h.newProject(main, "demo")
	name := h.vmName(dir)
	h.clear(main)
	start := time.Now()
	h.send(main, "cd demo && direnv allow")
	h.waitPane(main, guestPrompt(name), bootTimeout)
	h.record("cold: direnv allow → prompt in a new VM (create + boot)", time.Since(start))
	if got := h.marker(main, "hostname", 30*time.Second); got != "lima-"+name {
		t.Fatalf("hostname in the VM = %q, want lima-%s", got, name)
	}
	if got := h.marker(main, "pwd", 10*time.Second); got != dir {
		t.Fatalf("pwd in the VM = %q, want %q", got, dir)
	}
	// The project is mounted with 9p, which QEMU confines to the project
	// (under reverse-sshfs root in the guest reaches every host file).
	if got := h.marker(main, "findmnt -n -o FSTYPE --target .", 10*time.Second); got != "9p" {
		t.Fatalf("the project is mounted in the VM as %q, want 9p", got)
	}
	// One guest shell: the guest has the guard from its env:, so the hook
	// enters as bare limactl shell does, into the login shell itself.
	if got := h.marker(main, "shopt -q login_shell && echo login || echo second", 10*time.Second); got != "login" {
		t.Fatalf("the shell entered on cd is not the guest's login shell: %q", got)
	}
	if got := h.marker(main, "printenv SYSINIT_IN_VM", 10*time.Second); got != "1" {
		t.Fatalf("SYSINIT_IN_VM in the VM = %q, want 1", got)
	}
	if n := h.calls("create "); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}

	// 2. A file written inside is on the host.
	h.send(main, "echo hi > from-vm.txt")
	h.waitContent(filepath.Join(dir, "from-vm.txt"), "hi\n", 60*time.Second)

	// 3. cd away and back inside the VM: no nested entry; vmhook itself
	// refuses inside. exit → host prompt, no re-entry; cd back → inside.
	if err := copyFile(filepath.Join(h.bin, "vmhook"), filepath.Join(dir, ".vmhook-e2e")); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(dir, ".vmhook-e2e"), h.uid, h.gid)
	h.noNestingThenExit(main, "zsh", dir, name)
	if got := h.marker(main, "pwd", 10*time.Second); got != dir {
		t.Fatalf("after exit, host pwd = %q, want the project", got)
	}
	h.clear(main)
	start = time.Now()
	h.send(main, "cd .. && cd demo")
	h.waitPane(main, guestPrompt(name), 60*time.Second)
	warm := time.Since(start)
	h.record("warm: cd → prompt in the running VM", warm)

	// vm-shell and bare limactl shell, typed at the host prompt in the
	// project, for comparison: the cd above also reloads the .envrc.
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.clear(main)
	start = time.Now()
	h.send(main, "vm-shell")
	h.waitPane(main, guestPrompt(name), 60*time.Second)
	viaHook := time.Since(start)
	h.record("warm: vm-shell → prompt in the running VM", viaHook)
	if got := h.marker(main, "shopt -q login_shell && echo login || echo second; printenv SYSINIT_IN_VM", 10*time.Second); got != "login\n1" {
		t.Fatalf("vm-shell: want the guest's login shell with the guard, got %q", got)
	}
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.clear(main)
	start = time.Now()
	h.send(main, "limactl shell "+name)
	h.waitPane(main, guestPrompt(name), 60*time.Second)
	bare := time.Since(start)
	h.record("bare: limactl shell NAME → prompt", bare)
	h.notes = append(h.notes, fmt.Sprintf("warm entry against bare `limactl shell NAME`: vm-shell %.2fx, cd (with the .envrc reload) %.2fx", viaHook.Seconds()/bare.Seconds(), warm.Seconds()/bare.Seconds()))
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.send(main, "cd ..")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	for i := 0; i < 5; i++ {
		start = time.Now()
		h.run("limactl", "shell", name, "--", "true")
		h.record("limactl shell NAME -- true", time.Since(start))
		start = time.Now()
		h.run("vmhook", "shell", "--project", dir, "--", "true")
		h.record("vmhook shell -- true", time.Since(start))
	}
	h.checkRecordedEntry(dir, name)

	// 4. A guest port listed in ports: is reachable at the host port vmhook
	// status reports; unlisted ones, whatever they bind, are not forwarded.
	h.checkPorts(dir, name)
	h.clear(main)
	h.send(main, "cd demo")
	h.waitPane(main, guestPrompt(name), 60*time.Second)

	// 5. vm-stop → cd back → started and entered again; guest data survived.
	// Before it, the guest makes links in the project: under 9p's default
	// security model they are real links on the host, and the next start
	// must reach nothing new through them (see the README's Security model).
	hostFile := filepath.Join(h.home, "host-only.txt")
	if err := os.WriteFile(hostFile, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := h.marker(main, "ln -s / escape && ln -s "+h.home+" home-link && echo made", 20*time.Second); got != "made" {
		t.Fatalf("the guest could not make links in the project: %q", got)
	}
	if target, err := os.Readlink(filepath.Join(dir, "escape")); err != nil || target != "/" {
		t.Fatalf("a link the guest made is not a link to / on the host: %q, %v", target, err)
	}
	mountsBefore := h.instanceMounts(name)
	h.send(main, "echo kept > ~/persist.txt; exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.stopThenEnter(main, dir, name, "demo")
	if got := h.marker(main, "cat ~/persist.txt", 20*time.Second); got != "kept" {
		t.Fatalf("guest data after stop/start: %q", got)
	}
	if got := h.marker(main, "cat escape/proc/sys/kernel/hostname; cat home-link/host-only.txt 2>/dev/null || echo unreachable", 20*time.Second); got != "lima-"+name+"\nunreachable" {
		t.Fatalf("after a restart, the guest's links reach %q, want its own root and no host file", got)
	}
	if after := h.instanceMounts(name); after != mountsBefore {
		t.Fatalf("the guest's links changed what the VM mounts:\nbefore %s\nafter  %s", mountsBefore, after)
	}
	for _, l := range []string{"escape", "home-link"} {
		os.Remove(filepath.Join(dir, l))
	}
	if n := h.calls("start "); n != 2 {
		t.Fatalf("%d starts, want 2", n)
	}

	// 6. vmhook destroy --yes → cd back → recreated from config.
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)
	h.run("vmhook", "destroy", "--yes", "--project", dir)
	if state, _ := h.status(dir); state != "Absent" {
		t.Fatalf("after destroy: %s", state)
	}
	h.send(main, "cd ..")
	h.clear(main)
	start = time.Now()
	h.send(main, "cd demo")
	h.waitPane(main, guestPrompt(name), bootTimeout)
	h.record("destroyed VM: cd → prompt (recreate + boot)", time.Since(start))
	if n := h.calls("create "); n != 2 {
		t.Fatalf("%d creates, want 2", n)
	}
	if got := h.marker(main, "cat ~/persist.txt 2>/dev/null || echo gone", 20*time.Second); got != "gone" {
		t.Fatalf("a recreated VM still has old guest data: %q", got)
	}
	h.send(main, "exit")
	h.waitPane(main, `host%\s*$`, 30*time.Second)

	// The same flows in bash and fish, on the running VM.
	for _, shell := range []string{"bash", "fish"} {
		h.walkShell(shell, dir, name)
	}
	h.run("vmhook", "stop", "--project", dir)

	// 7. Two projects opened at once from two panes: two VMs, both running,
	// no port clash, each started once. Neither sets ports: both forward
	// the default dev ports, and both serve guest :3000.
	one, two := h.pane("one"), h.pane("two")
	d1, d2 := h.newProjectWith(one, "alpha", ""), h.newProjectWith(two, "beta", "")
	n1, n2 := h.vmName(d1), h.vmName(d2)
	h.send(one, "cd alpha && direnv allow")
	h.send(two, "cd beta && direnv allow")
	start = time.Now()
	h.waitPane(one, guestPrompt(n1), 2*bootTimeout)
	h.waitPane(two, guestPrompt(n2), 2*bootTimeout)
	h.record("two projects at once: both prompts", time.Since(start))
	s1, p1 := h.status(d1)
	s2, p2 := h.status(d2)
	if s1 != "Running" || s2 != "Running" {
		t.Fatalf("states %s, %s", s1, s2)
	}
	if p1[8000] == 0 || p2[8000] == 0 || p1[8000] == p2[8000] {
		t.Fatalf("port clash: %v vs %v", p1, p2)
	}
	h.checkSamePort(map[string]string{n1: d1, n2: d2},
		map[string]func() string{n1: func() string { return h.capture(one) }, n2: func() string { return h.capture(two) }},
		map[string]map[int]int{n1: p1, n2: p2})
	for _, n := range []string{n1, n2} {
		if c := h.calls("start --tty=false " + n); c != 1 {
			t.Fatalf("%s started %d times", n, c)
		}
	}

	// 8. Inside alpha's VM, beta's stopped to give it the CPUs: a tmux
	// session, sockets both ways, ssh agents, provisioning.
	for _, p := range []string{one, two} {
		h.send(p, "exit")
		h.waitPane(p, `host%\s*$`, 30*time.Second)
		h.send(p, "cd ..")
	}
	h.run("vmhook", "stop", "--project", d2)
	h.checkSession(one, d1, n1)
	h.checkInside(d1)
	h.writeNotes()
}

// noNestingThenExit, in pane p inside the VM of dir: cd inside the VM does
// not enter again and vmhook refuses there; exit returns to the host shell,
// which does not enter again on the next prompts.
func (h *harness) noNestingThenExit(p, shell, dir, name string) {
	h.t.Helper()
	h.send(p, "cd / && cd "+shq(dir))
	if got := h.marker(p, "hostname; ./.vmhook-e2e shell 2>&1; echo rc=$?", 30*time.Second); !strings.HasPrefix(got, "lima-"+name+"\n") || !strings.Contains(got, "already inside") || !strings.HasSuffix(got, "rc=1") {
		h.t.Fatalf("%s: cd and vmhook shell inside the VM: %q", shell, got)
	}
	shells := h.calls("shell ")
	h.clear(p)
	h.send(p, "exit")
	h.waitPane(p, `host%\s*$`, 30*time.Second)
	// Three more prompts: had the hook entered again at one of them, the
	// marker below would run in the VM and print its hostname.
	for i := 0; i < 3; i++ {
		h.send(p, "")
	}
	if got := h.marker(p, "hostname", 30*time.Second); got == "lima-"+name {
		h.t.Fatalf("%s: entered the VM again after exit", shell)
	}
	if n := h.calls("shell "); n != shells {
		h.t.Fatalf("%s: limactl shell called %d more times after exit", shell, n-shells)
	}
}

// stopThenEnter stops the VM of dir with vm-stop from the host shell in p,
// then cd .. and back into project: the hook starts it and enters.
// instanceMounts is the mounts of the instance's lima.yaml, as JSON: what
// its next start shares with the guest.
func (h *harness) instanceMounts(name string) string {
	data, err := os.ReadFile(filepath.Join(h.limaHome, name, "lima.yaml"))
	if err != nil {
		h.t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		h.t.Fatal(err)
	}
	out, _ := json.Marshal(m["mounts"])
	return string(out)
}

func (h *harness) stopThenEnter(p, dir, name, project string) {
	h.t.Helper()
	start := time.Now()
	h.send(p, "vm-stop")
	h.waitState(dir, "Stopped", 2*time.Minute)
	h.record("vm-stop", time.Since(start))
	h.send(p, "cd ..")
	h.clear(p)
	start = time.Now()
	h.send(p, "cd "+project)
	h.waitPane(p, guestPrompt(name), bootTimeout)
	h.record("stopped VM: cd → prompt (start + enter)", time.Since(start))
}

// walkShell drives the entry flows in another host shell, the VM of dir
// running: cd in enters it; cd inside the VM does not nest and vmhook
// refuses there; exit returns to the host shell, which does not enter again
// on the next prompts; cd .. and back enters again.
func (h *harness) walkShell(shell, dir, name string) {
	h.t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		h.t.Fatalf("%s not installed: the real-VM flows run in zsh, bash and fish", shell)
	}
	p := h.shellPane(shell, shell)
	h.clear(p)
	start := time.Now()
	h.send(p, "cd "+filepath.Base(dir))
	h.waitPane(p, guestPrompt(name), 2*time.Minute)
	h.record(shell+": warm cd → prompt in the running VM", time.Since(start))
	if got := h.marker(p, "hostname", 30*time.Second); got != "lima-"+name {
		h.t.Fatalf("%s: hostname after cd = %q, want lima-%s", shell, got, name)
	}
	h.noNestingThenExit(p, shell, dir, name)
	h.clear(p)
	h.send(p, "cd .. && cd "+filepath.Base(dir))
	h.waitPane(p, guestPrompt(name), 2*time.Minute)
	h.send(p, "exit")
	h.waitPane(p, `host%\s*$`, 30*time.Second)
	h.tmux("kill-window", "-t", p)
}

func (h *harness) waitHTTP(port int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("guest port not reachable at %s within %s: %v", url, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (h *harness) waitState(dir, want string, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if s, _ := h.status(dir); s == want {
			return
		}
		if time.Now().After(deadline) {
			s, _ := h.status(dir)
			h.t.Fatalf("VM of %s is %s, want %s", dir, s, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
