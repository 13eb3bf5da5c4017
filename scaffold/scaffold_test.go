package scaffold

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vmhook/vmhook/templates"
)

// scaffoldTemplateFiles returns the embedded files of a template, by path
// relative to the template.
func scaffoldTemplateFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	sub, err := fs.Sub(templates.Scaffolds, path.Join(root, name))
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

func TestListsEmbeddedTemplates(t *testing.T) {
	got := List()
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("template %q: description %q is not one line", s.Name, s.Description)
		}
	}
	if want := []string{"vm-dev", "vm-minimal"}; !slices.Equal(names, want) {
		t.Fatalf("List() = %v, want %v", names, want)
	}
	if !slices.Contains(names, Default) {
		t.Errorf("default template %q is not a template", Default)
	}
	for name := range descriptions {
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
		// The guarded `use vm` is the last paragraph: it is what an
		// existing .envrc gets.
		block := string(lastParagraph(got[".envrc"]))
		if !regexp.MustCompile(`(?m)^if has use_vm; then\n  use vm\n`).MatchString(block) || !strings.HasSuffix(block, "\nfi\n") {
			t.Errorf("%s/.envrc does not end with the guarded `use vm`:\n%s", name, block)
		}
		if !saysUseVM(got[".envrc"]) {
			t.Errorf("%s/.envrc is not recognised as calling use vm", name)
		}
		for _, ignored := range []string{".direnv/", ".lima/", "result", "result-*"} {
			if !slices.Contains(strings.Split(string(got[".gitignore"]), "\n"), ignored) {
				t.Errorf("%s/.gitignore does not ignore %s", name, ignored)
			}
		}
	}
}

// actions maps each changed file to what Apply did to it.
func actions(cs []Change) map[string]Action {
	m := map[string]Action{}
	for _, c := range cs {
		m[c.File] = c.Action
	}
	return m
}

