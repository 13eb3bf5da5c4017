package projectvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memLima is an in-memory Limactl: it keeps each instance in its directory
// as Lima does (lima.yaml, and pid files naming a live process whose command
// line says "hostagent" and "qemu" while it runs), records its calls, and
// fails the subcommands in fail.
type memLima struct {
	t     *testing.T
	e     Env
	fail  map[string]string // subcommand → stderr of its failure
	mu    sync.Mutex
	calls []string
	procs map[string]*exec.Cmd
}

func newMemLima(t *testing.T, e Env) *memLima {
	l := &memLima{t: t, e: e, fail: map[string]string{}, procs: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		for name := range l.procs {
			l.kill(name)
		}
	})
	return l
}

func (l *memLima) Output(_ context.Context, args ...string) ([]byte, error) {
	l.record(args)
	if len(args) == 1 && args[0] == "--version" {
		return []byte("limactl version 2.2.0\n"), nil
	}
	return nil, fmt.Errorf("memLima: unexpected limactl %v", args)
}

func (l *memLima) Exec(args, _ []string) error {
	l.record(args)
	return nil
}

func (l *memLima) Attach(_ context.Context, _ io.Reader, _, _ io.Writer, args ...string) error {
	l.record(args)
	return nil
}

func (l *memLima) record(args []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, strings.Join(args, " "))
}

func (l *memLima) Run(_ context.Context, _ func(string), args ...string) error {
	l.record(args)
	sub, name := args[0], args[len(args)-1]
	if sub == "create" {
		name = args[2]
	}
	inst := l.e.InstanceDir(name)
	if msg, ok := l.fail[sub]; ok {
		if sub == "start" {
			// Lima's host agent logs the cause, limactl only that it exited.
			os.WriteFile(filepath.Join(inst, hostAgentLog), []byte(`{"level":"fatal","msg":"`+msg+`"}`+"\n"), 0o644)
		}
		return &LimactlError{Args: args, Code: 1, Stderr: "exiting, status=..."}
	}
	switch sub {
	case "create":
		if _, err := os.Stat(inst); err == nil {
			return &LimactlError{Args: args, Code: 1, Stderr: "instance already exists"}
		}
		data, err := os.ReadFile(args[len(args)-1])
		if err != nil {
			return err
		}
		if err := os.MkdirAll(inst, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(inst, limaYAML), data, 0o644)
	case "start":
		l.run(name)
	case "stop":
		l.kill(name)
	case "delete":
		l.kill(name)
		return os.RemoveAll(inst)
	default:
		l.t.Errorf("memLima: unexpected limactl %v", args)
		return errors.New("unexpected")
	}
	return nil
}

