// Package fakelimactl is a stand-in for Lima's limactl in hermetic tests. It
// keeps instance state where Lima does ($LIMA_HOME/NAME: lima.yaml, and
// ha.pid and qemu.pid naming live processes while "running"), prints
// real-shaped output (logrus lines on stderr, JSON Lines from list --json),
// records every call, and fails loudly on arguments it does not expect.
//
// Environment:
//
//	LIMA_HOME                  instance root (default ~/.lima)
//	FAKE_LIMACTL_LOG           file that gets one line per call: the
//	                           arguments joined by single spaces; a call it
//	                           did not expect is logged as "UNEXPECTED <args>"
//	FAKE_LIMACTL_FAIL          comma list of subcommands that fail with exit 1
//	                           (e.g. "start,create")
//	FAKE_LIMACTL_CREATE_PARTIAL if set, create writes the instance's
//	                           lima.yaml and then fails, as Lima does when a
//	                           later step of create goes wrong
//	FAKE_LIMACTL_START_SLEEP   Go duration a start takes (e.g. "2s")
//	FAKE_LIMACTL_HANG          comma list of subcommands that never finish:
//	                           they ignore SIGINT and SIGTERM, so only
//	                           SIGKILL ends them, and start a child in their
//	                           process group that does the same and holds
//	                           their stderr open (as a limactl that left a
//	                           helper behind would). Both pids are written
//	                           to $LIMA_HOME/_hung/PID.pid; both give up by
//	                           themselves after ten minutes.
//	FAKE_LIMACTL_SHELL_EXIT    exit code of "shell" (default 0)
//	FAKE_LIMACTL_SHELL_CMD     if set, "shell" runs sh -c with it, in the
//	                           workdir, with the guest's login environment
//	                           (an interactive "guest"); otherwise it prints
//	                           one line and exits
//	FAKE_LIMACTL_VERSION       the version --version reports (default
//	                           1.0.7); from 2.0 on, "shell" takes (and
//	                           before, refuses) --start=false
//	FAKE_LIMACTL_GUEST         how the guest's login shells get their
//	                           environment: "" (Debian: PAM reads the
//	                           /etc/environment Lima writes from the
//	                           instance's env:), "nixos" (it does not) or
//	                           "broken" (a command through ssh fails
//	                           with 255, as when sshd is not up)
//
// Disks live where Lima keeps them ($LIMA_HOME/_disks/NAME/datadisk): disk
// create, delete and list --json work on them, and start fails when a disk
// the instance's lima.yaml attaches (additionalDisks) is missing.
//
// A login shell's environment is the guest's (above) plus the leading
// NAME=VALUE words of a shell command, which limactl passes as assignments.
// A "shell" whose command is `sh -c SCRIPT` with no such words runs SCRIPT
// in that environment, which is how vmhook asks the guest about it.
//
// The "running" processes are copies of the fake itself: a host agent whose
// command line is "limactl hostagent NAME" and a VM whose command line is
// "qemu-system-x86_64 -name NAME". They exit by themselves when their pid
// file no longer names them (stop, delete, or the test's temp dir removed).
package fakelimactl

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

const daemonEnv = "FAKE_LIMACTL_DAEMON"

// hungEnv marks the child a hanging call leaves behind.
const hungEnv = "FAKE_LIMACTL_HUNG_CHILD"

// hangFor bounds a hanging call, so that a test that fails to end it does
// not leave it behind for long.
const hangFor = 10 * time.Minute

var nameRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

type fake struct {
	args   []string
	home   string
	stdout io.Writer
	stderr io.Writer
}

// Main runs the fake with os.Args and returns its exit code.
func Main() int {
	if os.Getenv(daemonEnv) != "" {
		daemon(os.Getenv(daemonEnv))
		return 0
	}
	if os.Getenv(hungEnv) != "" {
		hangHere(os.Getenv(hungEnv))
		return 0
	}
	home := os.Getenv("LIMA_HOME")
	if home == "" {
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".lima")
	}
	f := &fake{args: os.Args[1:], home: home, stdout: os.Stdout, stderr: os.Stderr}
	return f.run()
}

