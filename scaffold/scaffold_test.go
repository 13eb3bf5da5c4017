package scaffold

import (
	"errors"
	"io/fs"
	"os"
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
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "new", "myapp") // parents created too
			written, err := Apply(dir, name, false)
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
	written, err := Apply(dir, "vm-dev", false)
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

	written, err = Apply(dir, "vm-dev", true)
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
	if _, err := Apply(dir, "vm-minimal", false); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(dir, ".envrc"))
	if err != nil {
		t.Fatal(err)
	}
	written, err := Apply(dir, "vm-minimal", false)
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
	_, err = Apply(dir, "vm-dev", false)
	var ee *ExistingFilesError
	if !errors.As(err, &ee) || !slices.Equal(ee.Files, []string{".envrc", "vmhook.yaml"}) {
		t.Errorf("vm-dev over vm-minimal: err = %v, want a refusal naming .envrc and vmhook.yaml", err)
	}
}

func TestScaffoldUnknownTemplate(t *testing.T) {
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

func TestScaffoldDirIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(file, "vm-minimal", false); err == nil || !strings.Contains(err.Error(), "not a directory") {
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
