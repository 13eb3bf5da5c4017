package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vmhook/vmhook/internal/fakelimactl"
	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm"
)

func TestMain(m *testing.M) {
	// The fake's "running VM" processes are copies of this binary; they must
	// not be taken for a test run.
	if os.Getenv("FAKE_LIMACTL_DAEMON") != "" {
		os.Exit(fakelimactl.Main())
	}
	testscript.Main(m, map[string]func(){
		"vmhook": func() {
			os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ()))
		},
		"limactl": func() { os.Exit(fakelimactl.Main()) },
	})
}

func TestScripts(t *testing.T) {
	// A run started under nohup hands its ignored SIGHUP to every vmhook it
	// starts, which then rightly stays deaf to it (wedge.txtar's SIGHUP
	// case). Caught here, the signal is back to its default in children.
	if signal.Ignored(syscall.SIGHUP) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			// A short LIMA_HOME: Lima's socket paths must stay under 104
			// bytes, and the work dir of a test is long.
			lh, err := os.MkdirTemp("/tmp", "vh-")
			if err != nil {
				return err
			}
			e.Defer(func() {
				killDaemons(lh)
				os.RemoveAll(lh)
			})
			for _, kv := range testkit.UserEnv(filepath.Join(e.WorkDir, "home")) {
				k, v, _ := strings.Cut(kv, "=")
				e.Setenv(k, v)
			}
			e.Setenv("LIMA_HOME", lh)
			e.Setenv("FAKE_LIMACTL_LOG", filepath.Join(e.WorkDir, "limactl.log"))
			e.Setenv("NO_COLOR", "1")
			// A PATH holding vmhook but no limactl.
			nolima := filepath.Join(e.WorkDir, "nolima")
			if err := os.Mkdir(nolima, 0o755); err != nil {
				return err
			}
			path := e.Getenv("PATH")
			for _, dir := range filepath.SplitList(path) {
				if _, err := os.Stat(filepath.Join(dir, "vmhook")); err == nil {
					if err := os.Symlink(filepath.Join(dir, "vmhook"), filepath.Join(nolima, "vmhook")); err != nil {
						return err
					}
					break
				}
			}
			e.Setenv("ORIGPATH", path)
			// The repository, for scripts that check what the docs say.
			repo, err := filepath.Abs(filepath.Join("..", ".."))
			if err != nil {
				return err
			}
			e.Setenv("REPO", repo)
			for _, k := range []string{"SYSINIT_IN_VM", "SYSINIT_NO_AUTO_VM", "DIRENV_IN_ENVRC", "VMHOOK_PROJECT", "VMHOOK_VM", "LIMACTL"} {
				e.Setenv(k, "")
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "bindmount" {
				return canBindMount(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"calls":      cmdCalls,
			"vmstate":    cmdVMState,
			"killvm":     cmdKillVM,
			"listen":     cmdListen,
			"waithung":   cmdWaitHung,
			"waitcalls":  cmdWaitCalls,
			"killholder": cmdKillHolder,
			"sendsig":    cmdSendSig,
			"waitgone":   cmdWaitGone,
			"nohung":     cmdNoHung,
			"bindmount":  cmdBindMount,
		},
	})
}

// calls COUNT PREFIX: the fake limactl was called COUNT times with
// arguments starting with PREFIX.
func cmdCalls(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: calls COUNT PREFIX…")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("calls: bad count %q", args[0])
	}
	got := countCalls(ts, strings.Join(args[1:], " "))
	if (got == want) == neg {
		ts.Fatalf("limactl called %d times with %q, want %s%d\n%s", got, strings.Join(args[1:], " "), map[bool]string{true: "not ", false: ""}[neg], want, readLog(ts))
	}
}

func readLog(ts *testscript.TestScript) string {
	data, _ := os.ReadFile(ts.Getenv("FAKE_LIMACTL_LOG"))
	return string(data)
}

func countCalls(ts *testscript.TestScript, prefix string) int {
	data, err := os.ReadFile(ts.Getenv("FAKE_LIMACTL_LOG"))
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		// "shell" counts entries; the guard probe, a shell call too, is
		// counted as "probe".
		if isProbe(l) {
			if prefix == "probe" {
				n++
			}
			continue
		}
		if l == prefix || strings.HasPrefix(l, prefix+" ") {
			n++
		}
	}
	return n
}

