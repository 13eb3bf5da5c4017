// Package scaffold writes vmhook's project templates into a directory, new or
// existing. In an existing project it merges: missing files are written,
// .gitignore gets the lines it lacks, .envrc gets `use vm`, and every other
// file that differs is left as it is (or, when forced, replaced after a
// backup). No byte of what was there is lost.
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
	"strconv"
	"strings"
	"syscall"

	"github.com/vmhook/vmhook/internal/atomicfile"
	"github.com/vmhook/vmhook/internal/lazyre"
	"github.com/vmhook/vmhook/internal/safefile"
	"github.com/vmhook/vmhook/templates"
)

// Default is the template vmhook new uses when none is named.
const Default = "vm-dev"

// Info names a project template.
type Info struct {
	Name        string
	Description string
}

// descriptions are the one-line descriptions of the templates; the root
// flake.nix gives the same ones to `nix flake show` (a test keeps the two in
// step).
var descriptions = map[string]string{
	"vm-dev":     "Project with its own Lima VM, a Nix dev shell and just recipes",
	"vm-minimal": "Project with its own Lima VM: .envrc and vmhook.yaml only",
}

// root is the directory of templates.Scaffolds holding one directory per
// template.
const root = "scaffold"

// List lists the project templates, sorted by name.
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

func isTemplate(name string) bool {
	for _, s := range Names() {
		if s == name {
			return true
		}
	}
	return false
}

// templateFS is the file tree of the template named name.
func templateFS(name string) (fs.FS, error) {
	if !isTemplate(name) {
		return nil, fmt.Errorf("unknown template %q; choose one of: %s", name, strings.Join(Names(), ", "))
	}
	sub, err := fs.Sub(templates.Scaffolds, path.Join(root, name))
	if err != nil {
		return nil, fmt.Errorf("read template %q: %w", name, err)
	}
	return sub, nil
}

// Files lists the files of a template, by slash path, sorted.
func Files(template string) ([]string, error) {
	fsys, err := templateFS(template)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range mustFiles(fsys) {
		names = append(names, f.rel)
	}
	sort.Strings(names)
	return names, nil
}

// File returns the content of one file of a template, by its slash path in
// the template, for people who merge it by hand.
func File(template, name string) ([]byte, error) {
	fsys, err := templateFS(template)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		names, _ := Files(template)
		return nil, fmt.Errorf("template %s has no file %q; it has: %s", template, name, strings.Join(names, ", "))
	}
	return data, nil
}

// Action is what Apply did to one file.
type Action int

const (
	// Wrote means the file was missing and now has the template's content.
	Wrote Action = iota
	// Appended means lines were added at the end of an existing file.
	Appended
	// Replaced means a differing file was replaced (force), after a backup.
	Replaced
	// Kept means the file differs from the template and was left as it is.
	Kept
	// Omitted means the template's file was not written: the project has
	// its own kind of it (see Plan.Omit).
	Omitted
)

// Change is one file Apply wrote, extended, replaced or left alone.
type Change struct {
	File   string // slash path relative to the project directory
	Action Action
	Added  []string // Appended: the lines that matter (patterns, directives)
	Backup string   // Replaced: the backup of the old file, relative like File
	Hint   string   // Kept, Appended, Omitted: what the user may want to add by hand, or why
	// Theirs marks a kept file as the project's own, from before vmhook:
	// --force is no answer for it.
	Theirs bool
}

// Apply writes the template named template into dir, creating dir when
// needed, and merges with what is there: a missing file is written; an
// existing .gitignore gets the patterns it lacks and an existing .envrc gets
// `use vm`, both appended after the current content; a file that has the
// template's content is left as it is; any other existing file is kept and
// reported with a hint, or, with force, replaced after a backup that never
// overwrites an earlier one. Every write is atomic (a temporary file in the
// same directory, renamed into place) and keeps the file's mode.
//
// Everything is checked before anything is written: when a file or
// directory is write-protected, Apply changes nothing and says so.
func Apply(dir, template string, force bool) ([]Change, error) {
	fsys, err := templateFS(template)
	if err != nil {
		return nil, err
	}
	return applyFS(fsys, dir, force)
}

