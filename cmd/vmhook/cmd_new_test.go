package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/nixtest"
	"github.com/vmhook/vmhook/internal/testkit"
	"github.com/vmhook/vmhook/projectvm/limatest"
	"github.com/vmhook/vmhook/scaffold"
	"github.com/vmhook/vmhook/templates"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// newTestEnv is an isolated environment for an in-process vmhook run.
func newTestEnv(t *testing.T) []string { return testkit.Environ(t) }

// runVmhook runs vmhook in-process and returns its exit code and output.
func runVmhook(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"vmhook"}, args...), strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

// treeFiles describes every file under dir: its content and whether it is
// executable, by slash path relative to dir.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = map[bool]string{true: "executable\n", false: "plain\n"}[fi.Mode().Perm()&0o111 != 0] + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func fileNames(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestNewWritesTemplate(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, tc := range []struct {
		args  []string
		files []string
	}{
		{[]string{"new"}, []string{".envrc", ".gitignore", "flake.nix", "justfile", "shell.nix", "vmhook.yaml"}},
		{[]string{"new", "--template", "vm-minimal"}, []string{".envrc", ".gitignore", "vmhook.yaml"}},
	} {
		dir := filepath.Join(t.TempDir(), "myapp")
		code, stdout, stderr := runVmhook(t, env, append(tc.args, dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", tc.args, code, stderr)
		}
		if stdout != "" {
			t.Errorf("%v printed on stdout: %q", tc.args, stdout)
		}
		if got := fileNames(treeFiles(t, dir)); !slices.Equal(got, tc.files) {
			t.Errorf("%v wrote %v, want %v", tc.args, got, tc.files)
		}
		for _, f := range tc.files {
			if !strings.Contains(stderr, "vmhook: wrote "+filepath.Join(dir, f)+"\n") {
				t.Errorf("%v: no line for %s in:\n%s", tc.args, f, stderr)
			}
		}
		for _, want := range []string{
			"vmhook: next: cd " + dir + " && direnv allow; the VM myapp-dev then starts",
			"vmhook: or, without vmhook's shell hook: cd " + dir + " && vmhook shell\n",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, stderr)
			}
		}
	}
}