func (f *fake) logCall(prefix string) {
	path := os.Getenv("FAKE_LIMACTL_LOG")
	if path == "" {
		return
	}
	line := strings.Join(f.args, " ")
	if prefix != "" {
		line = prefix + " " + line
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(f.stderr, "fake limactl: cannot write log: %v\n", err)
		return
	}
	fh.Write([]byte(line + "\n")) // one write: concurrent calls do not interleave
	fh.Close()
}

func (f *fake) logrus(level, msg string) {
	fmt.Fprintf(f.stderr, "time=%q level=%s msg=%q\n", time.Now().Format(time.RFC3339), level, msg)
}

func (f *fake) fatal(msg string) int {
	f.logrus("fatal", msg)
	return 1
}

func (f *fake) unexpected() int {
	f.logCall("UNEXPECTED")
	fmt.Fprintf(f.stderr, "fake limactl: unexpected arguments: %q\n", f.args)
	return 99
}

func (f *fake) fails(cmd string) bool {
	return slices.Contains(strings.Split(os.Getenv("FAKE_LIMACTL_FAIL"), ","), cmd)
}

func (f *fake) dir(name string) string { return filepath.Join(f.home, name) }

func (f *fake) run() int {
	if len(f.args) == 0 {
		return f.unexpected()
	}
	cmd, rest := f.args[0], f.args[1:]
	switch cmd {
	case "--version", "-v":
		f.logCall("")
		fmt.Fprintln(f.stdout, "limactl version "+fakeVersion())
		return 0
	case "create", "start", "stop", "delete", "list", "shell", "validate", "disk":
	default:
		return f.unexpected()
	}
	hanging := slices.Contains(strings.Split(os.Getenv("FAKE_LIMACTL_HANG"), ","), cmd)
	if hanging {
		// Deaf and recorded before the call is logged: a test that signals
		// on seeing the call must find a hanging limactl, however slowly
		// this process got going on a busy machine.
		if err := f.beginHang(); err != nil {
			return f.fatal(err.Error())
		}
	}
	f.logCall("")
	if f.fails(cmd) {
		f.logrus("info", "fake "+cmd+" is about to fail")
		return f.fatal("fake failure of " + cmd + " (FAKE_LIMACTL_FAIL)")
	}
	if hanging {
		return f.hang(cmd)
	}
	switch cmd {
	case "create":
		return f.create(rest)
	case "start":
		return f.start(rest)
	case "stop":
		return f.stop(rest)
	case "delete":
		return f.delete(rest)
	case "list":
		return f.list(rest)
	case "shell":
		return f.shell(rest)
	case "disk":
		return f.disk(rest)
	case "validate":
		if len(rest) != 1 {
			return f.unexpected()
		}
		if _, err := os.Stat(rest[0]); err != nil {
			return f.fatal(err.Error())
		}
		return 0
	}
	return f.unexpected()
}

// create accepts exactly: create --name NAME --tty=false FILE.
func (f *fake) create(a []string) int {
	if len(a) != 4 || a[0] != "--name" || a[2] != "--tty=false" {
		return f.unexpected()
	}
	name, file := a[1], a[3]
	if !nameRE.MatchString(name) || strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		return f.fatal(fmt.Sprintf("instance name %q is invalid", name))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return f.fatal(err.Error())
	}
	d := f.dir(name)
	if _, err := os.Stat(d); err == nil {
		return f.fatal(fmt.Sprintf("instance %q already exists (%q)", name, d))
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return f.fatal(err.Error())
	}
	os.WriteFile(filepath.Join(d, "lima.yaml"), data, 0o644)
	if os.Getenv("FAKE_LIMACTL_CREATE_PARTIAL") != "" {
		return f.fatal("fake failure of create after writing lima.yaml (FAKE_LIMACTL_CREATE_PARTIAL)")
	}
	os.WriteFile(filepath.Join(d, "lima-version"), []byte("1.0.7"), 0o644)
	f.logrus("info", "Terminal is not available, proceeding without opening an editor")
	return 0
}

func (f *fake) state(name string) string {
	d := f.dir(name)
	if _, err := os.Stat(filepath.Join(d, "lima.yaml")); err != nil {
		return ""
	}
	ha, vm := alive(filepath.Join(d, "ha.pid")), alive(filepath.Join(d, "qemu.pid"))
	switch {
	case ha && vm:
		return "Running"
	case !ha && !vm:
		return "Stopped"
	}
	return "Broken"
}