// waitcalls COUNT PREFIX: wait up to 20 s for COUNT such calls.
func cmdWaitCalls(ts *testscript.TestScript, neg bool, args []string) {
	want, _ := strconv.Atoi(args[0])
	deadline := time.Now().Add(20 * time.Second)
	for countCalls(ts, strings.Join(args[1:], " ")) < want {
		if time.Now().After(deadline) {
			ts.Fatalf("timed out waiting for %d calls %q", want, strings.Join(args[1:], " "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vmstate NAME STATE: the instance directory says STATE.
func cmdVMState(ts *testscript.TestScript, neg bool, args []string) {
	got := projectvm.InstanceState(filepath.Join(ts.Getenv("LIMA_HOME"), args[0]))
	if (string(got) == args[1]) == neg {
		ts.Fatalf("state of %s is %s, want %s", args[0], got, args[1])
	}
}

// killvm NAME ha|vm|both: kill the fake VM's processes, leaving pid files.
func cmdKillVM(ts *testscript.TestScript, neg bool, args []string) {
	dir := filepath.Join(ts.Getenv("LIMA_HOME"), args[0])
	files := map[string][]string{"ha": {"ha.pid"}, "vm": {"qemu.pid"}, "both": {"ha.pid", "qemu.pid"}}[args[1]]
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		ts.Check(err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		ts.Check(err)
		ts.Check(syscall.Kill(pid, syscall.SIGKILL))
		// Wait until it is gone or a zombie, as a crash leaves it.
		for i := 0; i < 200 && processAlive(pid); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// listen PORT: hold 127.0.0.1:PORT open until the script ends.
func cmdListen(ts *testscript.TestScript, neg bool, args []string) {
	l, err := listenLocal(args[0])
	ts.Check(err)
	ts.Defer(func() { l.Close() })
}

// killholder PIDFILE: kill -9 the process group whose leader's pid is in
// PIDFILE (a vmhook started in the background by sh).
func cmdKillHolder(ts *testscript.TestScript, neg bool, args []string) {
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	ts.Check(err)
	ts.Check(syscall.Kill(pid, syscall.SIGKILL))
}

// killDaemons ends the fake VM processes a script left running.
func killDaemons(limaHome string) {
	matches, _ := filepath.Glob(filepath.Join(limaHome, "*", "*.pid"))
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// readPid reads the pid a script wrote to a file.
func readPid(ts *testscript.TestScript, file string) int {
	data, err := os.ReadFile(ts.MkAbs(file))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	ts.Check(err)
	return pid
}

// sendsig INT|TERM|HUP PIDFILE: send a signal to the process whose pid is
// in PIDFILE.
func cmdSendSig(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sendsig INT|TERM|HUP PIDFILE")
	}
	sig, ok := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP}[args[0]]
	if !ok {
		ts.Fatalf("sendsig: unknown signal %q", args[0])
	}
	ts.Check(syscall.Kill(readPid(ts, args[1]), sig))
}

// waitgone PIDFILE: the process whose pid is in PIDFILE ends within 20 s.
// One that does not is killed, so that the script can go on to report it.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	pid := readPid(ts, args[0])
	deadline := time.Now().Add(20 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			ts.Fatalf("process %d still running 20s later; killed it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waithung N: N processes of hanging fake limactl calls have recorded
// themselves, within 20 s. Only then do they ignore SIGINT and SIGTERM: the
// call is logged before that, so a signal sent on the log alone can reach
// the fake before it is deaf, on a busy machine.
func cmdWaitHung(ts *testscript.TestScript, neg bool, args []string) {
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("waithung: bad count %q", args[0])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(ts.Getenv("LIMA_HOME"), "_hung", "*.pid"))
		if len(files) >= want {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%d hanging limactl processes recorded after 20s, want %d", len(files), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nohung: every process a hanging fake limactl call left (FAKE_LIMACTL_HANG)
// has ended, within 20 s. Survivors are killed and reported.
func cmdNoHung(ts *testscript.TestScript, neg bool, args []string) {
	files, _ := filepath.Glob(filepath.Join(ts.Getenv("LIMA_HOME"), "_hung", "*.pid"))
	if len(files) == 0 {
		ts.Fatalf("no hanging limactl recorded")
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, f := range files {
		pid := readPid(ts, f)
		for processAlive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				ts.Fatalf("limactl process %d survived; killed it", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
		os.Remove(f)
	}
}

// guardProbeCall ends the limactl call with which vmhook asks a guest whether
// its login shells carry the nesting guard.
const guardProbeCall = ` sh -c printf '%s|%s' "${SYSINIT_IN_VM-}" "${VMHOOK_VM-}"`

// isProbe reports whether a logged limactl call is the guard probe.
func isProbe(line string) bool {
	return strings.HasPrefix(line, "shell ") && strings.HasSuffix(line, guardProbeCall)
}

// canBindMount reports whether this process may bind-mount a directory
// (as root, where the kernel allows it), tried once.
var canBindMount = sync.OnceValue(func() bool {
	dir, err := os.MkdirTemp("", "vh-bind-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	if exec.Command("mount", "--bind", a, b).Run() != nil {
		return false
	}
	return exec.Command("umount", b).Run() == nil
})

// bindmount DIR AT: show DIR at AT too, through a bind mount, unmounted when
// the script ends (scripts check [bindmount] first).
func cmdBindMount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bindmount DIR AT")
	}
	dir, at := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	if out, err := exec.Command("mount", "--bind", dir, at).CombinedOutput(); err != nil {
		ts.Fatalf("mount --bind %s %s: %v: %s", dir, at, err, out)
	}
	// Lazily: the fake VM's process may still have its working directory
	// there, and the work directory is removed through the mount otherwise.
	ts.Defer(func() { exec.Command("umount", "--lazy", at).Run() })
}
