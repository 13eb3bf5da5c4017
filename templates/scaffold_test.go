package templates_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/nixtest"
	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/projectvm/limatest"
	"github.com/vmhook/vmhook/scaffold"
	"github.com/vmhook/vmhook/templates"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = ".."

// tool returns the absolute path of a program, or skips the test saying how
// to install it.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: %s", name, install)
	}
	return p
}

// runNix runs a nix program (nix, nix-instantiate) in env and returns its
// stdout; a failure ends the test with nix's stderr.
func runNix(t *testing.T, env []string, dir, prog string, args ...string) []byte {
	t.Helper()
	if prog == "nix" {
		args = append([]string{"--offline"}, args...)
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// copyFlake copies the parts of the repository the root flake refers to
// into a fresh directory, so nix copies only those into its store (a path
// flake is copied whole, and the checkout may hold build output).
func copyFlake(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "flake.nix"), filepath.Join(dst, "flake.nix"))
	err := fs.WalkDir(templates.Scaffolds, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		copyFile(t, filepath.FromSlash(p), filepath.Join(dst, "templates", filepath.FromSlash(p)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// shippedNixFiles lists the root flake and every .nix file of the
// templates and the examples.
func shippedNixFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "flake.nix")}
	for _, dir := range []string{"scaffold", filepath.Join(repoRoot, "examples")} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".nix") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return files
}

func TestNixFilesParse(t *testing.T) {
	t.Parallel()
	tool(t, "nix-instantiate", "apt-get install nix-bin")
	env := nixtest.Env(t)
	files := shippedNixFiles(t)
	for _, want := range []string{"scaffold/vm-dev/flake.nix", "scaffold/vm-dev/shell.nix"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s not found among %v", want, files)
		}
	}
	for _, f := range files {
		runNix(t, env, "", "nix-instantiate", "--parse", f)
	}
	// The check itself must be able to fail.
	bad := filepath.Join(t.TempDir(), "bad.nix")
	if err := os.WriteFile(bad, []byte("{ outputs = { self }: { ; }"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nix-instantiate", "--parse", bad)
	cmd.Env = env
	if err := cmd.Run(); err == nil {
		t.Error("nix-instantiate --parse accepted a broken file")
	}
}

// TestRootFlakeTemplates reads the root flake the way `nix flake show` does,
// offline, and checks it offers both templates and vm-dev as the default,
// with the descriptions vmhook templates prints.
func TestRootFlakeTemplates(t *testing.T) {
	t.Parallel()
	tool(t, "nix", "apt-get install nix-bin")
	env := nixtest.Env(t)
	flake := copyFlake(t)
	out := runNix(t, env, "", "nix", "flake", "show", "--json", "path:"+flake)
	var shown struct {
		Templates map[string]struct {
			Type        string `json:"type"`
			Description string `json:"description"`
		} `json:"templates"`
	}
	if err := json.Unmarshal(out, &shown); err != nil {
		t.Fatalf("nix flake show --json: %v\n%s", err, out)
	}
	var names []string
	for n := range shown.Templates {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"default", "vm-dev", "vm-minimal"}; !slices.Equal(names, want) {
		t.Fatalf("templates %v, want %v", names, want)
	}
	for _, s := range scaffold.List() {
		got := shown.Templates[s.Name]
		if got.Type != "template" || got.Description != s.Description {
			t.Errorf("%s: flake has %q (%s); vmhook templates says %q", s.Name, got.Description, got.Type, s.Description)
		}
	}
	if _, err := os.Stat(filepath.Join(flake, "flake.lock")); err == nil {
		t.Error("nix wrote a flake.lock for the root flake; it must have no inputs")
	}

	// default is vm-dev itself, and every template's welcome text is there.
	out = runNix(t, env, "", "nix", "eval", "--json", "path:"+flake+"#templates", "--apply",
		`t: { same = t.default == t.vm-dev; texts = builtins.mapAttrs (n: v: v.welcomeText) t; paths = builtins.mapAttrs (n: v: baseNameOf v.path) t; }`)
	var ev struct {
		Same  bool
		Texts map[string]string
		Paths map[string]string
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatalf("nix eval: %v\n%s", err, out)
	}
	if !ev.Same {
		t.Error("templates.default is not templates.vm-dev")
	}
	for _, n := range []string{"vm-dev", "vm-minimal"} {
		if !strings.Contains(ev.Texts[n], "direnv allow") || !strings.Contains(ev.Texts[n], "vmhook shell") {
			t.Errorf("%s: welcomeText does not say how to start:\n%s", n, ev.Texts[n])
		}
		// The flake templates hold no .envrc or .gitignore: the text must
		// send people to the vmhook new that adds them, of the same template.
		finish := "`vmhook new .`"
		if n != scaffold.Default {
			finish = "`vmhook new --template " + n + " .`"
		}
		if !strings.Contains(strings.Join(strings.Fields(ev.Texts[n]), " "), finish) {
			t.Errorf("%s: welcomeText does not say to finish with %s:\n%s", n, finish, ev.Texts[n])
		}
		if !strings.HasSuffix(ev.Paths[n], n) {
			t.Errorf("%s: path is %q, not the %s scaffold", n, ev.Paths[n], n)
		}
	}
}

// fakeNixpkgs is a flake standing in for nixpkgs: just enough of lib and
// legacyPackages for the scaffold's flake.nix, with mkShell returning its
// arguments so the test can see them.
const fakeNixpkgs = `{
  outputs = { self }: {
    lib.genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    legacyPackages = self.lib.genAttrs [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" "riscv64-linux" ] (system: {
      mkShell = args: args // { shellSystem = system; };
      lima = "lima-${system}";
      just = "just-${system}";
    });
  };
}
`

// TestScaffoldFlakeDevShells evaluates the vm-dev flake, with nixpkgs
// replaced by a local stand-in (no network), and checks it has a dev shell
// for every common system, each built from that system's packages.
func TestScaffoldFlakeDevShells(t *testing.T) {
	t.Parallel()
	tool(t, "nix", "apt-get install nix-bin")
	env := nixtest.Env(t)
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "flake.nix"), []byte(fakeNixpkgs), 0o644); err != nil {
		t.Fatal(err)
	}
	project := t.TempDir()
	for _, f := range []string{"flake.nix", "shell.nix"} {
		copyFile(t, filepath.Join("scaffold", "vm-dev", f), filepath.Join(project, f))
	}
	out := runNix(t, env, "", "nix", "eval", "--json", "--no-write-lock-file",
		"--override-input", "nixpkgs", "path:"+fake,
		"path:"+project+"#devShells", "--apply", "builtins.mapAttrs (system: shells: shells.default)")
	var shells map[string]struct {
		Packages    []string `json:"packages"`
		ShellSystem string   `json:"shellSystem"`
	}
	if err := json.Unmarshal(out, &shells); err != nil {
		t.Fatalf("devShells: %v\n%s", err, out)
	}
	var systems []string
	for s, sh := range shells {
		systems = append(systems, s)
		if sh.ShellSystem != s || !slices.Equal(sh.Packages, []string{"lima-" + s, "just-" + s}) {
			t.Errorf("devShells.%s.default = %+v, want lima and just of %s", s, sh, s)
		}
	}
	slices.Sort(systems)
	if want := []string{"aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"}; !slices.Equal(systems, want) {
		t.Errorf("dev shells for %v, want %v", systems, want)
	}
	if _, err := os.Stat(filepath.Join(project, "flake.lock")); err == nil {
		t.Error("evaluating the flake wrote flake.lock into the project")
	}
}