// TestNewForceOnlyForVmhooks: --force, which replaces every file kept, is
// suggested, by name, when each of them is one vmhook wrote, and not while
// one of the project's own is kept beside them.
func TestNewForceOnlyForVmhooks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // the --force line, "" for none
	}{
		{"vmhook's only", map[string]string{"vmhook.yaml": "cpus: 2\n"},
			"vmhook: vmhook new --force replaces %s, keeping a backup of each\n"},
		{"with the project's own", map[string]string{"vmhook.yaml": "cpus: 2\n", "justfile": "build:\n    make\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", "vm-dev", dir)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "vmhook: kept "+filepath.Join(dir, "vmhook.yaml")+", which differs") {
				t.Fatalf("vmhook.yaml not kept as vmhook's:\n%s", stderr)
			}
			switch {
			case tc.want == "" && strings.Contains(stderr, "--force"):
				t.Errorf("--force suggested while it would replace the project's own justfile:\n%s", stderr)
			case tc.want != "" && !strings.Contains(stderr, fmt.Sprintf(tc.want, filepath.Join(dir, "vmhook.yaml"))):
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// TestNewMerges adopts a directory that has files of its own: nothing of
// them is lost, each is reported on one line, and --force replaces what
// could not be merged after keeping a backup.
func TestNewMerges(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	dir := t.TempDir()
	mine := map[string]string{".envrc": "use nix\nexport FOO=bar\n", "justfile": "build:\n    make\n"}
	for f, data := range mine {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runVmhook(t, env, "new", dir)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"vmhook: added use vm to " + filepath.Join(dir, ".envrc") + "\n",
		"vmhook: wrote " + filepath.Join(dir, ".gitignore") + "\n",
		"vmhook: template vm-dev: the project already uses Nix (.envrc (use flake or use nix))\n",
		"vmhook: kept " + filepath.Join(dir, "justfile") + ", the project's own; to have the vm-* recipes, copy them from the template's\n",
		"vmhook: next: cd " + dir + " && direnv allow",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "--force") {
		t.Errorf("--force is suggested for a file the project had before vmhook:\n%s", stderr)
	}
	for f, data := range mine {
		if got, _ := os.ReadFile(filepath.Join(dir, f)); !strings.HasPrefix(string(got), data) {
			t.Errorf("%s lost bytes: %q", f, got)
		}
	}

	code, _, stderr = runVmhook(t, env, "new", "--force", dir)
	if code != 0 {
		t.Fatalf("--force: exit %d\n%s", code, stderr)
	}
	want, err := fs.ReadFile(templates.Scaffolds, "scaffold/vm-dev/justfile")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "justfile")); !bytes.Equal(got, want) {
		t.Errorf("--force left justfile as %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "justfile.vmhook-backup")); string(got) != mine["justfile"] {
		t.Errorf("backup holds %q, want %q", got, mine["justfile"])
	}
	if want := "vmhook: replaced " + filepath.Join(dir, "justfile") + " with vm-dev's; yours is now " + filepath.Join(dir, "justfile.vmhook-backup") + "\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// TestNewRefusesReadOnly prints one line and leaves the project alone.
func TestNewRefusesReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ignore := filepath.Join(dir, ".gitignore")
	if err := os.WriteFile(ignore, []byte("node_modules/\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runVmhook(t, newTestEnv(t), "new", dir)
	want := `vmhook: add .direnv/, .lima/, result, result-* to "` + ignore + `": the file is read-only; make it writable (chmod u+w) and run vmhook new again, or add them by hand` + "\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr:\n got %q\nwant %q", code, stderr, want)
	}
	if got := fileNames(treeFiles(t, dir)); !slices.Equal(got, []string{".gitignore"}) {
		t.Errorf("a refusal still wrote files: %v", got)
	}
}

func TestNewUsageErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	dir := filepath.Join(t.TempDir(), "p")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"new", "--template", "vm-full", dir}, `vmhook: unknown template "vm-full"; choose one of: vm-dev, vm-minimal`},
		{[]string{"new", dir, "--template", "vm-minimal"}, "vmhook: flags go before DIR: vmhook new --template vm-minimal " + dir},
		{[]string{"new", dir, "other"}, "vmhook: vmhook new takes one directory, got 2"},
		{[]string{"templates", "x"}, `vmhook: unknown template "x"; choose one of: vm-dev, vm-minimal`},
		{[]string{"templates", "vm-minimal", "justfile"}, `vmhook: template vm-minimal has no file "justfile"; it has: .envrc, .gitignore, vmhook.yaml`},
		{[]string{"templates", "vm-dev", "justfile", "x"}, "vmhook: vmhook templates takes at most a template and a file, got 3 arguments"},
	} {
		code, _, stderr := runVmhook(t, env, tc.args...)
		if code != 2 || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a usage error still created the directory")
	}
}

func TestTemplatesCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runVmhook(t, newTestEnv(t), "templates")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	infos := scaffold.List()
	if len(lines) != len(infos) {
		t.Fatalf("%d lines for %d templates:\n%s", len(lines), len(infos), stdout)
	}
	for i, s := range infos {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != s.Name || !strings.HasSuffix(lines[i], "  "+s.Description) {
			t.Errorf("line %q, want %s and %q", lines[i], s.Name, s.Description)
		}
	}

	// test that a template's files are listed, and one is printed as it is
	code, stdout, stderr = runVmhook(t, newTestEnv(t), "templates", "vm-minimal")
	if code != 0 || stdout != ".envrc\n.gitignore\nvmhook.yaml\n" {
		t.Errorf("templates vm-minimal: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runVmhook(t, newTestEnv(t), "templates", "vm-dev", "justfile")
	want, _ := fs.ReadFile(templates.Scaffolds, "scaffold/vm-dev/justfile")
	if code != 0 || stdout != string(want) {
		t.Errorf("templates vm-dev justfile: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
}

// commandMention is a vmhook command line quoted in a shipped file, as in
// "`vmhook up --apply`".
var commandMention = regexp.MustCompile("`vmhook ([a-z][a-z-]*)([^`]*)`")

// TestShippedFilesNameRealCommands checks every vmhook command line quoted in
// the templates, the root flake (welcome texts) and the examples against
// the commands and flags vmhook has.
func TestShippedFilesNameRealCommands(t *testing.T) {
	t.Parallel()
	cmds := map[string]*cli.Command{}
	for _, c := range newApp(&rt{}).Commands {
		cmds[c.Name] = c
	}
	files := []string{filepath.Join(repoRoot, "flake.nix")}
	for _, dir := range []string{filepath.Join(repoRoot, "templates", "scaffold"), filepath.Join(repoRoot, "examples")} {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	mentions := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range commandMention.FindAllStringSubmatch(string(data), -1) {
			mentions++
			c, ok := cmds[m[1]]
			if !ok {
				t.Errorf("%s: %s: vmhook has no command %q", f, m[0], m[1])
				continue
			}
			for _, arg := range strings.Fields(m[2]) {
				if arg == "--" {
					break
				}
				if !strings.HasPrefix(arg, "-") {
					// A subcommand (autostart enable) takes the flags after it.
					if sub := c.Command(arg); sub != nil {
						c = sub
					}
					continue
				}
				name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
				if !slices.ContainsFunc(c.Flags, func(fl cli.Flag) bool { return slices.Contains(fl.Names(), name) }) {
					t.Errorf("%s: %s: vmhook %s has no flag %s", f, m[0], c.Name, arg)
				}
			}
		}
	}
	if mentions < 5 {
		t.Errorf("found only %d quoted vmhook commands; the pattern no longer matches the files", mentions)
	}
}

// copyRootFlake copies the root flake and the templates it points at into a
// fresh directory: nix copies a path flake whole, and the checkout may hold
// build output.
func copyRootFlake(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	copyTo := func(src, dst string) {
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
	copyTo(filepath.Join(repoRoot, "flake.nix"), filepath.Join(dst, "flake.nix"))
	scaffold := filepath.Join(repoRoot, "templates", "scaffold")
	err := filepath.WalkDir(scaffold, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(scaffold, p)
		copyTo(p, filepath.Join(dst, "templates", "scaffold", rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// nixOnly are the files the flake templates leave to vmhook new, which
// merges them into what a repository already has.
var nixOnly = []string{".envrc", ".gitignore"}

// nixFlakeInit runs `nix flake init -t` of the root flake in dir, returning
// its output and whether it succeeded.
func nixFlakeInit(t *testing.T, env []string, flake, attr, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command("nix", "--offline", "flake", "init", "-t", "path:"+flake+"#"+attr)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestNewMatchesNixFlakeInit checks that `nix flake init -t` writes the
// template's files except .envrc and .gitignore, and that `vmhook new` run
// after it gives a project exactly what vmhook new alone gives: names,
// bytes and executable bits.
func TestNewMatchesNixFlakeInit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nix"); err != nil {
		t.Skip("nix not installed: apt-get install nix-bin")
	}
	nix := nixtest.Env(t)
	flake := copyRootFlake(t)
	for _, tc := range []struct{ attr, template string }{{"vm-dev", "vm-dev"}, {"vm-minimal", "vm-minimal"}, {"default", "vm-dev"}} {
		viaNix := t.TempDir()
		if out, err := nixFlakeInit(t, nix, flake, tc.attr, viaNix); err != nil {
			t.Fatalf("nix flake init -t #%s: %v\n%s", tc.attr, err, out)
		}
		viaVmhook := filepath.Join(t.TempDir(), "p")
		if code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", tc.template, viaVmhook); code != 0 {
			t.Fatalf("vmhook new --template %s: exit %d\n%s", tc.template, code, stderr)
		}
		got, want := treeFiles(t, viaNix), treeFiles(t, viaVmhook)
		wantNames := slices.DeleteFunc(fileNames(want), func(f string) bool { return slices.Contains(nixOnly, f) })
		if !slices.Equal(fileNames(got), wantNames) {
			t.Errorf("#%s: nix flake init wrote %v, want %v", tc.attr, fileNames(got), wantNames)
		}
		code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", tc.template, viaNix)
		if code != 0 {
			t.Fatalf("vmhook new after nix flake init: exit %d\n%s", code, stderr)
		}
		for _, f := range nixOnly {
			if !strings.Contains(stderr, "vmhook: wrote "+filepath.Join(viaNix, f)+"\n") {
				t.Errorf("#%s: vmhook new did not write %s:\n%s", tc.attr, f, stderr)
			}
		}
		got = treeFiles(t, viaNix)
		if !slices.Equal(fileNames(got), fileNames(want)) {
			t.Errorf("#%s: nix flake init + vmhook new wrote %v, vmhook new %v", tc.attr, fileNames(got), fileNames(want))
			continue
		}
		for f := range want {
			if got[f] != want[f] {
				t.Errorf("#%s: %s differs between nix flake init + vmhook new and vmhook new", tc.attr, f)
			}
		}
	}
}

// vmhookBinary puts vmhook on a fresh PATH directory, for tools that run it
// (direnv, just): a copy of this test binary, which TestMain runs as vmhook
// when it is called by that name.
func vmhookBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vmhook")
	if err := os.Link(self, bin); err != nil {
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pathWithout is a PATH directory holding links to every program in the
// system directories except those named in hide, so a test can run as if
// they were not installed.
func pathWithout(t *testing.T, hide func(name string) bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, sys := range []string{"/usr/local/bin", "/usr/bin", "/bin"} {
		entries, _ := os.ReadDir(sys)
		for _, e := range entries {
			if hide(e.Name()) {
				continue
			}
			link := filepath.Join(dir, e.Name())
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier directory wins, as in PATH
			}
			if err := os.Symlink(filepath.Join(sys, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestScaffoldEnvrcInDirenv loads each template's .envrc in the real direnv
// with vmhook's direnv extension installed: it must export VMHOOK_VM with
// and without Nix, pick the Nix dev shell only when Nix can provide it, and
// leave a Lima config that the real limactl accepts.
func TestScaffoldEnvrcInDirenv(t *testing.T) {
	t.Parallel()
	direnv, err := exec.LookPath("direnv")
	if err != nil {
		t.Skip("direnv not installed: apt-get install direnv")
	}
	_, nixErr := exec.LookPath("nix")
	lima := limatest.Real(t)
	vmhookDir := vmhookBinary(t)
	noNix := pathWithout(t, func(n string) bool { return strings.HasPrefix(n, "nix") })

	root := testkit.ShortDir(t, "vhd")
	home := filepath.Join(root, "home")
	base := append(testkit.UserEnv(home),
		"LIMA_HOME="+filepath.Join(root, "lima"),
		"NIX_CONF_DIR="+filepath.Join(root, "etc"),
		"NO_COLOR=1",
	)
	run := func(env []string, dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	setup := append(slices.Clone(base), "PATH="+vmhookDir+":"+noNix)

	// Install the extension as DESIGN tells people to.
	lib := filepath.Join(home, ".config", "direnv", "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("vmhook", "stdlib")
	cmd.Env = setup
	stdlib, err := cmd.Output()
	if err != nil {
		t.Fatalf("vmhook stdlib: %v", err)
	}
	if err := os.WriteFile(filepath.Join(lib, "vmhook.sh"), stdlib, 0o644); err != nil {
		t.Fatal(err)
	}
	// Loaded after the stdlib, these record which Nix shell the .envrc
	// chose instead of building one (which would need nixpkgs).
	record := "use_flake() { export SCAFFOLD_NIX=flake; }\nuse_nix() { export SCAFFOLD_NIX=nix; }\n"
	if err := os.WriteFile(filepath.Join(lib, "zz-record.sh"), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}

	nixPath := "PATH=" + vmhookDir + ":" + os.Getenv("PATH")
	cases := []struct {
		name     string
		template string
		env      []string
		wantNix  string
	}{
		{"vm-minimal", "vm-minimal", []string{"PATH=" + vmhookDir + ":" + noNix}, ""},
		{"vm-dev without nix", "vm-dev", []string{"PATH=" + vmhookDir + ":" + noNix}, ""},
		// A nixpkgs on NIX_PATH: without one, the .envrc says so instead.
		{"vm-dev with nix, flakes off", "vm-dev", []string{nixPath, "NIX_CONFIG=experimental-features =", "NIX_PATH=nixpkgs=" + root}, "nix"},
		{"vm-dev with nix and flakes", "vm-dev", []string{nixPath, "NIX_CONFIG=experimental-features = nix-command flakes"}, "flake"},
	}
	for i, tc := range cases {
		if tc.wantNix != "" && nixErr != nil {
			t.Logf("%s: skipped, nix not installed (apt-get install nix-bin)", tc.name)
			continue
		}
		env := append(slices.Clone(base), tc.env...)
		project := filepath.Join(root, "p"+string(rune('a'+i)), "myapp")
		run(setup, root, "vmhook", "new", "--template", tc.template, project)
		run(env, project, direnv, "allow", ".")
		out := run(env, project, "bash", "-c", `eval "$("$1" export bash)"; printf '%s|%s\n' "$VMHOOK_VM" "${SCAFFOLD_NIX-}"`, "bash", direnv)
		if want := "myapp-dev|" + tc.wantNix + "\n"; out != want {
			t.Errorf("%s: VMHOOK_VM|nix shell = %q, want %q", tc.name, out, want)
		}
		config := filepath.Join(project, ".lima", "config.yaml")
		if _, err := os.Stat(config); err != nil {
			t.Errorf("%s: use vm left no Lima config: %v", tc.name, err)
			continue
		}
		lima.Chown(project)
		if err := lima.Validate(config); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestScaffoldJustfile runs the vm-dev justfile's recipes with a vmhook that
// records its arguments.
func TestScaffoldJustfile(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("just"); err != nil {
		t.Skip("just not installed: npm install -g rust-just")
	}
	project := filepath.Join(t.TempDir(), "myapp")
	if code, _, stderr := runVmhook(t, newTestEnv(t), "new", project); code != 0 {
		t.Fatalf("vmhook new: exit %d\n%s", code, stderr)
	}
	bin := t.TempDir()
	fake := "#!/bin/sh\nprintf '[%s]' \"$@\" >>\"$VMHOOK_CALLS\"\necho >>\"$VMHOOK_CALLS\"\n"
	if err := os.WriteFile(filepath.Join(bin, "vmhook"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	// just can be slow to start (here a Node.js wrapper), so the calls run
	// in parallel, each with its own log.
	just := func(t *testing.T, log string, args ...string) string {
		t.Helper()
		cmd := exec.Command("just", args...)
		cmd.Dir = project
		cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "VMHOOK_CALLS=" + log, "NO_COLOR=1"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("just %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	recipes := []string{"vm-shell", "vm-start", "vm-stop", "vm-status", "vm-destroy", "vm-rebuild"}
	for _, args := range [][]string{{"--list"}, {}} {
		t.Run("just "+strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			out := just(t, filepath.Join(t.TempDir(), "calls"), args...)
			for _, r := range recipes {
				if !regexp.MustCompile(`(?m)^\s+` + r + `\b.*# \S`).MatchString(out) {
					t.Errorf("recipe list has no documented %s:\n%s", r, out)
				}
			}
		})
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"vm-shell"}, "[shell]"},
		{[]string{"vm-shell", "make", "a b"}, "[shell][--][make][a b]"},
		{[]string{"vm-start"}, "[start]"},
		{[]string{"vm-stop"}, "[stop]"},
		{[]string{"vm-status", "--json"}, "[status][--json]"},
		{[]string{"vm-destroy", "--yes"}, "[destroy][--yes]"},
		{[]string{"vm-destroy"}, "[destroy]"},
		{[]string{"vm-rebuild"}, "[up][--apply]"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			log := filepath.Join(t.TempDir(), "calls")
			just(t, log, c.args...)
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("vmhook was not called: %v", err)
			}
			if got := strings.TrimRight(string(data), "\n"); got != c.want {
				t.Errorf("vmhook was called with %s, want %s", got, c.want)
			}
		})
	}
}

// ansiColour is a colour escape, as direnv's log_error writes them.
var ansiColour = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestScaffoldEnvrcWithoutVmhook loads the scaffolded .envrc, and one that
// vmhook new extended, in the real direnv of a teammate who has not set
// vmhook up: one line says what to install, instead of "use_vm: command
// not found", and the rest of the file still loads.
func TestScaffoldEnvrcWithoutVmhook(t *testing.T) {
	t.Parallel()
	direnv, err := exec.LookPath("direnv")
	if err != nil {
		t.Skip("direnv not installed: apt-get install direnv")
	}
	vmhookDir := vmhookBinary(t)
	noNix := pathWithout(t, func(n string) bool { return strings.HasPrefix(n, "nix") || n == "vmhook" })
	root, err := os.MkdirTemp("/tmp", "vhd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	home := filepath.Join(root, "home")
	base := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"NO_COLOR=1",
	}
	for i, tc := range []struct {
		name, template, envrc, path, want string
	}{
		{"vm-minimal, no vmhook", "vm-minimal", "", noNix,
			"direnv: use vm: this project's VM needs vmhook; install it (go install -tags urfave_cli_no_docs github.com/vmhook/vmhook/cmd/vmhook@latest), then run: mkdir -p ~/.config/direnv/lib && vmhook stdlib > ~/.config/direnv/lib/vmhook.sh\n"},
		{"vm-dev, vmhook without its extension", "vm-dev", "", vmhookDir + ":" + noNix,
			"direnv: use vm: vmhook's direnv extension is not installed; run: mkdir -p ~/.config/direnv/lib && vmhook stdlib > ~/.config/direnv/lib/vmhook.sh\n"},
		{"an adopted .envrc, no vmhook", "vm-minimal", "export MINE=kept\n", noNix,
			"direnv: use vm: this project's VM needs vmhook; install it"},
	} {
		project := filepath.Join(root, "p"+string(rune('a'+i)), "myapp")
		if err := os.MkdirAll(project, 0o755); err != nil {
			t.Fatal(err)
		}
		if tc.envrc != "" {
			if err := os.WriteFile(filepath.Join(project, ".envrc"), []byte(tc.envrc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", tc.template, project); code != 0 {
			t.Fatalf("%s: vmhook new: exit %d\n%s", tc.name, code, stderr)
		}
		env := append(slices.Clone(base), "PATH="+tc.path)
		run := func(args ...string) (string, string) {
			cmd := exec.Command(direnv, args...)
			cmd.Env, cmd.Dir = env, project
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: direnv %s: %v\n%s", tc.name, strings.Join(args, " "), err, stderr.String())
			}
			return stdout.String(), stderr.String()
		}
		run("allow", ".")
		stdout, stderr := run("export", "json")
		stderr = ansiColour.ReplaceAllString(stderr, "")
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: direnv said:\n%s\nwant a line %q", tc.name, stderr, tc.want)
		}
		if strings.Contains(stderr, "command not found") || strings.Count(stderr, "use vm:") != 1 {
			t.Errorf("%s: want exactly one line about use vm, got:\n%s", tc.name, stderr)
		}
		if strings.Contains(stdout, "VMHOOK_VM") {
			t.Errorf("%s: VMHOOK_VM exported without vmhook: %s", tc.name, stdout)
		}
		if tc.envrc != "" && !strings.Contains(stdout, `"MINE": "kept"`) && !strings.Contains(stdout, `"MINE":"kept"`) {
			t.Errorf("%s: the project's own line did not load: %s", tc.name, stdout)
		}
	}
}
