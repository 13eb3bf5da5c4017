// Package examples_test renders the example projects through vmhook and
// checks the results with the real limactl, so the examples never drift from
// what vmhook accepts and generates.
package examples_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/projectvm/limatest"

	"github.com/vmhook/vmhook/internal/testkit"
)

// limaConfig is the part of a generated Lima config the tests look at.
type limaConfig struct {
	Images []struct {
		Location string `yaml:"location"`
	} `yaml:"images"`
	Mounts []struct {
		Location   string `yaml:"location"`
		MountPoint string `yaml:"mountPoint"`
		Writable   bool   `yaml:"writable"`
	} `yaml:"mounts"`
	SSH struct {
		ForwardAgent bool `yaml:"forwardAgent"`
	} `yaml:"ssh"`
	Env          map[string]string `yaml:"env"`
	PortForwards []portForward     `yaml:"portForwards"`
	Provision    []struct {
		Mode   string `yaml:"mode"`
		Script string `yaml:"script"`
	} `yaml:"provision"`
}

// portForward is one entry of a Lima config's portForwards.
type portForward struct {
	GuestPort   int    `yaml:"guestPort"`
	HostPort    int    `yaml:"hostPort"`
	HostIP      string `yaml:"hostIP"`
	GuestSocket string `yaml:"guestSocket"`
	HostSocket  string `yaml:"hostSocket"`
	Reverse     bool   `yaml:"reverse"`
}

