// Package scaffold writes vmhook's project templates into a directory.
package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmhook/vmhook/templates"
)

// Default is the template vmhook new uses when none is named.
const Default = "vm-dev"

// Info names a project template.
type Info struct {
	Name        string
	Description string
}

// descriptions are the one-line descriptions of the templates; the
// root flake.nix gives the same ones to `nix flake show` (a test keeps the
// two in step).
var descriptions = map[string]string{
	"vm-dev":     "Project with its own Lima VM, a Nix dev shell and just recipes",
	"vm-minimal": "Project with its own Lima VM: .envrc and vmhook.yaml only",
}

// root is the directory of templates/Scaffolds holding one
// directory per template.
const root = "scaffold"

// Scaffolds lists the project templates, sorted by name.
func List() []Info {
	entries, err := fs.ReadDir(templates.Scaffolds, root)
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		panic(fmt.Sprintf("read embedded templates: %v", err))
	}
	var out []Info
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, Info{Name: e.Name(), Description: descriptions[e.Name()]})
		}
	}
	return out
}

// Names lists the template names, sorted.
func Names() []string {
	var names []string
	for _, s := range List() {
		names = append(names, s.Name)
	}
	return names
}

// ExistingFilesError is returned when scaffolding would replace files that
// already exist; nothing has been written.
type ExistingFilesError struct {
	Dir   string
	Files []string // relative to Dir, sorted
}

func (e *ExistingFilesError) Error() string {
	return fmt.Sprintf("refusing to overwrite %s in %q; use --force to overwrite", strings.Join(e.Files, ", "), e.Dir)
}

// Apply copies the project template named template into dir, creating dir
// when needed, and returns the files it wrote, relative to dir and sorted.
// Files already there with the template's exact content are left as they
// are. Without force it writes nothing at all when any other file would be
// replaced, and says which ones (an *ExistingFilesError).
func Apply(dir, template string, force bool) (written []string, err error) {
	if !isTemplate(template) {
		return nil, fmt.Errorf("unknown template %q; choose one of: %s", template, strings.Join(Names(), ", "))
	}
	sub, err := fs.Sub(templates.Scaffolds, path.Join(root, template))
	if err != nil {
		return nil, fmt.Errorf("read template %q: %w", template, err)
	}
	return scaffoldFS(sub, dir, force)
}

func isTemplate(name string) bool {
	for _, s := range Names() {
		if s == name {
			return true
		}
	}
	return false
}

// scaffoldFile is one file of a template.
type scaffoldFile struct {
	rel  string // slash-separated, relative to the template root
	data []byte
	perm os.FileMode
}

// scaffoldFS copies every file of fsys into dir (see Apply). An
// executable file stays executable; everything else is written 0644.
func scaffoldFS(fsys fs.FS, dir string, force bool) ([]string, error) {
	var files []scaffoldFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if info.Mode().Perm()&0o111 != 0 {
			perm = 0o755
		}
		files = append(files, scaffoldFile{rel: p, data: data, perm: perm})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}

	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%q exists and is not a directory; choose another project directory", dir)
	}

	// Decide everything before writing anything, so a refusal leaves the
	// directory exactly as it was.
	var todo []scaffoldFile
	var existing []string
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.rel))
		fi, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			todo = append(todo, f)
		case err != nil:
			return nil, fmt.Errorf("check %q: %w", target, err)
		case fi.IsDir():
			return nil, fmt.Errorf("%q is a directory, where the template has a file; move it away first", target)
		case sameFile(target, fi, f):
			// Already there, as the template has it: nothing to do.
		default:
			existing = append(existing, f.rel)
			todo = append(todo, f)
		}
	}
	if len(existing) > 0 && !force {
		sort.Strings(existing)
		return nil, &ExistingFilesError{Dir: dir, Files: existing}
	}

	var written []string
	for _, f := range todo {
		target := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return written, fmt.Errorf("create %q: %w", filepath.Dir(target), err)
		}
		if err := writeScaffoldFile(target, f.data, f.perm, force); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return written, &ExistingFilesError{Dir: dir, Files: []string{f.rel}}
			}
			return written, err
		}
		written = append(written, f.rel)
	}
	sort.Strings(written)
	return written, nil
}

// sameFile reports whether the regular file at target already has f's
// content and executable bit.
func sameFile(target string, fi os.FileInfo, f scaffoldFile) bool {
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(f.data)) || (fi.Mode().Perm()&0o100 != 0) != (f.perm&0o100 != 0) {
		return false
	}
	data, err := os.ReadFile(target)
	return err == nil && bytes.Equal(data, f.data)
}

// writeScaffoldFile writes data to a temporary file beside path and moves it
// into place, so path is never seen half-written. Without replace, the move
// is a hard link, which fails rather than replace a file someone created in
// the meantime.
func writeScaffoldFile(path string, data []byte, perm os.FileMode, replace bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		// Some file systems have no hard links: check, then rename, is the
		// next best thing.
		if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
}