// file is one file of a template.
type file struct {
	rel  string // slash-separated, relative to the template root
	data []byte
	perm os.FileMode
}

// files reads every file of fsys. An executable file stays executable;
// everything else is written 0644.
func files(fsys fs.FS) ([]file, error) {
	var out []file
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
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
		out = append(out, file{rel: p, data: data, perm: perm})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return out, nil
}

// mustFiles is files for an embedded template, which cannot fail to read.
func mustFiles(fsys fs.FS) []file {
	out, err := files(fsys)
	if err != nil {
		panic(err) // embedded at build time
	}
	return out
}

// maxMerged is the largest existing file vmhook new reads to merge or
// compare: far above any real .gitignore or .envrc, far below what would
// hurt, and the limit of what it reads through a link to a device.
const maxMerged = 4 << 20

// op is one planned write.
type op struct {
	change Change
	target string
	data   []byte
	perm   os.FileMode
	old    []byte // the existing content, nil for a new file
	tmp    string // the staged temporary file
}

// applyFS writes the files of fsys into dir (see Apply).
func applyFS(fsys fs.FS, dir string, force bool) ([]Change, error) {
	tmpl, err := files(fsys)
	if err != nil {
		return nil, err
	}
	return applyFiles(tmpl, dir, force)
}

// applyFiles writes the files tmpl into dir (see Apply).
func applyFiles(tmpl []file, dir string, force bool) ([]Change, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%q exists and is not a directory; choose another project directory", dir)
	}
	envrcHint := ""
	for _, f := range tmpl {
		if f.rel == ".envrc" && nixShellLine().Match(f.data) {
			envrcHint = "it does not load the Nix dev shell of flake.nix; add `use flake` (or `use nix`) above `use vm` to have lima and just on the host"
		}
	}

	// Decide everything before writing anything, so a refusal leaves the
	// directory exactly as it was.
	var ops []*op
	var changes []Change
	for _, f := range tmpl {
		target := filepath.Join(dir, filepath.FromSlash(f.rel))
		fi, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			ops = append(ops, &op{change: Change{File: f.rel, Action: Wrote}, target: target, data: f.data, perm: f.perm})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("check %q: %w", target, err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("%q is a directory where the template has a file; move it away and run vmhook new again", target)
		}
		if !fi.Mode().IsRegular() {
			// Writing would replace the link (or device) with a file; what
			// a link points to is only read, and only when it is a regular
			// file: a FIFO would block, /dev/zero would never end.
			if old, err := safefile.ReadFollow(target, maxMerged); err == nil && satisfied(f, old) {
				continue
			}
			changes = append(changes, Change{File: f.rel, Action: Kept, Hint: "it is not a regular file (a symbolic link?), so vmhook does not write it; " + byHand(f), Theirs: true})
			continue
		}
		old, err := safefile.Read(target, maxMerged)
		if errors.Is(err, safefile.ErrTooLarge) {
			changes = append(changes, Change{File: f.rel, Action: Kept, Hint: "it is larger than " + safefile.Size(maxMerged) + ", so vmhook does not change it; " + byHand(f), Theirs: true})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %q: %w", target, err)
		}
		if bytes.Equal(old, f.data) && (fi.Mode().Perm()&0o100 != 0) == (f.perm&0o100 != 0) {
			continue // already there, as the template has it
		}
		switch f.rel {
		case ".gitignore":
			merged, added := mergeGitignore(old, f.data)
			if len(added) > 0 {
				ops = append(ops, &op{change: Change{File: f.rel, Action: Appended, Added: added}, target: target, data: merged, perm: fi.Mode().Perm(), old: old})
			}
			continue
		case ".envrc":
			if merged, ok := mergeEnvrc(old, f.data); ok {
				c := Change{File: f.rel, Action: Appended, Added: []string{"use vm"}}
				if envrcHint != "" && !nixShellLine().Match(old) {
					c.Hint = envrcHint
				}
				ops = append(ops, &op{change: c, target: target, data: merged, perm: fi.Mode().Perm(), old: old})
			}
			continue
		}
		if !force {
			mine := theirs(f.rel, old)
			changes = append(changes, Change{File: f.rel, Action: Kept, Hint: keptHint(f.rel, mine), Theirs: mine})
			continue
		}
		// The replaced file keeps its mode unless the template's file is
		// executable.
		ops = append(ops, &op{change: Change{File: f.rel, Action: Replaced}, target: target, data: f.data, perm: fi.Mode().Perm() | f.perm&0o111, old: old})
	}
	if err := checkWritable(dir, ops); err != nil {
		return nil, err
	}
	if err := commit(dir, ops); err != nil {
		return nil, err
	}
	for _, o := range ops {
		changes = append(changes, o.change)
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].File < changes[j].File })
	return changes, nil
}