func alive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// start accepts exactly: start --tty=false NAME.
func (f *fake) start(a []string) int {
	if len(a) != 2 || a[0] != "--tty=false" {
		return f.unexpected()
	}
	name := a[1]
	switch f.state(name) {
	case "":
		return f.fatal(fmt.Sprintf("instance %q does not exist, run `limactl create %s` to create a new instance", name, name))
	case "Running":
		f.logrus("info", "The instance \""+name+"\" is already running. Run `limactl shell "+name+"` to open the shell.")
		return 0
	case "Broken":
		return f.fatal(fmt.Sprintf("instance %q seems to be broken (host agent or driver not running)", name))
	}
	d := f.dir(name)
	for _, disk := range f.additionalDisks(name) {
		if _, err := os.Stat(filepath.Join(f.diskDir(disk), "datadisk")); err != nil {
			return f.fatal(fmt.Sprintf("failed to run attach disk %q, in use by instance %q: disk %q does not exist", disk, name, disk))
		}
	}
	os.Remove(filepath.Join(d, "ha.pid"))
	os.Remove(filepath.Join(d, "qemu.pid"))
	f.logrus("info", "Starting the instance \""+name+"\" with VM driver \"qemu\"")
	if v := os.Getenv("FAKE_LIMACTL_START_SLEEP"); v != "" {
		dur, err := time.ParseDuration(v)
		if err != nil {
			return f.fatal("bad FAKE_LIMACTL_START_SLEEP: " + err.Error())
		}
		steps := 4
		for i := 0; i < steps; i++ {
			f.logrus("info", fmt.Sprintf("[hostagent] Waiting for the essential requirement %d of %d: \"ssh\"", i+1, steps))
			time.Sleep(dur / time.Duration(steps))
		}
	}
	self, err := os.Executable()
	if err != nil {
		return f.fatal(err.Error())
	}
	for _, p := range []struct{ file, argv0, first string }{
		{"qemu.pid", "qemu-system-x86_64", "-name"},
		{"ha.pid", "limactl", "hostagent"},
	} {
		pidFile := filepath.Join(d, p.file)
		cmd := &exec.Cmd{Path: self, Args: []string{p.argv0, p.first, name}, Env: append(os.Environ(), daemonEnv+"="+pidFile)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return f.fatal(err.Error())
		}
		os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
		cmd.Process.Release()
	}
	f.logrus("info", "READY. Run `limactl shell "+name+"` to open the shell.")
	return 0
}

// hang is a call that never finishes and cannot be interrupted: only
// SIGKILL ends it and the child it leaves holding its stderr.
// beginHang makes this process deaf to SIGINT and SIGTERM and records it in
// $LIMA_HOME/_hung.
func (f *fake) beginHang() error {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	dir := filepath.Join(f.home, "_hung")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pid := strconv.Itoa(os.Getpid())
	return os.WriteFile(filepath.Join(dir, pid+".pid"), []byte(pid+"\n"), 0o644)
}

func (f *fake) hang(cmd string) int {
	dir := filepath.Join(f.home, "_hung")
	self, err := os.Executable()
	if err != nil {
		return f.fatal(err.Error())
	}
	child := &exec.Cmd{Path: self, Args: []string{"limactl"}, Env: append(os.Environ(), hungEnv+"="+dir), Stderr: os.Stderr}
	if err := child.Start(); err != nil {
		return f.fatal(err.Error())
	}
	f.logrus("info", "fake "+cmd+" hangs, ignoring SIGINT and SIGTERM (FAKE_LIMACTL_HANG)")
	time.Sleep(hangFor)
	return 0
}

// hangHere records this process in dir and sleeps, deaf to SIGINT and
// SIGTERM.
func hangHere(dir string) {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	pid := strconv.Itoa(os.Getpid())
	os.WriteFile(filepath.Join(dir, pid+".pid"), []byte(pid+"\n"), 0o644)
	time.Sleep(hangFor)
}