func TestApplyWritesEveryFile(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "new", "myapp") // parents created too
			changes, err := Apply(dir, name, false)
			if err != nil {
				t.Fatal(err)
			}
			want := scaffoldTemplateFiles(t, name)
			got := actions(changes)
			if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
				t.Errorf("changed %v, want %v", sortedKeys(got), sortedKeys(want))
			}
			for f, a := range got {
				if a != Wrote {
					t.Errorf("%s: action %v, want Wrote", f, a)
				}
			}
			onDisk := scaffoldDirFiles(t, dir)
			if !slices.Equal(sortedKeys(onDisk), sortedKeys(want)) {
				t.Fatalf("files on disk %v, want %v", sortedKeys(onDisk), sortedKeys(want))
			}
			for f, data := range want {
				if string(onDisk[f]) != string(data) {
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

// TestApplyMerges adopts existing projects: whatever was there stays, byte
// for byte, at the start of the file; only what is missing is added.
func TestApplyMerges(t *testing.T) {
	t.Parallel()
	tmpl := scaffoldTemplateFiles(t, "vm-dev")
	ignore := string(tmpl[".gitignore"])
	crlf := strings.ReplaceAll(ignore, "\n", "\r\n")
	block := string(lastParagraph(tmpl[".envrc"]))
	resultOnly := "# Links to Nix build results.\nresult\nresult-*\n"
	for _, tc := range []struct {
		name     string
		existing map[string]string
		want     map[string]string // final content of files that matter
		actions  map[string]Action // of the files that existed
		hint     string            // in the .envrc change
	}{
		{
			name:     ".gitignore with other lines",
			existing: map[string]string{".gitignore": "node_modules/\n"},
			want:     map[string]string{".gitignore": "node_modules/\n\n" + ignore},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     "CRLF .gitignore",
			existing: map[string]string{".gitignore": "node_modules/\r\ndist\r\n"},
			want:     map[string]string{".gitignore": "node_modules/\r\ndist\r\n\r\n" + crlf},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     ".gitignore without a final newline",
			existing: map[string]string{".gitignore": "node_modules/"},
			want:     map[string]string{".gitignore": "node_modules/\n\n" + ignore},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     "empty .gitignore",
			existing: map[string]string{".gitignore": ""},
			want:     map[string]string{".gitignore": ignore},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     ".gitignore with equivalent forms",
			existing: map[string]string{".gitignore": "/.lima\n**/.direnv\n# build\n"},
			want:     map[string]string{".gitignore": "/.lima\n**/.direnv\n# build\n\n" + resultOnly},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     ".gitignore that already ignores everything",
			existing: map[string]string{".gitignore": "result*\n.lima/\n.direnv/\nresult\nresult-*\n"},
			want:     map[string]string{".gitignore": "result*\n.lima/\n.direnv/\nresult\nresult-*\n"},
			actions:  map[string]Action{},
		},
		{
			name:     ".gitignore that un-ignores .lima later",
			existing: map[string]string{".gitignore": ".lima/\n.direnv/\nresult\nresult-*\n!.lima/\n"},
			want:     map[string]string{".gitignore": ".lima/\n.direnv/\nresult\nresult-*\n!.lima/\n\n# The Lima config vmhook generates from vmhook.yaml (host ports differ per machine).\n.lima/\n"},
			actions:  map[string]Action{".gitignore": Appended},
		},
		{
			name:     ".envrc with a Nix shell",
			existing: map[string]string{".envrc": "use flake\nexport FOO=bar\n"},
			want:     map[string]string{".envrc": "use flake\nexport FOO=bar\n\n" + block},
			actions:  map[string]Action{".envrc": Appended},
		},
		{
			name:     ".envrc without a final newline or a Nix shell",
			existing: map[string]string{".envrc": "export FOO=bar"},
			want:     map[string]string{".envrc": "export FOO=bar\n\n" + block},
			actions:  map[string]Action{".envrc": Appended},
			hint:     "add `use flake`",
		},
		{
			name:     "CRLF .envrc",
			existing: map[string]string{".envrc": "use nix\r\n"},
			want:     map[string]string{".envrc": "use nix\r\n\n" + block},
			actions:  map[string]Action{".envrc": Appended},
		},
		{
			name:     ".envrc that already says use vm",
			existing: map[string]string{".envrc": "dotenv\n  use vm --cpus 8 # mine\n"},
			want:     map[string]string{".envrc": "dotenv\n  use vm --cpus 8 # mine\n"},
			actions:  map[string]Action{},
		},
		{
			name:     ".envrc that only mentions use vm in a comment",
			existing: map[string]string{".envrc": "# use vm\n"},
			want:     map[string]string{".envrc": "# use vm\n\n" + block},
			actions:  map[string]Action{".envrc": Appended},
			hint:     "add `use flake`",
		},
		{
			name:     "vmhook.yaml, flake.nix and justfile of its own",
			existing: map[string]string{"vmhook.yaml": "cpus: 2\n", "flake.nix": "{ outputs = _: { }; }\n", "justfile": "build:\n    make\n"},
			want:     map[string]string{"vmhook.yaml": "cpus: 2\n", "flake.nix": "{ outputs = _: { }; }\n", "justfile": "build:\n    make\n", ".envrc": string(tmpl[".envrc"])},
			actions:  map[string]Action{"vmhook.yaml": Kept, "flake.nix": Kept, "justfile": Kept},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, data := range tc.existing {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			changes, err := Apply(dir, "vm-dev", false)
			if err != nil {
				t.Fatal(err)
			}
			got := scaffoldDirFiles(t, dir)
			for f, data := range tc.existing {
				if !strings.HasPrefix(string(got[f]), data) {
					t.Errorf("%s lost bytes: %q became %q", f, data, got[f])
				}
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("%s: mode %v, want 0640 as it was", f, fi.Mode().Perm())
				}
			}
			for f, want := range tc.want {
				if string(got[f]) != want {
					t.Errorf("%s:\n got %q\nwant %q", f, got[f], want)
				}
			}
			// Every template file is now there.
			for f := range tmpl {
				if _, ok := got[f]; !ok {
					t.Errorf("%s was not written", f)
				}
			}
			acts := actions(changes)
			for f := range tc.existing {
				want, changed := tc.actions[f]
				if a, ok := acts[f]; ok != changed || a != want {
					t.Errorf("%s: action %v (reported: %v), want %v (reported: %v)", f, a, ok, want, changed)
				}
			}
			for _, c := range changes {
				if _, existed := tc.existing[c.File]; !existed && c.Action != Wrote {
					t.Errorf("%s did not exist but was %v", c.File, c.Action)
				}
				if c.File == ".envrc" && c.Action == Appended && !strings.Contains(c.Hint, tc.hint) || tc.hint == "" && c.File == ".envrc" && c.Hint != "" {
					t.Errorf(".envrc hint %q, want one with %q", c.Hint, tc.hint)
				}
				if c.Action == Kept && c.Hint == "" {
					t.Errorf("%s kept without a hint", c.File)
				}
			}
			// A second run finds nothing more to do.
			again, err := Apply(dir, "vm-dev", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range again {
				if c.Action != Kept {
					t.Errorf("second run: %s %v", c.File, c.Action)
				}
			}
			if after := scaffoldDirFiles(t, dir); !maps.EqualFunc(after, got, bytes.Equal) {
				t.Error("a second run changed files")
			}
		})
	}
}

// TestGitignoreForms pins which existing lines count as already ignoring a
// template pattern, and has the real git confirm every one that does.
func TestGitignoreForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		line, pattern, path string
		same                bool
	}{
		{".lima/", ".lima/", ".lima/config.yaml", true},
		{".lima", ".lima/", ".lima/config.yaml", true},
		{"/.lima/", ".lima/", ".lima/config.yaml", true},
		{"/.lima", ".lima/", ".lima/config.yaml", true},
		{"**/.lima/", ".lima/", ".lima/config.yaml", true},
		{".lima/  ", ".lima/", ".lima/config.yaml", true},
		{".lima/\r", ".lima/", ".lima/config.yaml", true},
		{".direnv", ".direnv/", ".direnv/bash-profile", true},
		{"result", "result", "result", true},
		{"/result", "result", "result", true},
		{"result-*", "result-*", "result-dev", true},
		// Not taken for the template's pattern: narrower, or written
		// another way (appending the template's is harmless).
		{"result/", "result", "result", false},
		{".lima/*", ".lima/", ".lima/config.yaml", false},
		{"*.lima", ".lima/", ".lima/config.yaml", false},
		{"lima/", ".lima/", ".lima/config.yaml", false},
		{"# .lima/", ".lima/", ".lima/config.yaml", false},
		{"!.lima/", ".lima/", ".lima/config.yaml", false},
	}
	for _, c := range cases {
		if got := ignores([]string{c.line}, c.pattern); got != c.same {
			t.Errorf("%q counts as %q: %v, want %v", c.line, c.pattern, got, c.same)
		}
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: apt-get install git")
	}
	for _, c := range cases {
		if !c.same {
			continue
		}
		dir := t.TempDir()
		runGit(t, git, dir, "init", "-q")
		if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(c.line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(c.path))
		if c.path == "result" {
			if err := os.Symlink("/nix/store/x-result", p); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := exec.Command(git, "-C", dir, "check-ignore", "-q", c.path).Run(); err != nil {
			t.Errorf("git does not ignore %s with the line %q, which vmhook takes for %q", c.path, c.line, c.pattern)
		}
	}
}

func runGit(t *testing.T, git, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(git, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestApplyForceKeepsBackups replaces the files that cannot be merged and
// keeps each old one under a name no earlier backup has.
func TestApplyForceKeepsBackups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(f, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("vmhook.yaml", "cpus: 2\n", 0o600)
	write("vmhook.yaml.vmhook-backup", "an older backup\n", 0o644)
	write("justfile", "build:\n    make\n", 0o644)
	write(".envrc", "use nix\n", 0o644)
	changes, err := Apply(dir, "vm-dev", true)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := scaffoldTemplateFiles(t, "vm-dev")
	got := scaffoldDirFiles(t, dir)
	backups := map[string]string{}
	for _, c := range changes {
		if c.Action == Replaced {
			backups[c.File] = c.Backup
		}
	}
	want := map[string]string{"vmhook.yaml": "vmhook.yaml.vmhook-backup.1", "justfile": "justfile.vmhook-backup"}
	if !maps.Equal(backups, want) {
		t.Errorf("replaced with backups %v, want %v", backups, want)
	}
	for f, b := range map[string]string{"vmhook.yaml.vmhook-backup": "an older backup\n", "vmhook.yaml.vmhook-backup.1": "cpus: 2\n", "justfile.vmhook-backup": "build:\n    make\n"} {
		if string(got[f]) != b {
			t.Errorf("%s = %q, want %q", f, got[f], b)
		}
	}
	for _, f := range []string{"vmhook.yaml", "justfile"} {
		if !bytes.Equal(got[f], tmpl[f]) {
			t.Errorf("%s is not the template's after --force", f)
		}
	}
	for f, mode := range map[string]os.FileMode{"vmhook.yaml": 0o600, "vmhook.yaml.vmhook-backup.1": 0o600} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", f, fi.Mode().Perm(), err, mode)
		}
	}
	// .envrc is merged, even with force.
	if !strings.HasPrefix(string(got[".envrc"]), "use nix\n\n") || actions(changes)[".envrc"] != Appended {
		t.Errorf(".envrc with force: %v, %q", actions(changes)[".envrc"], got[".envrc"])
	}
	// Nothing differs any more: a second forced run replaces nothing.
	again, err := Apply(dir, "vm-dev", true)
	if err != nil || len(again) != 0 {
		t.Errorf("second forced run: %+v, %v", again, err)
	}
}

// snapshot describes a tree: every entry's mode and every file's content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fi.Mode().String()
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] += " " + string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyRefusesWriteProtected stops at a read-only file or directory
// before writing anything, with one line saying what to do.
func TestApplyRefusesWriteProtected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"read-only .gitignore", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("node_modules/\n"), 0o444)
		}, "the file is read-only; make it writable"},
		{"read-only .envrc", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, ".envrc"), []byte("use nix\n"), 0o444)
		}, "add use vm to"},
		{"read-only directory", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("node_modules/\n"), 0o644); err != nil {
				return err
			}
			return os.Chmod(dir, 0o555)
		}, "the directory is read-only; make it writable (chmod u+w)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "repo")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, err := Apply(dir, "vm-dev", true)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line with %q", err, tc.want)
			}
			if after := snapshot(t, dir); !maps.Equal(after, before) {
				t.Errorf("a refusal changed the directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestApplyLeavesLinks never replaces a symbolic link with a file; a link
// to a file that already does the job is fine as it is.
func TestApplyLeavesLinks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		shared string
		kept   bool
	}{
		{"export A=1\n", true},
		{"use vm\n", false},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "shared.envrc"), []byte(tc.shared), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("shared.envrc", filepath.Join(dir, ".envrc")); err != nil {
			t.Fatal(err)
		}
		changes, err := Apply(dir, "vm-minimal", false)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := actions(changes)[".envrc"]; ok != tc.kept || ok && a != Kept {
			t.Errorf("%q: .envrc action %v (reported: %v), want kept: %v", tc.shared, a, ok, tc.kept)
		}
		if fi, err := os.Lstat(filepath.Join(dir, ".envrc")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%q: .envrc is no longer a link", tc.shared)
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "shared.envrc")); string(data) != tc.shared {
			t.Errorf("%q: the linked file changed to %q", tc.shared, data)
		}
	}
}