// keptHint says what a file left alone would have brought.
func keptHint(rel string, theirs bool) string {
	switch rel {
	case "vmhook.yaml":
		return "yours is used as it is"
	case "flake.nix", "shell.nix":
		return "to have lima and just on the host, add pkgs.lima and pkgs.just to its dev shell's packages"
	case "justfile":
		return "to have the vm-* recipes, copy them from the template's"
	}
	if theirs {
		return "it is left as it is"
	}
	return "compare it with the template's"
}

// satisfied reports whether existing content already does what the
// template's file f is for.
func satisfied(f file, old []byte) bool {
	switch f.rel {
	case ".gitignore":
		_, added := mergeGitignore(old, f.data)
		return len(added) == 0
	case ".envrc":
		return saysUseVM(old)
	}
	return bytes.Equal(old, f.data)
}

// byHand says what to add to a file vmhook cannot write.
func byHand(f file) string {
	switch f.rel {
	case ".envrc":
		return "add `use vm` to it by hand"
	case ".gitignore":
		return "make sure it ignores " + strings.Join(patterns(f.data), ", ")
	}
	return "compare it with the template's"
}

// writeProtected reports whether the file or directory at p must not be
// changed: it has no write permission bit at all (a deliberate chmod a-w,
// honoured even for root), or this process may not write it.
func writeProtected(p string, fi os.FileInfo) bool {
	return fi.Mode().Perm()&0o222 == 0 || syscall.Access(p, 2 /* W_OK */) != nil
}

// checkWritable refuses, before anything is written, when a file to change
// or a directory to write in is write-protected.
func checkWritable(dir string, ops []*op) error {
	seen := map[string]bool{}
	for _, o := range ops {
		if o.old != nil {
			fi, err := os.Stat(o.target)
			if err != nil {
				return fmt.Errorf("check %q: %w", o.target, err)
			}
			if writeProtected(o.target, fi) {
				if o.change.Action == Appended {
					return fmt.Errorf("add %s to %q: the file is read-only; make it writable (chmod u+w) and run vmhook new again, or add them by hand", strings.Join(o.change.Added, ", "), o.target)
				}
				return fmt.Errorf("replace %q: the file is read-only; make it writable (chmod u+w) and run vmhook new --force again", o.target)
			}
		}
		// The nearest existing directory above the file must be writable.
		d := filepath.Dir(o.target)
		for !seen[d] {
			seen[d] = true
			fi, err := os.Stat(d)
			if errors.Is(err, fs.ErrNotExist) && filepath.Dir(d) != d {
				d = filepath.Dir(d)
				continue
			}
			if err != nil {
				return fmt.Errorf("check %q: %w", d, err)
			}
			if writeProtected(d, fi) {
				return fmt.Errorf("write %s in %q: the directory is read-only; make it writable (chmod u+w) and run vmhook new again", filepath.Base(o.target), d)
			}
			break
		}
	}
	return nil
}

