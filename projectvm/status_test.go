package projectvm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// spawn starts a long-lived process whose command line begins with argv0,
// as Lima's host agent and QEMU do, and returns its pid.
func spawn(t *testing.T, argv0 string) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	cmd := &exec.Cmd{Path: sleep, Args: []string{argv0, "300"}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Until the child has exec'd, /proc shows the test binary under that
	// pid, which vmhook rightly does not take for Lima's process.
	cmdline := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, _ := os.ReadFile(cmdline); bytes.HasPrefix(b, []byte(argv0+"\x00")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never showed %q as its command", cmd.Process.Pid, argv0)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd
}

func writePid(t *testing.T, dir, file string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInstanceState(t *testing.T) {
	newInst := func(t *testing.T) string {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "lima.yaml"), []byte("{}\n"), 0o644)
		return d
	}
	t.Run("absent", func(t *testing.T) {
		if s := InstanceState(filepath.Join(t.TempDir(), "nope")); s != Absent {
			t.Fatal(s)
		}
	})
	t.Run("created, never started", func(t *testing.T) {
		if s := InstanceState(newInst(t)); s != Stopped {
			t.Fatal(s)
		}
	})
	t.Run("running", func(t *testing.T) {
		d := newInst(t)
		writePid(t, d, "ha.pid", spawn(t, "limactl hostagent").Process.Pid)
		writePid(t, d, "qemu.pid", spawn(t, "qemu-system-x86_64").Process.Pid)
		if s := InstanceState(d); s != Running {
			t.Fatal(s)
		}
	})
	t.Run("crashed: both pids dead", func(t *testing.T) {
		d := newInst(t)
		for _, f := range []string{"ha.pid", "qemu.pid"} {
			c := spawn(t, "qemu-system-x86_64 hostagent")
			c.Process.Kill()
			c.Wait() // reaped: the pid is gone
			writePid(t, d, f, c.Process.Pid)
		}
		if s := InstanceState(d); s != Stopped {
			t.Fatal(s)
		}
	})
	t.Run("zombie counts as dead", func(t *testing.T) {
		d := newInst(t)
		writePid(t, d, "ha.pid", spawn(t, "limactl hostagent").Process.Pid)
		z := spawn(t, "qemu-system-x86_64")
		z.Process.Signal(syscall.SIGKILL) // not waited for: a zombie
		waitZombie(t, z.Process.Pid)
		writePid(t, d, "qemu.pid", z.Process.Pid)
		if s := InstanceState(d); s != Broken {
			t.Fatalf("state %s, want Broken (zombie VM process)", s)
		}
	})
	t.Run("reused pid is not the VM", func(t *testing.T) {
		d := newInst(t)
		writePid(t, d, "ha.pid", spawn(t, "limactl hostagent").Process.Pid)
		// A live process that is not QEMU now holds the pid.
		writePid(t, d, "qemu.pid", spawn(t, "unrelated").Process.Pid)
		if s := InstanceState(d); s != Broken {
			t.Fatalf("state %s, want Broken", s)
		}
	})
	t.Run("host agent dead, VM alive: broken", func(t *testing.T) {
		d := newInst(t)
		writePid(t, d, "qemu.pid", spawn(t, "qemu-system-x86_64").Process.Pid)
		if s := InstanceState(d); s != Broken {
			t.Fatal(s)
		}
	})
	t.Run("garbage pid file", func(t *testing.T) {
		d := newInst(t)
		os.WriteFile(filepath.Join(d, "ha.pid"), []byte("nope"), 0o644)
		if s := InstanceState(d); s != Stopped {
			t.Fatal(s)
		}
	})
}

func waitZombie(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err == nil && len(stat) > 0 {
			for j := len(stat) - 1; j >= 0; j-- {
				if stat[j] == ')' {
					if j+2 < len(stat) && stat[j+2] == 'Z' {
						return
					}
					break
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("process did not become a zombie")
}

func TestParseList(t *testing.T) {
	lines := `{"name":"a","status":"Running","dir":"/l/a","vmType":"qemu","arch":"x86_64"}
{"name":"b","status":"Stopped","dir":"/l/b","vmType":"vz","arch":"aarch64"}
`
	got := ParseList([]byte(lines))
	if len(got) != 2 || got[0].Name != "a" || got[0].Status != "Running" || got[1].VMType != "vz" {
		t.Fatalf("JSON Lines: %+v", got)
	}
	arr := `[{"name":"a","status":"Running"},{"name":"b","status":"Broken"}]`
	got = ParseList([]byte(arr))
	if len(got) != 2 || got[1].Status != "Broken" {
		t.Fatalf("array: %+v", got)
	}
	if got := ParseList(nil); len(got) != 0 {
		t.Fatalf("empty: %+v", got)
	}
}

// TestStateAgreesWithRealLima checks the instance-directory reading against
// real `limactl list --json` for the states that need no boot.
func TestStateAgreesWithRealLima(t *testing.T) { limatest.Each(t, testStateAgreesWithRealLima) }

func testStateAgreesWithRealLima(t *testing.T, lima *limatest.Lima) {
	cfg := localImageConfig(t, lima)
	dir := filepath.Join(lima.LimaHome(), "probe")
	if s := InstanceState(dir); s != Absent {
		t.Fatalf("before create: %s", s)
	}
	out, _, _ := lima.Run("list", "--json", "probe")
	if entries := ParseList([]byte(out)); len(entries) != 0 {
		t.Fatalf("limactl lists an absent instance: %s", out)
	}
	if _, _, err := lima.Run("create", "--name", "probe", "--tty=false", cfg); err != nil {
		t.Fatal(err)
	}
	out, _, err := lima.Run("list", "--json", "probe")
	if err != nil {
		t.Fatal(err)
	}
	entries := ParseList([]byte(out))
	if len(entries) != 1 || entries[0].Name != "probe" {
		t.Fatalf("list: %s", out)
	}
	if got := InstanceState(dir); string(got) != entries[0].Status {
		t.Fatalf("instance directory says %s, limactl says %s", got, entries[0].Status)
	}
	// With another instance present, an absent one is still absent to both.
	out, _, _ = lima.Run("list", "--json", "other")
	if len(ParseList([]byte(out))) != 0 || InstanceState(filepath.Join(lima.LimaHome(), "other")) != Absent {
		t.Fatalf("absent instance listed: %s", out)
	}
}

func TestGuestShell(t *testing.T) {
	d := t.TempDir()
	if got := GuestShell(d); got != "/bin/bash" {
		t.Fatalf("no config: %q", got)
	}
	os.WriteFile(filepath.Join(d, "lima.yaml"), []byte("user:\n  shell: /usr/bin/zsh\n"), 0o644)
	if got := GuestShell(d); got != "/usr/bin/zsh" {
		t.Fatalf("user.shell: %q", got)
	}
	p := &Project{Dir: "/p", Name: "p-dev"}
	want := []string{"shell", "--workdir", "/p", "p-dev", "SYSINIT_IN_VM=1", "VMHOOK_VM=p-dev", "/usr/bin/zsh", "-i"}
	if got := ShellArgs(p, nil, GuestShell(d)); !slices.Equal(got, want) {
		t.Fatalf("ShellArgs = %q", got)
	}
}
