package projectvm

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vmhook/vmhook/projectvm/limatest"
	"github.com/vmhook/vmhook/templates"
)

// scaffoldTemplateFiles returns the embedded files of a template, by path
// relative to the template.
func scaffoldTemplateFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	sub, err := fs.Sub(templates.Scaffolds, path.Join(scaffoldRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[p], err = fs.ReadFile(sub, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// scaffoldDirFiles reads every file under dir, by slash path relative to dir.
func scaffoldDirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestScaffoldsListsEmbeddedTemplates(t *testing.T) {
	got := Scaffolds()
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("template %q: description %q is not one line", s.Name, s.Description)
		}
	}
	if want := []string{"vm-dev", "vm-minimal"}; !slices.Equal(names, want) {
		t.Fatalf("Scaffolds() = %v, want %v", names, want)
	}
	if !slices.Contains(names, DefaultScaffold) {
		t.Errorf("default template %q is not a template", DefaultScaffold)
	}
	for name := range scaffoldDescriptions {
		if !slices.Contains(names, name) {
			t.Errorf("description for %q, which is not a template directory", name)
		}
	}
}

// TestScaffoldContents checks what each template promises: `use vm` in
// .envrc, a vmhook.yaml, and direnv's and Lima's directories ignored.
func TestScaffoldContents(t *testing.T) {
	want := map[string][]string{
		"vm-dev":     {".envrc", ".gitignore", "flake.nix", "justfile", "shell.nix", "vmhook.yaml"},
		"vm-minimal": {".envrc", ".gitignore", "vmhook.yaml"},
	}
	for name, files := range want {
		got := scaffoldTemplateFiles(t, name)
		if !slices.Equal(sortedKeys(got), files) {
			t.Errorf("%s: files %v, want %v", name, sortedKeys(got), files)
			continue
		}
		if !regexp.MustCompile(`(?m)^use vm$`).Match(got[".envrc"]) {
			t.Errorf("%s/.envrc has no `use vm` line:\n%s", name, got[".envrc"])
		}
		for _, ignored := range []string{".direnv/", ".lima/", "result", "result-*"} {
			if !slices.Contains(strings.Split(string(got[".gitignore"]), "\n"), ignored) {
				t.Errorf("%s/.gitignore does not ignore %s", name, ignored)
			}
		}
	}
}

func TestScaffoldWritesEveryFile(t *testing.T) {
	t.Parallel()
	for _, name := range ScaffoldNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "new", "myapp") // parents created too
			written, err := Scaffold(dir, name, false)
			if err != nil {
				t.Fatal(err)
			}
			want := scaffoldTemplateFiles(t, name)
			if !slices.Equal(written, sortedKeys(want)) {
				t.Errorf("written = %v, want %v", written, sortedKeys(want))
			}
			got := scaffoldDirFiles(t, dir)
			if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
				t.Fatalf("files on disk %v, want %v", sortedKeys(got), sortedKeys(want))
			}
			for f, data := range want {
				if string(got[f]) != string(data) {
					t.Errorf("%s differs from the template", f)
				}
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("%s has mode %v, want 0644", f, fi.Mode().Perm())
				}
			}
		})
	}
}

func TestScaffoldNeverOverwrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mine := map[string]string{".envrc": "use nix\n", "vmhook.yaml": "cpus: 2\n"}
	for f, data := range mine {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	written, err := Scaffold(dir, "vm-dev", false)
	var ee *ExistingFilesError
	if !errors.As(err, &ee) {
		t.Fatalf("Scaffold over existing files: err = %v, want an ExistingFilesError", err)
	}
	if want := `refusing to overwrite .envrc, vmhook.yaml in "` + dir + `"; use --force to overwrite`; err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if len(written) != 0 {
		t.Errorf("written = %v after a refusal", written)
	}
	got := scaffoldDirFiles(t, dir)
	if len(got) != len(mine) {
		t.Errorf("a refusal still wrote files: %v", sortedKeys(got))
	}
	for f, data := range mine {
		if string(got[f]) != data {
			t.Errorf("%s changed to %q", f, got[f])
		}
	}

	written, err = Scaffold(dir, "vm-dev", true)
	if err != nil {
		t.Fatalf("Scaffold with force: %v", err)
	}
	want := scaffoldTemplateFiles(t, "vm-dev")
	if !slices.Equal(written, sortedKeys(want)) {
		t.Errorf("written with force = %v, want %v", written, sortedKeys(want))
	}
	for f, data := range want {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != string(data) {
			t.Errorf("with force, %s is not the template's", f)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, ".envrc")); fi.Mode().Perm() != 0o644 {
		t.Errorf("overwritten .envrc has mode %v, want 0644", fi.Mode().Perm())
	}
}