// TestApplyLeavesIdenticalFiles lets vmhook new run twice: files that
// already have the template's content are neither reported nor rewritten.
func TestApplyLeavesIdenticalFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Apply(dir, "vm-minimal", false); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := Apply(dir, "vm-minimal", false)
	if err != nil || len(changes) != 0 {
		t.Fatalf("second Apply = %v, %v; want no changes, no error", changes, err)
	}
	after, err := os.Stat(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error(".envrc was replaced although it was unchanged")
	}
	// vm-dev over vm-minimal: the .envrc already calls use vm, the
	// .gitignore is the same; vmhook.yaml differs and is kept.
	changes, err = Apply(dir, "vm-dev", false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{"flake.nix": Wrote, "justfile": Wrote, "shell.nix": Wrote, "vmhook.yaml": Kept}
	if got := actions(changes); !maps.Equal(got, want) {
		t.Errorf("vm-dev over vm-minimal: %v, want %v", got, want)
	}
}

func TestApplyUnknownTemplate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "p")
	_, err := Apply(dir, "vm-full", false)
	if err == nil || !strings.Contains(err.Error(), `"vm-full"`) || !strings.Contains(err.Error(), "vm-dev, vm-minimal") {
		t.Fatalf("err = %v, want one naming the template and listing vm-dev, vm-minimal", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an unknown template still created the directory")
	}
}

func TestApplyDirIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(file, "vm-minimal", false); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want one saying it is not a directory", err)
	}
}

func TestApplyDirectoryInTheWay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "vmhook.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(dir, "vm-minimal", false)
	if err == nil || !strings.Contains(err.Error(), "is a directory where the template has a file") {
		t.Fatalf("err = %v", err)
	}
	if got := scaffoldDirFiles(t, dir); len(got) != 0 {
		t.Errorf("files written despite the error: %v", sortedKeys(got))
	}
}

func TestFile(t *testing.T) {
	t.Parallel()
	data, err := File("vm-dev", "justfile")
	if err != nil || !bytes.Equal(data, scaffoldTemplateFiles(t, "vm-dev")["justfile"]) {
		t.Errorf("File(vm-dev, justfile) = %q, %v", data, err)
	}
	if _, err := File("vm-minimal", "justfile"); err == nil || !strings.Contains(err.Error(), "it has: .envrc, .gitignore, vmhook.yaml") {
		t.Errorf("File(vm-minimal, justfile): err = %v", err)
	}
}

// TestApplyKeepsExecutableBits covers templates with scripts and
// subdirectories, which the shipped ones do not have (yet).
func TestApplyKeepsExecutableBits(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"bin/setup":  {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"README":     {Data: []byte("hi\n"), Mode: 0o444},
		"conf/a.txt": {Data: []byte("a\n"), Mode: 0o600},
	}
	dir := t.TempDir()
	changes, err := applyFS(fsys, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README", "bin/setup", "conf/a.txt"}; !slices.Equal(sortedKeys(actions(changes)), want) {
		t.Errorf("written = %v, want %v", sortedKeys(actions(changes)), want)
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
	changes, err = applyFS(fsys, dir, false)
	if err != nil || !maps.Equal(actions(changes), map[string]Action{"bin/setup": Kept}) {
		t.Errorf("changes = %+v, %v; want bin/setup kept", changes, err)
	}
}