// commit creates the missing directories, stages every file as a temporary
// file beside its target, and only then moves each into place: a failure
// while staging leaves everything as it was.
func commit(dir string, ops []*op) (err error) {
	var made []string // directories created here, outermost first
	defer func() {
		for _, o := range ops {
			if o.tmp != "" {
				os.Remove(o.tmp)
			}
		}
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i]) // only when still empty
			}
		}
	}()
	mkdir := func(d string) error {
		var missing []string
		for p := d; ; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
				break
			}
			missing = append([]string{p}, missing...)
		}
		for _, p := range missing {
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create %q: %w", p, err)
			}
			made = append(made, p)
		}
		return nil
	}
	if err := mkdir(dir); err != nil {
		return err
	}
	for _, o := range ops {
		if err := mkdir(filepath.Dir(o.target)); err != nil {
			return err
		}
		if o.tmp, err = atomicfile.Stage(o.target, o.data, o.perm); err != nil {
			return err
		}
	}
	for _, o := range ops {
		if err := place(o, dir); err != nil {
			return err
		}
	}
	return nil
}

// place moves a staged file into place. A new file is hard-linked, which
// fails rather than replace a file someone created in the meantime; an
// existing one is renamed over, once it is known to be unchanged since it
// was read, and after its backup when it is replaced.
func place(o *op, dir string) error {
	if o.old == nil {
		err := os.Link(o.tmp, o.target)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%q appeared while vmhook new ran; run vmhook new again", o.target)
		}
		if err != nil {
			// Some file systems have no hard links: check, then rename, is
			// the next best thing.
			if _, lerr := os.Lstat(o.target); !errors.Is(lerr, fs.ErrNotExist) {
				return fmt.Errorf("%q appeared while vmhook new ran; run vmhook new again", o.target)
			}
			if err := os.Rename(o.tmp, o.target); err != nil {
				return fmt.Errorf("write %q: %w", o.target, err)
			}
		}
		return nil
	}
	now, err := safefile.Read(o.target, maxMerged)
	if err != nil || !bytes.Equal(now, o.old) {
		return fmt.Errorf("%q changed while vmhook new ran; run vmhook new again", o.target)
	}
	if o.change.Action == Replaced {
		backup, err := backUp(o.target)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, backup)
		o.change.Backup = filepath.ToSlash(rel)
	}
	if err := os.Rename(o.tmp, o.target); err != nil {
		return fmt.Errorf("write %q: %w", o.target, err)
	}
	return nil
}

// backupSuffix ends the name of the copy --force keeps of a replaced file.
const backupSuffix = ".vmhook-backup"