// testEnv is an isolated vmhook environment with a short LIMA_HOME.
func testEnv(t *testing.T) projectvm.Env {
	t.Helper()
	environ := append(testkit.UserEnv(t.TempDir()), "LIMA_HOME="+testkit.ShortDir(t, "vhe"))
	e, err := projectvm.NewEnv(environ, projectvm.Host{OS: runtime.GOOS, Arch: runtime.GOARCH, UID: os.Getuid()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// copyDir copies an example into a fresh directory, so rendering it leaves
// the checkout untouched.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".lima" || d.Name() == ".direnv" {
				return filepath.SkipDir // left by someone trying the example
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// render writes p's config and returns it parsed, after the real limactl
// validated it.
func render(t *testing.T, e projectvm.Env, p *projectvm.Project, readable string) limaConfig {
	t.Helper()
	if _, err := p.WriteConfig(context.Background(), e); err != nil {
		t.Fatalf("write config: %v", err)
	}
	data, err := os.ReadFile(p.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var c limaConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("generated config is not YAML: %v\n%s", err, data)
	}
	lima := limatest.Real(t)
	lima.Chown(readable) // Lima checks that it can read what is mounted
	if err := lima.Validate(p.ConfigPath); err != nil {
		t.Errorf("generated config is not valid for Lima: %v", err)
	}
	return c
}

func TestWebapp(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	dir := filepath.Join(t.TempDir(), "webapp")
	copyDir(t, "webapp", dir)

	envrc, err := os.ReadFile(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^use vm$`).Match(envrc) {
		t.Errorf(".envrc has no `use vm` line:\n%s", envrc)
	}

	p, err := projectvm.OpenProject(e, dir, projectvm.Flags{})
	if err != nil {
		t.Fatalf("webapp/vmhook.yaml does not load: %v", err)
	}
	if p.Name != "webapp-dev" {
		t.Errorf("VM name %q, want webapp-dev", p.Name)
	}
	// The Docker socket reaches the host, so the user allows it first (as
	// vmhook allow does); it is all the example asks for beyond itself.
	granted, err := projectvm.Allow(e, p)
	if err != nil {
		t.Fatal(err)
	}
	dockerSock, dockerShown := testkit.DockerSocket()
	if want := "host socket " + dockerShown + ", reachable in the guest at " + projectvm.GuestSocketPath("docker.sock", os.Getuid()); !slices.Equal(granted, []string{want}) {
		t.Errorf("vmhook allow grants %q, want only %q", granted, want)
	}
	c := render(t, e, p, dir)

	if len(c.Mounts) == 0 || c.Mounts[0].Location != dir || c.Mounts[0].MountPoint != dir || !c.Mounts[0].Writable {
		t.Errorf("first mount %+v, want the project %q writable at the same path", c.Mounts, dir)
	}
	var guestPorts []int
	for _, pf := range c.PortForwards {
		if pf.GuestPort == 0 {
			continue
		}
		guestPorts = append(guestPorts, pf.GuestPort)
		if pf.HostPort == 0 || pf.HostIP != "127.0.0.1" {
			t.Errorf("port %d forwarded to %s:%d, want a host port on 127.0.0.1", pf.GuestPort, pf.HostIP, pf.HostPort)
		}
	}
	if !slices.Equal(guestPorts, []int{3000, 5173}) {
		t.Errorf("forwarded guest ports %v, want [3000 5173]", guestPorts)
	}
	guestSock := projectvm.GuestSocketPath("docker.sock", os.Getuid())
	if !slices.ContainsFunc(c.PortForwards, func(pf portForward) bool {
		return pf.GuestSocket == guestSock && pf.HostSocket == dockerSock && pf.Reverse
	}) {
		t.Errorf("no reverse forward of %s to %s in %+v", dockerSock, guestSock, c.PortForwards)
	}
	if got := c.Env["DOCKER_HOST"]; got != "unix://"+guestSock {
		t.Errorf("DOCKER_HOST = %q, want unix://%s", got, guestSock)
	}
	if c.Env["SYSINIT_IN_VM"] != "1" || c.Env["PORT"] != "3000" || c.Env["NODE_ENV"] != "development" {
		t.Errorf("env = %v", c.Env)
	}
	// vmhook's own step (the project's environment for login shells),
	// then the example's.
	if len(c.Provision) != 2 || !strings.Contains(c.Provision[0].Script, "/etc/profile.d/vmhook-env.sh") ||
		c.Provision[1].Mode != "system" ||
		!strings.Contains(c.Provision[1].Script, "vmhook: runs once per VM") ||
		!strings.Contains(c.Provision[1].Script, "\n#!/bin/bash\n") ||
		!strings.Contains(c.Provision[1].Script, "apt-get install -y --no-install-recommends nodejs docker.io\n") {
		t.Errorf("provision = %+v, want vmhook's env step, then the system script installing nodejs, once per VM", c.Provision)
	}
}

// TestWebappFiles checks the example's shell and JavaScript files with their
// own tools.
func TestWebappFiles(t *testing.T) {
	t.Parallel()
	t.Run("shellcheck", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("shellcheck"); err != nil {
			t.Skip("shellcheck not installed: apt-get install shellcheck")
		}
		if out, err := exec.Command("shellcheck", "--norc", filepath.Join("webapp", ".envrc")).CombinedOutput(); err != nil {
			t.Errorf("shellcheck webapp/.envrc: %v\n%s", err, out)
		}
	})
	t.Run("node", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("node"); err != nil {
			t.Skip("node not installed: apt-get install nodejs")
		}
		if out, err := exec.Command("node", "--check", filepath.Join("webapp", "server.js")).CombinedOutput(); err != nil {
			t.Errorf("node --check webapp/server.js: %v\n%s", err, out)
		}
	})
}

func TestNamedVM(t *testing.T) {
	e := testEnv(t)
	// vmhook expands ~ in definitions from $HOME; point it at the isolated
	// home (which is why this test does not run in parallel).
	t.Setenv("HOME", e.Home)
	def, err := os.ReadFile(filepath.Join("vms", "nixos-dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(e.VMDefinition("nixos-dev")), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.VMDefinition("nixos-dev"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := projectvm.OpenNamed(e, "nixos-dev", projectvm.Flags{})
	if err != nil {
		t.Fatalf("vms/nixos-dev.yaml does not load: %v", err)
	}
	s := p.Settings
	if s.Rebuild != "sudo nixos-rebuild switch --flake /etc/nixos#dev" {
		t.Errorf("rebuild = %q", s.Rebuild)
	}
	if s.CPUs != 4 || s.Memory != "8GiB" || s.Disk != "80GiB" || !s.ForwardAgent || s.Session != "tmux" {
		t.Errorf("settings = %+v", s)
	}
	c := render(t, e, p, e.Home)

	if len(c.Images) != 1 || c.Images[0].Location != filepath.Join(e.Home, ".local/share/vmhook/images/nixos-dev.qcow2") {
		t.Errorf("images = %+v, want only the NixOS image", c.Images)
	}
	if !c.SSH.ForwardAgent {
		t.Error("ssh.forwardAgent is off")
	}
	var mounted []string
	for _, m := range c.Mounts {
		mounted = append(mounted, m.Location)
	}
	if !slices.Contains(mounted, filepath.Join(e.Home, "src")) {
		t.Errorf("mounts %v lack ~/src", mounted)
	}
	// DESIGN: never mount ~/.ssh; forwardAgent is the way in.
	for _, m := range mounted {
		if ssh := filepath.Join(e.Home, ".ssh"); ssh == m || strings.HasPrefix(ssh, m+string(filepath.Separator)) {
			t.Errorf("the named VM mounts %q, which exposes %q", m, ssh)
		}
	}
	if !slices.ContainsFunc(c.PortForwards, func(pf portForward) bool {
		return pf.GuestPort == 8080 && pf.HostPort != 0
	}) {
		t.Errorf("port 8080 is not forwarded: %+v", c.PortForwards)
	}
}
