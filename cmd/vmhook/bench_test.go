package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/projectvm/limatest"
)

// runningProject makes a project whose VM reads as Running: a generated
// config, an owner record and pid files naming live processes with Lima's
// command lines.
func runningProject(b *testing.B, limaHome string) (dir string, env []string) {
	b.Helper()
	root, err := os.MkdirTemp("/tmp", "vhb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	dir = filepath.Join(root, "proj")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "vmhook.yaml"), []byte("cpus: 2\nports: [3000]\n"), 0o644)
	env = []string{"HOME=" + filepath.Join(root, "home"), "LIMA_HOME=" + limaHome, "PATH=" + os.Getenv("PATH")}
	e, err := projectvm.NewEnv(env, projectvm.Host{OS: "linux", Arch: "amd64", UID: os.Getuid()})
	if err != nil {
		b.Fatal(err)
	}
	p, err := projectvm.OpenProject(e, dir, projectvm.Flags{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.WriteConfig(context.Background(), e); err != nil {
		b.Fatal(err)
	}
	inst := e.InstanceDir(p.Name)
	os.MkdirAll(inst, 0o755)
	data, _ := os.ReadFile(p.ConfigPath)
	os.WriteFile(filepath.Join(inst, "lima.yaml"), data, 0o644)
	projectvm.WriteOwner(inst, projectvm.ProjectOwner(dir))
	for file, argv0 := range map[string]string{"ha.pid": "limactl hostagent", "qemu.pid": "qemu-system-x86_64"} {
		cmd := &exec.Cmd{Path: "/bin/sleep", Args: []string{argv0, "600"}}
		if err := cmd.Start(); err != nil {
			b.Skip("cannot start /bin/sleep")
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		os.WriteFile(filepath.Join(inst, file), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	}
	if got := projectvm.InstanceState(inst); got != projectvm.Running {
		b.Fatalf("state %s", got)
	}
	return dir, env
}

// BenchmarkShellDecision measures `vmhook shell -- true` for a running VM up
// to the exec of limactl: argument parsing, project lookup, settings, config
// check, status and the limactl arguments; "fast" as Main runs it, "cli"
// through urfave/cli as every other command.
func BenchmarkShellDecision(b *testing.B) {
	lh, _ := os.MkdirTemp("/tmp", "vhl")
	b.Cleanup(func() { os.RemoveAll(lh) })
	dir, env := runningProject(b, lh)
	// A limactl that only tells its version: the exec is stubbed, and the
	// version is asked once and then kept in vmhook's state, as with a real
	// limactl, so the runs measure what every entry after the first does.
	limactl := filepath.Join(lh, "_bin", "limactl")
	os.MkdirAll(filepath.Dir(limactl), 0o755)
	os.WriteFile(limactl, []byte("#!/bin/sh\necho 'limactl version 2.2.0'\n"), 0o755)
	env = append(env, "LIMACTL="+limactl)
	for _, path := range []struct {
		name    string
		fullCLI bool
	}{{"fast", false}, {"cli", true}} {
		b.Run(path.name, func(b *testing.B) {
			execs := 0
			run := func() {
				r := &rt{args: []string{"vmhook", "shell", "--project", dir, "--", "true"}, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, environ: env, fullCLI: path.fullCLI}
				r.execFn = func(path string, argv, env []string) error { execs++; return nil }
				if code := r.main(); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
			run()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			if execs != b.N+1 {
				b.Fatalf("exec reached %d times in %d runs", execs, b.N+1)
			}
		})
	}
}

// BenchmarkLimactlListJSON is the yardstick: one `limactl list --json NAME`
// with the real limactl (under root it runs through runuser, which adds its
// own cost; bench/shell-decision.sh measures both as the same user).
func BenchmarkLimactlListJSON(b *testing.B) {
	lima := limatest.Real(b)
	runningProject(b, lima.LimaHome())
	lima.Chown(lima.LimaHome())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := lima.Run("list", "--json", "proj-dev"); err != nil {
			b.Fatal(err)
		}
	}
}