// backUp keeps the file at target under the first free name of
// TARGET.vmhook-backup, TARGET.vmhook-backup.1, …, never replacing an
// earlier backup. A hard link keeps the bytes and the mode exactly; a copy
// is made where links are not possible.
func backUp(target string) (string, error) {
	for i := 0; i < 1000; i++ {
		name := target + backupSuffix
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		err := os.Link(target, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			err = copyExclusive(target, name)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
		}
		if err != nil {
			return "", fmt.Errorf("back up %q: %w", target, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("back up %q: too many backups; remove old %s files", target, backupSuffix)
}

// copyExclusive copies src to a new file dst with the same mode, failing
// when dst exists.
func copyExclusive(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := safefile.Read(src, maxMerged)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// nixShellLine finds a line of an .envrc loading a Nix dev shell, directly
// or through the vm-dev template's _vm_dev_nix.
var nixShellLine = lazyre.New(`(?m)^[ \t]*(_vm_dev_nix[ \t]+)?(use[ \t]+(flake|nix)|use_(flake|nix))([ \t;\r]|$)`)

// mergeEnvrc appends the template's `use vm` block (its last paragraph) to
// an existing .envrc that does not call `use vm` yet. The block keeps plain
// newlines even in a CRLF file: bash reads a carriage return as part of the
// word, and `use vm\r` would look for a function named "use_vm\r".
func mergeEnvrc(old, tmpl []byte) ([]byte, bool) {
	if saysUseVM(old) {
		return nil, false
	}
	out := bytes.Clone(old)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if len(bytes.TrimSpace(lastLine(out))) > 0 {
		out = append(out, '\n')
	}
	return append(out, lastParagraph(tmpl)...), true
}

// lastLine is the last line of data, which ends in a newline.
func lastLine(data []byte) []byte {
	data = bytes.TrimSuffix(data, []byte("\n"))
	return data[bytes.LastIndexByte(data, '\n')+1:]
}

// lastParagraph is the text after the last blank line, newline-terminated.
func lastParagraph(data []byte) []byte {
	text := strings.TrimRight(string(data), "\n")
	if i := strings.LastIndex(text, "\n\n"); i >= 0 {
		text = text[i+2:]
	}
	return []byte(text + "\n")
}

// gitignoreEntry is one pattern of the template's .gitignore with the
// comment lines just above it.
type gitignoreEntry struct {
	comments []string
	pattern  string
}

func gitignoreEntries(tmpl []byte) []gitignoreEntry {
	var out []gitignoreEntry
	var comments []string
	for _, l := range strings.Split(string(tmpl), "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			comments = nil
		case strings.HasPrefix(l, "#"):
			comments = append(comments, l)
		default:
			out = append(out, gitignoreEntry{comments: comments, pattern: l})
			comments = nil
		}
	}
	return out
}

func patterns(tmpl []byte) []string {
	var out []string
	for _, e := range gitignoreEntries(tmpl) {
		out = append(out, e.pattern)
	}
	return out
}

// mergeGitignore appends to an existing .gitignore each pattern of the
// template's (with its comment) that the file does not already have in an
// equivalent form, and returns the new content and the patterns added. The
// appended lines use the file's line ending (CRLF when its first line has
// one); a last line without a newline gets one first.
func mergeGitignore(old, tmpl []byte) ([]byte, []string) {
	eol := "\n"
	if i := bytes.IndexByte(old, '\n'); i > 0 && old[i-1] == '\r' {
		eol = "\r\n"
	}
	lines := strings.Split(strings.TrimPrefix(string(old), "\ufeff"), "\n")
	var add []gitignoreEntry
	for _, e := range gitignoreEntries(tmpl) {
		if !ignores(lines, e.pattern) {
			add = append(add, e)
		}
	}
	if len(add) == 0 {
		return old, nil
	}
	var b strings.Builder
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteString(eol)
	}
	if len(bytes.TrimSpace(lastLine(old))) > 0 {
		b.WriteString(eol) // a blank line between theirs and vmhook's
	}
	var added []string
	for _, e := range add {
		for _, c := range e.comments {
			b.WriteString(c + eol)
		}
		b.WriteString(e.pattern + eol)
		added = append(added, e.pattern)
	}
	return []byte(b.String()), added
}

// ignores reports whether the .gitignore lines end up ignoring what pattern
// ignores: the last line with an equivalent pattern decides, as in git, so
// a later "!.lima/" undoes an earlier ".lima/".
func ignores(lines []string, pattern string) bool {
	ignored := false
	for _, l := range lines {
		l = strings.TrimRight(strings.TrimSuffix(l, "\r"), " ")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		negated := strings.HasPrefix(l, "!")
		if equivalentPattern(strings.TrimPrefix(l, "!"), pattern) {
			ignored = !negated
		}
	}
	return ignored
}

// equivalentPattern reports whether the .gitignore pattern have ignores at
// least what want ignores at the project root. A leading "/" or "**/" makes
// no difference there, and a pattern without a trailing "/" also matches
// directories: ".lima", "/.lima" and "**/.lima/" all do the work of ".lima/",
// but "result/" does not do that of "result" (which is a symbolic link).
// Wildcards are compared as written: ".lima/*" is not taken for ".lima/".
func equivalentPattern(have, want string) bool {
	norm := func(p string) (string, bool) {
		p = strings.TrimPrefix(p, "**/")
		p = strings.TrimPrefix(p, "/")
		return strings.TrimSuffix(p, "/"), strings.HasSuffix(p, "/")
	}
	h, hDirOnly := norm(have)
	w, wDirOnly := norm(want)
	return h == w && (!hDirOnly || wDirOnly)
}
