package detect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmhook/vmhook/internal/safefile"
)

const (
	// maxFile is the most read of any one file.
	maxFile = 256 << 10
	// maxFiles and maxBytes bound a whole detection.
	maxFiles = 400
	maxBytes = 24 << 20
	// maxEntries bounds the entries of one directory that are looked at.
	maxEntries = 2000
)

// Repo is a read-only, bounded view of a repository (see the package doc).
type Repo struct {
	root   string
	files  int
	bytes  int64
	notes  []string
	noted  map[string]bool
	cache  map[string]readResult
	capped bool
}

type readResult struct {
	data []byte
	ok   bool
}

// NewRepo is a view of the repository at root.
func NewRepo(root string) *Repo {
	return &Repo{root: root, noted: map[string]bool{}, cache: map[string]readResult{}}
}

// Notes are the one-line notes of what could not be read, in order.
func (r *Repo) Notes() []string { return r.notes }

func (r *Repo) note(rel, format string, args ...any) {
	msg := fmt.Sprintf("could not read %s: %s", rel, fmt.Sprintf(format, args...))
	if !r.noted[msg] {
		r.noted[msg] = true
		r.notes = append(r.notes, msg)
	}
}

// describe says why a read failed, for a note.
func describe(err error) string {
	switch {
	case errors.Is(err, safefile.ErrLink):
		return "it is a symbolic link, and vmhook new follows no link in a repository"
	case errors.Is(err, safefile.ErrNotRegular):
		return "it is not a regular file"
	case errors.Is(err, safefile.ErrTooLarge):
		return fmt.Sprintf("it is larger than %s", safefile.Size(maxFile))
	}
	return err.Error()
}

// dirsOK reports whether every directory above rel is a real directory:
// a link in the middle of a path would lead out of the repository.
func (r *Repo) dirsOK(rel string) bool {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		fi, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(strings.Join(parts[:i], "/"))))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// kind is what is at rel: 0 nothing (or not reachable without a link),
// 'f' a regular file, 'd' a directory, 'l' a link, 'o' anything else.
func (r *Repo) kind(rel string) byte {
	if !r.dirsOK(rel) {
		return 0
	}
	fi, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(rel)))
	switch {
	case err != nil:
		return 0
	case fi.Mode()&fs.ModeSymlink != 0:
		return 'l'
	case fi.Mode().IsRegular():
		return 'f'
	case fi.IsDir():
		return 'd'
	}
	return 'o'
}

// read reads the file at rel (slash path from the root). A missing file is
// false with no note; anything else that cannot be read is noted once.
func (r *Repo) read(rel string) ([]byte, bool) {
	if res, ok := r.cache[rel]; ok {
		return res.data, res.ok
	}
	data, ok := r.readUncached(rel)
	r.cache[rel] = readResult{data, ok}
	return data, ok
}

func (r *Repo) readUncached(rel string) ([]byte, bool) {
	if !r.dirsOK(rel) {
		return nil, false
	}
	if r.files >= maxFiles || r.bytes >= maxBytes {
		if !r.capped {
			r.capped = true
			r.notes = append(r.notes, fmt.Sprintf("stopped reading after %d files (%s); what follows is from those", r.files, safefile.Size(r.bytes)))
		}
		return nil, false
	}
	data, err := safefile.Read(filepath.Join(r.root, filepath.FromSlash(rel)), maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	r.files++
	if err != nil {
		r.note(rel, "%s", describe(err))
		return nil, false
	}
	r.bytes += int64(len(data))
	return data, true
}

// entry is one entry of a directory.
type entry struct {
	name string
	kind byte // as Repo.kind
}

// list lists the directory at rel, sorted, without following links.
func (r *Repo) list(rel string) []entry {
	if rel != "." && r.kind(rel) != 'd' {
		return nil
	}
	f, err := os.Open(filepath.Join(r.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	defer f.Close()
	des, _ := f.ReadDir(maxEntries)
	var out []entry
	for _, de := range des {
		k := byte('o')
		switch t := de.Type(); {
		case t&fs.ModeSymlink != 0:
			k = 'l'
		case t.IsRegular():
			k = 'f'
		case t.IsDir():
			k = 'd'
		}
		out = append(out, entry{de.Name(), k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Dir is one directory of the repository, as a detector sees it.
type Dir struct {
	repo *Repo
	// Rel is the directory's slash path from the repository root: "." or
	// "apps/web".
	Rel string
	// Member is set for a workspace of a monorepo: the root's package
	// manager installs its dependencies.
	Member bool
}

// Path is the slash path from the repository root of name in d, as
// comments show it: "package.json", "apps/web/package.json".
func (d *Dir) Path(name string) string {
	if d.Rel == "." {
		return name
	}
	return path.Join(d.Rel, name)
}

// Read reads name in d (a slash path below d); false when it is missing or
// could not be read (which is noted).
func (d *Dir) Read(name string) ([]byte, bool) { return d.repo.read(d.Path(name)) }

// Has reports whether name in d is a regular file. A link, directory or
// device where a file is expected is noted and counts as absent.
func (d *Dir) Has(name string) bool {
	switch d.repo.kind(d.Path(name)) {
	case 'f':
		return true
	case 'l':
		d.repo.note(d.Path(name), "%s", describe(safefile.ErrLink))
	case 'd', 'o':
		d.repo.note(d.Path(name), "%s", describe(safefile.ErrNotRegular))
	}
	return false
}

// IsDir reports whether name in d is a directory (not a link to one).
func (d *Dir) IsDir(name string) bool { return d.repo.kind(d.Path(name)) == 'd' }

// Files lists the regular files of the subdirectory sub of d ("." for d)
// whose names end in suffix.
func (d *Dir) Files(sub, suffix string) []string {
	var out []string
	for _, e := range d.repo.list(d.Path(sub)) {
		if e.kind == 'f' && strings.HasSuffix(e.name, suffix) {
			out = append(out, path.Join(sub, e.name))
		}
	}
	return out
}

// Subdirs lists the subdirectories of sub in d, leaving out links and the
// directories no source lives in (see skipDirs).
func (d *Dir) Subdirs(sub string) []string {
	var out []string
	for _, e := range d.repo.list(d.Path(sub)) {
		if e.kind == 'd' && !skipDirs[e.name] && !strings.HasPrefix(e.name, ".") && safeName.MatchString(e.name) {
			out = append(out, path.Join(sub, e.name))
		}
	}
	return out
}

// Note records a note about name in d.
func (d *Dir) Note(name, format string, args ...any) {
	d.repo.note(d.Path(name), format, args...)
}

// skipDirs are never descended into: dependencies, build output, caches.
var skipDirs = map[string]bool{
	"node_modules": true, "vendor": true, ".git": true, "target": true, "dist": true, "build": true,
	".venv": true, "venv": true, "__pycache__": true, ".direnv": true, ".lima": true, ".next": true,
	".nuxt": true, "coverage": true, "tmp": true, "log": true, "testdata": true, ".cache": true,
	"out": true, "bower_components": true, ".svelte-kit": true, ".turbo": true,
}
