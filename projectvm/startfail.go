package projectvm

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// StartError is a failed `limactl start` with its cause. limactl itself only
// reports that the host agent exited ("exiting, status=… (hint: see
// ha.stderr.log)", or QEMU's QMP socket missing); the reason, such as
// "failed to initialize kvm: Permission denied" or a missing firmware, is in
// the host agent's log.
type StartError struct {
	Name  string
	Cause string
	Log   string
	Err   error // the limactl failure
}

func (e *StartError) Error() string {
	return fmt.Sprintf("start %s: %s (Lima's log: %s)", e.Name, e.Cause, e.Log)
}

func (e *StartError) Unwrap() error { return e.Err }

// start starts p's VM and then asks the guest whether its login shells
// carry the nesting guard (GuardInGuest): the boot hides the cost of that
// one ssh round trip, and the first entry finds the answer. A VM entered
// only through a session never opens a bare shell and is not asked. was is
// the port mapping before preferPorts changed it, if it did.
func (m *Manager) start(ctx context.Context, p *Project, was map[int]int) error {
	// Lima refuses to start a VM whose data disk is missing, as when the
	// data setting was added to an existing VM's definition.
	if err := m.ensureDataDisk(ctx, p); err != nil {
		return err
	}
	if err := m.verifyDoc(p, m.Env.instanceFile(p.Name, limaYAML), "its Lima instance ("+limaYAML+")"); err != nil {
		return err
	}
	if err := m.runStart(ctx, p.Name); err != nil {
		return err
	}
	if m.OnStarted != nil {
		m.OnStarted(portsLine(m.Env, p, was))
	}
	if p.Settings.Session == "" && ctx.Err() == nil {
		m.GuardInGuest(ctx, p.Name)
	}
	return nil
}

// runStart runs `limactl start` for name; when it fails, the error names the
// cause found in the host agent's log.
func (m *Manager) runStart(ctx context.Context, name string) error {
	began := time.Now()
	err := m.Lima.Run(ctx, m.OnPhase, "start", "--tty=false", name)
	if err == nil || ctx.Err() != nil {
		return err
	}
	log := m.Env.instanceFile(name, hostAgentLog)
	if cause := StartCause(log, began); cause != "" {
		return &StartError{Name: name, Cause: cause, Log: log, Err: err}
	}
	return err
}

// maxLogTail bounds how much of the host agent's log is read.
const maxLogTail = 1 << 20

// StartCause reads the host agent's log and returns the most telling reason
// a start failed: a fatal message, else the last thing the VM process
// (qemu, vz, krunkit) printed on stderr that is not a warning, else the last
// error. It returns "" when the log is missing, older than since (written by
// an earlier start), or says nothing useful.
func StartCause(path string, since time.Time) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.ModTime().Before(since.Add(-time.Second)) {
		return ""
	}
	if fi.Size() > maxLogTail {
		if _, err := f.Seek(-maxLogTail, io.SeekEnd); err != nil {
			return ""
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLogTail))
	if err != nil {
		return ""
	}
	var fatal, driver, driverWarn, failed string
	for _, line := range strings.Split(string(data), "\n") {
		if !gjson.Valid(line) {
			continue
		}
		v := gjson.Parse(line)
		msg := strings.TrimSpace(v.Get("msg").String())
		if e := v.Get("error").String(); e != "" {
			msg += ": " + e
		}
		switch level := v.Get("level").String(); {
		case level == "fatal" || level == "panic":
			fatal = msg
		case level == "error":
			failed = msg
		default:
			if out, ok := driverStderr(msg); ok {
				if strings.Contains(strings.ToLower(out), "warning") {
					driverWarn = out
				} else {
					driver = out
				}
			}
		}
	}
	for _, c := range []string{fatal, driver, failed, driverWarn} {
		if c != "" {
			return oneLine(c)
		}
	}
	return ""
}

// driverStderr recognises the host agent's copy of a VM process's stderr
// line, "qemu[stderr]: qemu-system-x86_64: …", and returns it as "QEMU: …".
func driverStderr(msg string) (string, bool) {
	name, rest, ok := strings.Cut(msg, "[stderr]: ")
	if !ok || name == "" || strings.ContainsAny(name, " :") {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", false
	}
	// QEMU prefixes its messages with its own executable's name.
	if exe, msg, ok := strings.Cut(rest, ": "); ok && !strings.Contains(exe, " ") && strings.HasPrefix(exe, name) {
		rest = msg
	}
	if name == "qemu" {
		name = "QEMU"
	}
	return name + ": " + rest, true
}

// oneLine folds a message onto one line of reasonable length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}
