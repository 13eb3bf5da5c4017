package projectvm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// State is a VM's lifecycle state.
type State string

// The states a VM can be in. Starting is Broken while a vmhook start holds
// the VM's lock.
const (
	Absent   State = "Absent"
	Stopped  State = "Stopped"
	Running  State = "Running"
	Broken   State = "Broken"
	Starting State = "Starting"
)

// InstanceState reads a VM's state from its instance directory, without
// running limactl: no lima.yaml means Absent; a live host agent and a live
// driver process mean Running; neither means Stopped; one of them, Broken.
func InstanceState(instDir string) State {
	if _, err := os.Stat(filepath.Join(instDir, limaYAML)); err != nil {
		return Absent
	}
	ha := pidAlive(filepath.Join(instDir, hostAgentPid), "hostagent")
	drv := false
	for _, d := range driverPidFiles {
		if pidAlive(filepath.Join(instDir, d.file), d.cmd) {
			drv = true
			break
		}
	}
	switch {
	case ha && drv:
		return Running
	case !ha && !drv:
		return Stopped
	}
	return Broken
}

// pidAlive reports whether the pid file names a live process whose command
// line contains want (guarding against pid reuse). Zombies count as dead.
func pidAlive(pidFile, want string) bool { return alivePid(pidFile, want) != 0 }

// alivePid is the pid the pid file names when pidAlive holds, else 0.
func alivePid(pidFile, want string) int {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !procAlive(pid, want) {
		return 0
	}
	return pid
}

func procAlive(pid int, want string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may contain
	// spaces or parentheses itself.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	if want == "" {
		return true
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		// Another user's process may hide its command line; trust the pid.
		return true
	}
	return bytes.Contains(cmdline, []byte(want))
}