// run starts a process standing for the VM and names it in both pid files.
func (l *memLima) run(name string) {
	cmd := exec.Command("sh", "-c", "sleep 600; :", "hostagent-qemu")
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.procs[name] = cmd
	// Until the child has exec'd, /proc shows the test binary, not the
	// stand-in: vmhook would rightly not take it for the VM's process.
	cmdline := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, _ := os.ReadFile(cmdline); bytes.Contains(b, []byte("hostagent-qemu")) {
			break
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("the stand-in VM process %d never showed its command line", cmd.Process.Pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pid := []byte(strconv.Itoa(cmd.Process.Pid) + "\n")
	os.WriteFile(l.e.instanceFile(name, hostAgentPid), pid, 0o644)
	os.WriteFile(l.e.instanceFile(name, "qemu.pid"), pid, 0o644)
}

func (l *memLima) kill(name string) {
	if cmd := l.procs[name]; cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
		delete(l.procs, name)
	}
	os.Remove(l.e.instanceFile(name, hostAgentPid))
	os.Remove(l.e.instanceFile(name, "qemu.pid"))
}

// TestLifecycle drives the Manager through memLima, from each state an
// instance can be in, through each way limactl can fail.
func TestLifecycle(t *testing.T) {
	const config = "cpus: 2\ndisk: 10GiB\n"
	// An instance as vmhook leaves it: created from config, owned by p.
	created := func(t *testing.T, m *Manager, p *Project, owner Owner) {
		t.Helper()
		inst := m.Env.InstanceDir(p.Name)
		os.MkdirAll(inst, 0o755)
		os.WriteFile(filepath.Join(inst, limaYAML), []byte(config), 0o644)
		if err := WriteOwner(inst, owner); err != nil {
			t.Fatal(err)
		}
		if err := m.markApplied(p); err != nil {
			t.Fatal(err)
		}
	}
	mine := func(p *Project) Owner { return p.Owner() }
	other := func(*Project) Owner { return ProjectOwner("/elsewhere/api") }
	stopped := func(owner func(*Project) Owner) func(*testing.T, *Manager, *Project, *memLima) {
		return func(t *testing.T, m *Manager, p *Project, _ *memLima) { created(t, m, p, owner(p)) }
	}
	running := func(t *testing.T, m *Manager, p *Project, l *memLima) {
		created(t, m, p, p.Owner())
		l.run(p.Name)
	}
	broken := func(t *testing.T, m *Manager, p *Project, l *memLima) {
		running(t, m, p, l)
		os.Remove(m.Env.instanceFile(p.Name, "qemu.pid"))
	}
	// The project's config changes after the instance was made.
	changed := func(setup func(*testing.T, *Manager, *Project, *memLima), now string) func(*testing.T, *Manager, *Project, *memLima) {
		return func(t *testing.T, m *Manager, p *Project, l *memLima) {
			setup(t, m, p, l)
			os.WriteFile(p.ConfigPath, []byte(now), 0o644)
		}
	}
	ensure := func(ctx context.Context, m *Manager, p *Project) error { return m.Ensure(ctx, p) }
	apply := func(ctx context.Context, m *Manager, p *Project) error { return m.Apply(ctx, p) }
	stop := func(ctx context.Context, m *Manager, p *Project) error { return m.Stop(ctx, p) }
	destroy := func(ctx context.Context, m *Manager, p *Project) error { return m.Destroy(ctx, p) }

	tests := []struct {
		name  string
		setup func(*testing.T, *Manager, *Project, *memLima)
		op    func(context.Context, *Manager, *Project) error
		fail  map[string]string
		calls []string
		state State
		err   string // a substring of the error; "" for none
		check func(t *testing.T, m *Manager, p *Project, err error)
	}{
		{name: "ensure creates and starts an absent VM", op: ensure,
			calls: []string{"create --name api-dev --tty=false CONFIG", "start --tty=false api-dev", "PROBE"}, state: Running,
			check: func(t *testing.T, m *Manager, p *Project, _ error) {
				if o, _ := ReadOwner(m.Env.InstanceDir(p.Name)); o != p.Owner() {
					t.Errorf("owner %v, want %v", o, p.Owner())
				}
				if d, _ := m.Drift(p); d.Changed {
					t.Errorf("drift right after create: %+v", d)
				}
			}},
		{name: "ensure leaves a running VM alone", setup: running, op: ensure, state: Running},
		{name: "ensure starts a stopped VM", setup: stopped(mine), op: ensure,
			calls: []string{"start --tty=false api-dev", "PROBE"}, state: Running},
		{name: "ensure stops a broken VM before starting it", setup: broken, op: ensure,
			calls: []string{"stop --force api-dev", "start --tty=false api-dev", "PROBE"}, state: Running},
		{name: "ensure reports a failed create", op: ensure, fail: map[string]string{"create": ""},
			calls: []string{"create --name api-dev --tty=false CONFIG"}, state: Absent, err: "limactl create"},
		{name: "ensure names the cause of a failed start", setup: stopped(mine), op: ensure,
			fail:  map[string]string{"start": "QEMU: failed to initialize kvm: Permission denied"},
			calls: []string{"start --tty=false api-dev"}, state: Stopped, err: "failed to initialize kvm",
			check: func(t *testing.T, _ *Manager, _ *Project, err error) {
				var se *StartError
				if !errors.As(err, &se) {
					t.Errorf("error %T, want a *StartError", err)
				}
			}},
		{name: "ensure refuses another directory's VM", setup: stopped(other), op: ensure, state: Stopped, err: `is the VM of the project "/elsewhere/api"; vmhook will not touch it`,
			check: func(t *testing.T, _ *Manager, _ *Project, err error) {
				if !errors.Is(err, ErrNotOwned) {
					t.Errorf("error %v, want ErrNotOwned", err)
				}
			}},
		{name: "stop stops a running VM", setup: running, op: stop, calls: []string{"stop api-dev"}, state: Stopped},
		{name: "stop forces a broken VM", setup: broken, op: stop, calls: []string{"stop --force api-dev"}, state: Stopped},
		{name: "stop of a stopped VM does nothing", setup: stopped(mine), op: stop, state: Stopped},
		{name: "stop reports a failed stop", setup: running, op: stop, fail: map[string]string{"stop": ""},
			calls: []string{"stop api-dev"}, state: Running, err: "limactl stop"},
		{name: "stop refuses another directory's VM", setup: stopped(other), op: stop, state: Stopped, err: `is the VM of the project "/elsewhere/api"; vmhook will not touch it`},
		{name: "apply restarts with a changed config", setup: changed(running, "cpus: 4\ndisk: 10GiB\n"), op: apply,
			calls: []string{"stop api-dev", "start --tty=false api-dev", "PROBE"}, state: Running,
			check: func(t *testing.T, m *Manager, p *Project, _ error) {
				data, _ := os.ReadFile(m.Env.instanceFile(p.Name, limaYAML))
				if !strings.Contains(string(data), "cpus: 4") {
					t.Errorf("instance config not updated:\n%s", data)
				}
			}},
		{name: "apply refuses a disk change", setup: changed(stopped(mine), "cpus: 2\ndisk: 20GiB\n"), op: apply,
			state: Stopped, err: "disk changed for api-dev; up --apply cannot change it: run vmhook destroy && vmhook up"},
		{name: "apply refuses an image change", setup: changed(stopped(mine), config+"images: [{location: /b.img}]\n"), op: apply,
			state: Stopped, err: "images changed for api-dev"},
		{name: "apply with nothing changed only ensures", setup: stopped(mine), op: apply,
			calls: []string{"start --tty=false api-dev", "PROBE"}, state: Running},
		{name: "destroy deletes the VM and frees its name", setup: stopped(mine), op: destroy,
			calls: []string{"delete --force api-dev"}, state: Absent,
			check: func(t *testing.T, m *Manager, p *Project, _ error) {
				if _, err := os.Stat(m.Env.nameClaim(p.Name)); !os.IsNotExist(err) {
					t.Errorf("name reservation left: %v", err)
				}
			}},
		{name: "destroy refuses another directory's VM", setup: stopped(other), op: destroy, state: Stopped, err: `is the VM of the project "/elsewhere/api"; vmhook will not touch it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
			dir := filepath.Join(root, "proj") // its base name is not api-dev: no retry under another name
			p := &Project{Dir: dir, Name: "api-dev", ConfigPath: ProjectConfig(dir)}
			os.MkdirAll(filepath.Dir(p.ConfigPath), 0o755)
			os.WriteFile(p.ConfigPath, []byte(config), 0o644)
			lima := newMemLima(t, e)
			m := &Manager{Env: e, Lima: lima}
			if tt.setup != nil {
				tt.setup(t, m, p, lima)
			}
			for k, v := range tt.fail {
				lima.fail[k] = v
			}
			err := tt.op(context.Background(), m, p)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one saying %q", err, tt.err)
			}
			// A successful start asks the guest about the nesting guard
			// (PROBE); the version it asks first is not the point here.
			var calls []string
			for _, c := range lima.calls {
				switch {
				case c == "--version":
				case strings.HasSuffix(c, " api-dev sh -c "+guardProbe):
					calls = append(calls, "PROBE")
				default:
					calls = append(calls, strings.ReplaceAll(c, p.ConfigPath, "CONFIG"))
				}
			}
			if strings.Join(calls, "\n") != strings.Join(tt.calls, "\n") {
				t.Errorf("limactl calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(tt.calls, "\n"))
			}
			// memLima's VM is a process it just started (or killed): wait
			// for the state to show, on a busy machine, rather than read it once.
			s := m.State(p.Name)
			for deadline := time.Now().Add(10 * time.Second); s != tt.state && time.Now().Before(deadline); s = m.State(p.Name) {
				time.Sleep(20 * time.Millisecond)
			}
			if s != tt.state {
				t.Errorf("state %s, want %s", s, tt.state)
			}
			if tt.check != nil {
				tt.check(t, m, p, err)
			}
		})
	}
}
