package projectvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestStartCause reads host agent logs captured from real failed starts of
// Lima v1.0.7 and v2.2.0.
func TestStartCause(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"v1-qemu-exits.log", "QEMU: failed to initialize kvm: Permission denied"},
		{"v2-qemu-exits.log", "QEMU: failed to initialize kvm: Permission denied"},
		{"v2-no-firmware.log", "could not find firmware for `x86_64` (hint: try setting `firmware.legacyBIOS` to `true`)"},
	} {
		t.Run(tc.log, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), hostAgentLog)
			data, err := os.ReadFile(filepath.Join("testdata", "hostagent", tc.log))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := StartCause(path, time.Now().Add(-time.Minute)); got != tc.want {
				t.Errorf("StartCause = %q, want %q", got, tc.want)
			}
			// A log older than the start was written by an earlier one.
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			if got := StartCause(path, time.Now().Add(-time.Minute)); got != "" {
				t.Errorf("StartCause of a stale log = %q, want none", got)
			}
		})
	}
	if got := StartCause(filepath.Join(t.TempDir(), "missing"), time.Now()); got != "" {
		t.Errorf("StartCause of a missing log = %q", got)
	}
}

func TestDriverStderr(t *testing.T) {
	for _, tc := range []struct {
		msg, want string
		ok        bool
	}{
		{"qemu[stderr]: qemu-system-x86_64: failed to initialize kvm: Permission denied", "QEMU: failed to initialize kvm: Permission denied", true},
		{"qemu[stderr]: qemu-system-aarch64: -accel hvf: error", "QEMU: -accel hvf: error", true},
		{"krunkit[stderr]: cannot open disk", "krunkit: cannot open disk", true},
		{"qemu[stderr]:   ", "", false},
		{"Starting QEMU (hint: [stderr]: x)", "", false},
		{"hostagent socket created", "", false},
	} {
		got, ok := driverStderr(tc.msg)
		if got != tc.want || ok != tc.ok {
			t.Errorf("driverStderr(%q) = %q, %v; want %q, %v", tc.msg, got, ok, tc.want, tc.ok)
		}
	}
}

// TestStartFailureNamesCause starts a VM with the real limactl, each
// version, through a QEMU that fails the way an unusable KVM does, and
// checks that vmhook's error carries QEMU's own words: limactl itself only
// says that the host agent exited.
func TestStartFailureNamesCause(t *testing.T) {
	qemu, err := os.ReadFile(filepath.Join("testdata", "hostagent", "failing-qemu.sh"))
	if err != nil {
		t.Fatal(err)
	}
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) {
		root, err := os.MkdirTemp("/tmp", "vsf")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		fakeQEMU := filepath.Join(root, "qemu-system-x86_64")
		if err := os.WriteFile(fakeQEMU, qemu, 0o755); err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(root, "disk.raw")
		if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(root, "home")
		dir := filepath.Join(root, "proj")
		for _, d := range []string{dir, filepath.Join(home, ".config", "vmhook")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// The user's own config: a local image, no firmware needed.
		user := "image: " + img + "\nmemory: 1GiB\ndisk: 2GiB\nlima:\n  firmware:\n    legacyBIOS: true\n"
		if err := os.WriteFile(filepath.Join(home, ".config", "vmhook", "config.yaml"), []byte(user), 0o644); err != nil {
			t.Fatal(err)
		}
		lima.Chown(root)
		e := Env{Home: home, LimaHome: lima.LimaHome(), ConfigHome: filepath.Join(home, ".config"),
			StateHome: filepath.Join(home, ".local", "state"), Host: Host{OS: "linux", Arch: "amd64", UID: os.Getuid()}}
		p, err := OpenProject(e, dir, Flags{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := p.WriteConfig(ctx, e); err != nil {
			t.Fatal(err)
		}
		lima.Chown(dir)
		m := &Manager{Lima: &Command{Path: lima.Wrapper("QEMU_SYSTEM_X86_64=" + fakeQEMU)}, Env: e}
		err = m.Ensure(ctx, p)
		var se *StartError
		if !errors.As(err, &se) {
			t.Fatalf("Ensure = %v, want a StartError", err)
		}
		if want := "QEMU: failed to initialize kvm: Permission denied"; se.Cause != want {
			t.Errorf("cause = %q, want %q", se.Cause, want)
		}
		msg := err.Error()
		t.Logf("vmhook: %s", msg)
		if strings.Contains(msg, "\n") || !strings.Contains(msg, p.Name) || !strings.Contains(msg, "ha.stderr.log") {
			t.Errorf("error is not one line naming the VM and the log: %q", msg)
		}
		var le *LimactlError
		if !errors.As(err, &le) || le.Code != 1 {
			t.Errorf("limactl's failure is not kept: %#v", err)
		}
	})
}
