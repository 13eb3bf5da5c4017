package detect

import (
	"path"
	"regexp"
	"sort"
	"strings"
)

// Result is what Detect found in a repository.
type Result struct {
	// Apps are what the Detectors found, the root's first, then by
	// directory.
	Apps []App
	// Nix says why the repository already uses Nix ("flake.nix"), or is
	// empty.
	Nix string
	// Notes are what could not be read.
	Notes []string
}

// Found reports whether anything was recognised.
func (r Result) Found() bool { return len(r.Apps) > 0 }

// maxWorkspaces bounds the workspace directories looked at.
const maxWorkspaces = 60

// safeName is a directory name vmhook new puts into a comment or a
// script; another is skipped (and noted), so nothing from a directory
// name can end a comment or a quoted word.
var safeName = regexp.MustCompile(`^[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,100}$`)

// nixShellLine finds a line of an .envrc loading a Nix dev shell, directly
// or through the vm-dev template's _vm_dev_nix.
var nixShellLine = regexp.MustCompile(`(?m)^[ \t]*(_vm_dev_nix[ \t]+)?(use[ \t]+(flake|nix)|use_(flake|nix))([ \t;\r]|$)`)

// Detect reads the repository at root: the root directory, the workspaces
// an app there names, and, when the root is none of the Detectors' kinds,
// each directory just below it.
func Detect(root string) Result {
	repo := NewRepo(root)
	var res Result
	rootDir := &Dir{repo: repo, Rel: "."}
	for _, f := range []string{"flake.nix", "shell.nix", "default.nix"} {
		if repo.kind(f) == 'f' {
			res.Nix = f
			break
		}
	}
	if res.Nix == "" {
		if data, ok := rootDir.Read(".envrc"); ok && nixShellLine.Match(data) {
			res.Nix = ".envrc (use flake or use nix)"
		}
	}

	seen := map[string]bool{}
	visit := func(rel string, member bool) []App {
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		d := &Dir{repo: repo, Rel: rel, Member: member}
		var apps []App
		for _, det := range Detectors {
			if !d.hasAny(det.Markers) {
				continue
			}
			if app, ok := det.Detect(d); ok {
				apps = append(apps, app)
			}
		}
		return apps
	}
	res.Apps = visit(".", false)
	var workspaces []string
	for _, a := range res.Apps {
		workspaces = append(workspaces, a.Workspaces...)
	}
	for i, m := range expandWorkspaces(rootDir, workspaces) {
		if i >= maxWorkspaces {
			break
		}
		res.Apps = append(res.Apps, visit(m, true)...)
	}
	// An app beside another (api/ next to a front end at the root), but
	// not the examples and tests of a library.
	for _, sub := range rootDir.Subdirs(".") {
		if !notApps[sub] {
			res.Apps = append(res.Apps, visit(sub, false)...)
		}
	}
	res.Notes = repo.Notes()
	return res
}

// notApps are the directories just below the root that hold examples,
// tests or tools of the project, not an app of its own.
var notApps = map[string]bool{
	"examples": true, "example": true, "_examples": true, "docs": true, "doc": true, "test": true, "tests": true,
	"spec": true, "fixtures": true, "samples": true, "sample": true, "e2e": true, "bench": true, "benchmarks": true,
	"scripts": true, "tools": true, "third_party": true, "deps": true, "hack": true, "contrib": true,
}

// hasAny reports whether d has one of the marker files (without a note
// for the ones that are missing or not files).
func (d *Dir) hasAny(markers []string) bool {
	for _, m := range markers {
		if d.repo.kind(d.Path(m)) == 'f' {
			return true
		}
		if d.repo.kind(d.Path(m)) != 0 {
			d.Has(m) // notes why it is not read
		}
	}
	return false
}

// expandWorkspaces turns workspace globs ("apps/*", "packages/**",
// "docs") into directories, sorted; negated globs are left out.
func expandWorkspaces(root *Dir, globs []string) []string {
	set := map[string]bool{}
	for _, g := range globs {
		g = strings.TrimPrefix(path.Clean(strings.TrimPrefix(g, "./")), "/")
		if strings.HasPrefix(g, "!") || strings.HasPrefix(g, "..") || g == "." {
			continue
		}
		parent, last := path.Split(g)
		parent = strings.TrimSuffix(parent, "/")
		if strings.Contains(parent, "*") {
			continue
		}
		if !strings.ContainsAny(last, "*?[") {
			if root.IsDir(g) && allSafe(g) {
				set[g] = true
			}
			continue
		}
		if parent == "" {
			parent = "."
		}
		if last == "**" {
			last = "*"
		}
		for _, sub := range root.Subdirs(parent) {
			if ok, _ := path.Match(last, path.Base(sub)); ok && allSafe(sub) {
				set[sub] = true
			}
		}
	}
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func allSafe(rel string) bool {
	for _, p := range strings.Split(rel, "/") {
		if !safeName.MatchString(p) {
			return false
		}
	}
	return true
}