// TestScaffoldLeavesIdenticalFiles lets vmhook new run twice: files that
// already have the template's content are neither conflicts nor rewritten.
func TestScaffoldLeavesIdenticalFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Scaffold(dir, "vm-minimal", false); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	written, err := Scaffold(dir, "vm-minimal", false)
	if err != nil || len(written) != 0 {
		t.Fatalf("second Scaffold = %v, %v; want nothing written, no error", written, err)
	}
	after, err := os.Stat(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error(".envrc was replaced although it was unchanged")
	}
	// vm-dev over vm-minimal: only the differing files are conflicts.
	_, err = Scaffold(dir, "vm-dev", false)
	var ee *ExistingFilesError
	if !errors.As(err, &ee) || !slices.Equal(ee.Files, []string{".envrc", "vmhook.yaml"}) {
		t.Errorf("vm-dev over vm-minimal: err = %v, want a refusal naming .envrc and vmhook.yaml", err)
	}
}

func TestScaffoldUnknownTemplate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "p")
	_, err := Scaffold(dir, "vm-full", false)
	if err == nil || !strings.Contains(err.Error(), `"vm-full"`) || !strings.Contains(err.Error(), "vm-dev, vm-minimal") {
		t.Fatalf("err = %v, want one naming the template and listing vm-dev, vm-minimal", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an unknown template still created the directory")
	}
}

func TestScaffoldDirIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scaffold(file, "vm-minimal", false); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want one saying it is not a directory", err)
	}
}

// TestScaffoldKeepsExecutableBits covers templates with scripts and
// subdirectories, which the shipped ones do not have (yet).
func TestScaffoldKeepsExecutableBits(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"bin/setup":  {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"README":     {Data: []byte("hi\n"), Mode: 0o444},
		"conf/a.txt": {Data: []byte("a\n"), Mode: 0o600},
	}
	dir := t.TempDir()
	written, err := scaffoldFS(fsys, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README", "bin/setup", "conf/a.txt"}; !slices.Equal(written, want) {
		t.Errorf("written = %v, want %v", written, want)
	}
	for f, want := range map[string]os.FileMode{"bin/setup": 0o755, "README": 0o644, "conf/a.txt": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", f, fi.Mode().Perm(), want)
		}
	}
	// A file that differs only in its executable bit is not the same file.
	if err := os.Chmod(filepath.Join(dir, "bin/setup"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = scaffoldFS(fsys, dir, false)
	var ee *ExistingFilesError
	if !errors.As(err, &ee) || !slices.Equal(ee.Files, []string{"bin/setup"}) {
		t.Errorf("err = %v, want a refusal naming bin/setup", err)
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
func scaffoldEnv(t *testing.T) Env {
	t.Helper()
	home := t.TempDir()
	lh, err := os.MkdirTemp("/tmp", "vhs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(lh) })
	e := Env{
		Home:       home,
		LimaHome:   lh,
		ConfigHome: filepath.Join(home, ".config"),
		StateHome:  filepath.Join(home, ".local", "state"),
		Host:       Host{OS: runtime.GOOS, Arch: runtime.GOARCH, UID: os.Getuid()},
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
	for _, name := range ScaffoldNames() {
		for _, variant := range []string{"as shipped", "examples on"} {
			t.Run(name+"/"+variant, func(t *testing.T) {
				t.Parallel()
				e := scaffoldEnv(t)
				dir := filepath.Join(t.TempDir(), "myapp")
				if _, err := Scaffold(dir, name, false); err != nil {
					t.Fatal(err)
				}
				settings := filepath.Join(dir, ProjectFile)
				data, err := os.ReadFile(settings)
				if err != nil {
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
				p, err := OpenProject(e, dir, Flags{})
				if err != nil {
					t.Fatalf("vmhook.yaml (%s) does not load: %v", variant, err)
				}
				if variant == "as shipped" {
					// Nothing set: the user's defaults and vmhook's apply.
					if d := Defaults(); p.Settings.CPUs != d.CPUs || p.Settings.Memory != d.Memory || len(p.Settings.Ports) != 0 {
						t.Errorf("shipped vmhook.yaml sets something: %+v", p.Settings)
					}
				} else {
					checkExampleSettings(t, name, p.Settings)
					// The socket, agent and image reach the host: the user
					// allows them, as `vmhook allow` does.
					if _, err := Allow(e, p); err != nil {
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
func checkExampleSettings(t *testing.T, template string, s Settings) {
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
	if want := []Socket{{Host: "/var/run/docker.sock", Guest: "docker.sock", Env: "DOCKER_HOST"}}; !slices.Equal(s.Sockets, want) {
		t.Errorf("sockets = %+v, want %+v", s.Sockets, want)
	}
	if want := []Mount{{Location: "/srv/datasets"}, {Location: "/srv/cache", Writable: true}}; !slices.Equal(s.Mounts, want) {
		t.Errorf("mounts = %+v, want %+v", s.Mounts, want)
	}
	if !s.ForwardAgent || s.Session != "tmux" || s.Env["EDITOR"] != "vim" || s.Env["RUST_BACKTRACE"] != "1" {
		t.Errorf("forwardAgent, session, env = %v, %q, %v", s.ForwardAgent, s.Session, s.Env)
	}
	if len(s.Provision) != 2 || s.Provision[0].Mode != "system" || s.Provision[1].Mode != "user" ||
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