// TestShellNix evaluates shell.nix as `use nix` would, with pkgs given.
func TestShellNix(t *testing.T) {
	t.Parallel()
	tool(t, "nix-instantiate", "apt-get install nix-bin")
	out := runNix(t, nixtest.Env(t), "", "nix-instantiate", "--eval", "--strict", "--json",
		filepath.Join("scaffold", "vm-dev", "shell.nix"),
		"--arg", "pkgs", `{ mkShell = args: args; lima = "lima"; just = "just"; }`)
	if got, want := strings.TrimSpace(string(out)), `{"packages":["lima","just"]}`; got != want {
		t.Errorf("shell.nix = %s, want %s", got, want)
	}
}

func TestEnvrcShellcheck(t *testing.T) {
	t.Parallel()
	sc := tool(t, "shellcheck", "apt-get install shellcheck")
	var files []string
	for _, s := range []string{"vm-dev", "vm-minimal"} {
		files = append(files, filepath.Join("scaffold", s, ".envrc"))
	}
	// Each file names its shell (# shellcheck shell=bash), as direnv runs
	// it with bash; -s would hide a missing directive.
	out, err := exec.Command(sc, append([]string{"--norc"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestScaffoldFilesArePlain keeps the templates copyable verbatim: nix
// flake init copies contents without executable bits (and go:embed keeps
// no modes either), and neither expands placeholders.
func TestScaffoldFilesArePlain(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir("scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("%s is executable; nix flake init would drop the bit", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("{{")) {
			t.Errorf("%s has a {{ placeholder; templates are copied verbatim", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// exampleLine is a commented-out setting in a template's vmhook.yaml: "#"
// directly followed by YAML ("#cpus: 4", "#  - host: …"), where prose
// comments are "# " followed by words.
var exampleLine = regexp.MustCompile(`^#(\S|  )`)

// uncommentExamples turns on every example setting of a vmhook.yaml.
func uncommentExamples(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if exampleLine.MatchString(l) {
			lines[i] = l[1:]
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// scaffoldEnv is an isolated environment; the user config allows mounts
// under /srv, as the vm-dev example's mounts require.
func scaffoldEnv(t *testing.T) projectvm.Env {
	t.Helper()
	home := t.TempDir()
	lh, err := os.MkdirTemp("/tmp", "vhs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(lh) })
	e := projectvm.Env{
		Home:       home,
		LimaHome:   lh,
		ConfigHome: filepath.Join(home, ".config"),
		StateHome:  filepath.Join(home, ".local", "state"),
		Host:       projectvm.Host{OS: runtime.GOOS, Arch: runtime.GOARCH, UID: os.Getuid()},
	}
	if err := os.MkdirAll(filepath.Dir(e.UserConfig()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.UserConfig(), []byte("allowMounts: [/srv]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestScaffoldSettingsAreValid loads each template's vmhook.yaml as shipped
// (everything commented out) and with every example turned on, renders the
// Lima config, and has the real limactl validate it.
func TestScaffoldSettingsAreValid(t *testing.T) {
	t.Parallel()
	for _, name := range scaffold.Names() {
		for _, variant := range []string{"as shipped", "examples on"} {
			t.Run(name+"/"+variant, func(t *testing.T) {
				t.Parallel()
				e := scaffoldEnv(t)
				dir := filepath.Join(t.TempDir(), "myapp")
				data, err := fs.ReadFile(templates.Scaffolds, "scaffold/"+name+"/"+projectvm.ProjectFile)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				settings := filepath.Join(dir, projectvm.ProjectFile)
				if err := os.WriteFile(settings, data, 0o644); err != nil {
					t.Fatal(err)
				}
				if variant == "examples on" {
					on := uncommentExamples(data)
					if string(on) == string(data) {
						t.Fatal("vmhook.yaml has no commented-out examples")
					}
					if err := os.WriteFile(settings, on, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				p, err := projectvm.OpenProject(e, dir, projectvm.Flags{})
				if err != nil {
					t.Fatalf("vmhook.yaml (%s) does not load: %v", variant, err)
				}
				if variant == "as shipped" {
					// Nothing set: the user's defaults and vmhook's apply.
					if d := projectvm.Defaults(); p.Settings.CPUs != d.CPUs || p.Settings.Memory != d.Memory || !slices.Equal(p.Settings.Ports, d.Ports) {
						t.Errorf("shipped vmhook.yaml sets something: %+v", p.Settings)
					}
				} else {
					checkExampleSettings(t, name, p.Settings)
					// The socket, agent and image reach the host: the user
					// allows them, as `vmhook allow` does.
					if _, err := projectvm.Allow(e, p); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := p.WriteConfig(context.Background(), e); err != nil {
					t.Fatal(err)
				}
				lima := limatest.Real(t)
				lima.Chown(dir) // Lima checks that it can read the mounted project
				if err := lima.Validate(p.ConfigPath); err != nil {
					t.Errorf("generated config is not valid for Lima: %v", err)
				}
			})
		}
	}
}

// checkExampleSettings asserts that the uncommented examples mean what their
// comments say.
func checkExampleSettings(t *testing.T, template string, s projectvm.Settings) {
	t.Helper()
	if s.CPUs != 4 || s.Memory != "8GiB" {
		t.Errorf("cpus, memory = %d, %s; want 4, 8GiB", s.CPUs, s.Memory)
	}
	if template == "vm-minimal" {
		if !slices.Equal(s.Ports, []int{3000}) {
			t.Errorf("ports = %v, want [3000]", s.Ports)
		}
		return
	}
	if !slices.Equal(s.Ports, []int{3000, 5173}) || s.Disk != "60GiB" {
		t.Errorf("ports, disk = %v, %s; want [3000 5173], 60GiB", s.Ports, s.Disk)
	}
	dockerSock, _ := testkit.DockerSocket()
	if want := []projectvm.Socket{{Host: dockerSock, Guest: "docker.sock", Env: "DOCKER_HOST"}, {Host: "/tmp/wezterm-mux-myapp.sock", Guest: "wezterm.sock", Direction: "to-host"}}; !slices.Equal(s.Sockets, want) {
		t.Errorf("sockets = %+v, want %+v", s.Sockets, want)
	}
	if want := []projectvm.Mount{{Location: "/srv/datasets"}, {Location: "/srv/cache", Writable: true}}; !slices.Equal(s.Mounts, want) {
		t.Errorf("mounts = %+v, want %+v", s.Mounts, want)
	}
	if !s.ForwardAgent || s.Session != "tmux" || s.Env["EDITOR"] != "vim" || s.Env["RUST_BACKTRACE"] != "1" {
		t.Errorf("forwardAgent, session, env = %v, %q, %v", s.ForwardAgent, s.Session, s.Env)
	}
	if len(s.Provision) != 3 || s.Provision[0].Mode != "system" || s.Provision[1].Mode != "user" ||
		s.Provision[0].When != "once" || s.Provision[2].When != "boot" ||
		!strings.HasPrefix(s.Provision[0].Script, "#!/bin/bash\n") || !strings.Contains(s.Provision[0].Script, "apt-get install") {
		t.Errorf("provision = %+v", s.Provision)
	}
	if c, _ := s.Lima["containerd"].(map[string]any); c["user"] != true {
		t.Errorf("lima = %v, want containerd.user true", s.Lima)
	}
	if !strings.HasSuffix(s.Image.Location, "/images/dev.qcow2") {
		t.Errorf("image = %q", s.Image.Location)
	}
}