// daemon is a "running" process: it lives while its pid file names it.
func daemon(pidFile string) {
	me := strconv.Itoa(os.Getpid())
	deadline := time.Now().Add(5 * time.Second) // time for start to write the file
	for {
		b, err := os.ReadFile(pidFile)
		switch {
		case err == nil && strings.TrimSpace(string(b)) == me:
			deadline = time.Time{}
		case deadline.IsZero() || time.Now().After(deadline):
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func killPid(pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	os.Remove(pidFile)
}

// stop accepts: stop [--force|-f] NAME.
func (f *fake) stop(a []string) int {
	force := len(a) == 2 && (a[0] == "--force" || a[0] == "-f")
	if len(a) != 1 && !force {
		return f.unexpected()
	}
	name := a[len(a)-1]
	switch f.state(name) {
	case "":
		return f.fatal(fmt.Sprintf("instance %q does not exist", name))
	case "Stopped":
		if !force {
			return f.fatal(fmt.Sprintf("expected status %q, got %q (maybe use `limactl stop -f`?)", "Running", "Stopped"))
		}
		return 0
	case "Broken":
		if !force {
			return f.fatal(fmt.Sprintf("expected status %q, got %q (maybe use `limactl stop -f`?)", "Running", "Broken"))
		}
	}
	d := f.dir(name)
	killPid(filepath.Join(d, "ha.pid"))
	killPid(filepath.Join(d, "qemu.pid"))
	f.logrus("info", "Sending SIGINT to hostagent process")
	return 0
}

// delete accepts: delete [--force|-f] NAME.
func (f *fake) delete(a []string) int {
	force := len(a) == 2 && (a[0] == "--force" || a[0] == "-f")
	if len(a) != 1 && !force {
		return f.unexpected()
	}
	name := a[len(a)-1]
	d := f.dir(name)
	if _, err := os.Stat(d); err != nil {
		f.logrus("warning", fmt.Sprintf("Ignoring non-existent instance %q", name))
		return 0
	}
	if f.state(name) == "Running" && !force {
		return f.fatal(fmt.Sprintf("expected status %q, got %q", "Stopped", "Running"))
	}
	killPid(filepath.Join(d, "ha.pid"))
	killPid(filepath.Join(d, "qemu.pid"))
	os.RemoveAll(d)
	f.logrus("info", "Deleted \""+name+"\" (\""+d+"\")")
	return 0
}

// list accepts: list --json [NAME...].
func (f *fake) list(a []string) int {
	if len(a) == 0 || a[0] != "--json" {
		return f.unexpected()
	}
	names := a[1:]
	if len(names) == 0 {
		entries, _ := os.ReadDir(f.home)
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
				names = append(names, e.Name())
			}
		}
	}
	rc := 0
	for _, n := range names {
		st := f.state(n)
		if st == "" {
			if len(a) > 1 {
				f.logrus("warning", "No instance matching "+n+" found.")
				rc = 1
			}
			continue
		}
		line, _ := json.Marshal(map[string]any{
			"name": n, "status": st, "dir": f.dir(n), "vmType": "qemu", "arch": "x86_64",
			"cpus": 4, "memory": 4294967296, "disk": 107374182400, "sshLocalPort": 0,
		})
		fmt.Fprintln(f.stdout, string(line))
	}
	return rc
}

func (f *fake) diskDir(name string) string { return filepath.Join(f.home, "_disks", name) }

// additionalDisks are the disks instance name's lima.yaml attaches.
func (f *fake) additionalDisks(name string) []string {
	data, err := os.ReadFile(filepath.Join(f.dir(name), "lima.yaml"))
	if err != nil {
		return nil
	}
	var doc struct {
		AdditionalDisks []struct {
			Name string `yaml:"name"`
		} `yaml:"additionalDisks"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	for _, d := range doc.AdditionalDisks {
		out = append(out, d.Name)
	}
	return out
}

// disk accepts: disk create NAME --size SIZE, disk delete NAME, disk list
// --json. Like Lima, delete skips (and exits 0) a disk that an instance's
// config names.
func (f *fake) disk(a []string) int {
	switch {
	case len(a) == 4 && a[0] == "create" && a[2] == "--size":
		name := a[1]
		if !nameRE.MatchString(name) {
			return f.fatal(fmt.Sprintf("disk name %q is invalid", name))
		}
		d := f.diskDir(name)
		if _, err := os.Stat(d); err == nil {
			return f.fatal(fmt.Sprintf("disk %q already exists (%q)", name, d))
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return f.fatal(err.Error())
		}
		os.WriteFile(filepath.Join(d, "datadisk"), []byte("fake qcow2 "+a[3]+"\n"), 0o644)
		f.logrus("info", fmt.Sprintf("Creating qcow2 disk %q with size %s", name, a[3]))
		return 0
	case len(a) == 2 && a[0] == "delete":
		name := a[1]
		d := f.diskDir(name)
		if _, err := os.Stat(d); err != nil {
			f.logrus("warning", fmt.Sprintf("Ignoring non-existent disk %q", name))
			return 0
		}
		entries, _ := os.ReadDir(f.home)
		for _, e := range entries {
			if e.IsDir() && slices.Contains(f.additionalDisks(e.Name()), name) {
				f.logrus("warning", fmt.Sprintf("Skipping deleting disk %q, disk is referenced by one or more non-running instances: [%q]", name, e.Name()))
				return 0
			}
		}
		os.RemoveAll(d)
		f.logrus("info", fmt.Sprintf("Deleted %q (%q)", name, d))
		return 0
	case len(a) == 2 && a[0] == "list" && a[1] == "--json":
		entries, _ := os.ReadDir(filepath.Join(f.home, "_disks"))
		for _, e := range entries {
			line, _ := json.Marshal(map[string]any{"name": e.Name(), "format": "qcow2", "dir": f.diskDir(e.Name())})
			fmt.Fprintln(f.stdout, string(line))
		}
		return 0
	}
	return f.unexpected()
}

// fakeVersion is the Lima version the fake plays.
func fakeVersion() string {
	if v := os.Getenv("FAKE_LIMACTL_VERSION"); v != "" {
		return v
	}
	return "1.0.7"
}

// v2 reports whether the fake plays Lima v2 or later.
func v2() bool {
	major, _, _ := strings.Cut(fakeVersion(), ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2
}

// guestEnv is what a login shell in the guest of instance name inherits
// from the guest: the instance's env: where PAM reads /etc/environment.
func (f *fake) guestEnv(name string) []string {
	if os.Getenv("FAKE_LIMACTL_GUEST") == "nixos" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(f.dir(name), "lima.yaml"))
	if err != nil {
		return nil
	}
	var doc struct {
		Env map[string]string `yaml:"env"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var env []string
	for k, v := range doc.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

var assignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shell accepts: shell [--start=false] [--workdir DIR] NAME [CMD...], and
// --start=false only as Lima v2.
func (f *fake) shell(a []string) int {
	if len(a) >= 1 && a[0] == "--start=false" {
		if !v2() {
			return f.unexpected()
		}
		a = a[1:]
	}
	workdir := ""
	if len(a) >= 2 && a[0] == "--workdir" {
		workdir, a = a[1], a[2:]
	}
	if len(a) == 0 {
		return f.unexpected()
	}
	name, cmd := a[0], a[1:]
	switch f.state(name) {
	case "":
		return f.fatal(fmt.Sprintf("instance %q does not exist, run `limactl create %s` to create a new instance", name, name))
	case "Running":
	default:
		return f.fatal(fmt.Sprintf("instance %q is stopped, run `limactl start %s` to start the instance", name, name))
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SYSINIT_IN_VM=") || strings.HasPrefix(kv, "VMHOOK_VM=")
	})
	env = append(env, f.guestEnv(name)...)
	assigned := 0
	for assigned < len(cmd) && assignRE.MatchString(cmd[assigned]) {
		env = append(env, cmd[assigned])
		assigned++
	}
	script := os.Getenv("FAKE_LIMACTL_SHELL_CMD")
	if assigned == 0 && len(cmd) == 3 && cmd[0] == "sh" && cmd[1] == "-c" {
		if os.Getenv("FAKE_LIMACTL_GUEST") == "broken" {
			fmt.Fprintln(f.stderr, "ssh: connect to host 127.0.0.1 port 60022: Connection refused")
			return 255
		}
		script = cmd[2]
	}
	if script != "" {
		c := exec.Command("sh", "-c", script)
		c.Dir = workdir
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
		c.Env = env
		if err := c.Run(); err != nil {
			var ee *exec.ExitError
			if ok := asExit(err, &ee); ok {
				return ee.ExitCode()
			}
			return f.fatal(err.Error())
		}
		return 0
	}
	fmt.Fprintf(f.stdout, "fake-limactl shell %s workdir=%s cmd=%q\n", name, workdir, cmd)
	if v := os.Getenv("FAKE_LIMACTL_SHELL_EXIT"); v != "" {
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}
