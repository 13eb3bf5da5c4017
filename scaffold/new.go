package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmhook/vmhook/internal/safefile"
	"github.com/vmhook/vmhook/scaffold/detect"
)

// Minimal is the template an existing project gets unless it already uses
// Nix or the user names another.
const Minimal = "vm-minimal"

// Plan is what vmhook new writes into a directory, and why.
type Plan struct {
	// Template is the template used; Why says why it was chosen, or is
	// empty when the user named it or the directory is new.
	Template, Why string
	// Found is what was read in an existing project; nil for a new one.
	Found *detect.Result
	// Config replaces the template's vmhook.yaml when set: the one written
	// from what was found.
	Config []byte
	// Omit are files of the template left out, with why.
	Omit map[string]string
}

// Choose decides what vmhook new writes into dir: a new or empty directory
// gets template (Default unless named); an existing project is read
// (package detect) and gets a vmhook.yaml that says what was found, and
// the minimal template unless it already uses Nix or named says otherwise.
func Choose(dir, template string, named bool) (Plan, error) {
	if template == "" {
		template = Default
	}
	plan := Plan{Template: template}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return plan, nil
	}
	if err != nil {
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return plan, fmt.Errorf("%q exists and is not a directory; choose another project directory", dir)
		}
		return plan, fmt.Errorf("read %q: %w", dir, err)
	}
	found := detect.Detect(dir)
	plan.Found = &found
	if cfg, ok := detect.Render(found); ok {
		plan.Config = cfg
	}
	if !named {
		if found.Nix != "" {
			plan.Template = Default
			plan.Why = "the project already uses Nix (" + found.Nix + ")"
		} else {
			plan.Template = Minimal
			plan.Why = "an existing project gets no Nix files; --template " + Default + " adds a Nix dev shell and just recipes"
		}
	}
	// A project's own Nix shell or task runner is not doubled by the
	// template's; one an earlier vmhook new (or nix flake init) wrote is
	// vmhook's, and needs its companions.
	own := func(names ...string) string {
		for _, n := range names {
			if data, err := safefile.Read(filepath.Join(dir, n), maxMerged); err == nil && theirs(n, data) {
				return n
			}
		}
		return ""
	}
	plan.Omit = map[string]string{}
	if plan.Template == Default {
		if f := own("flake.nix"); f != "" {
			plan.Omit["shell.nix"] = "the project's " + f + " is its dev shell"
		} else if f := own("shell.nix", "default.nix"); f != "" {
			plan.Omit["flake.nix"] = "the project's " + f + " is its dev shell"
		}
		if f := own("Makefile", "makefile", "GNUmakefile", "Justfile", ".justfile"); f != "" {
			plan.Omit["justfile"] = "the project has a " + f + "; `vmhook templates vm-dev justfile` has the vm-* recipes"
		}
	}
	return plan, nil
}

// ApplyPlan writes plan into dir, as Apply does, with its vmhook.yaml and
// without the files it omits (each reported as Omitted).
func ApplyPlan(dir string, plan Plan, force bool) ([]Change, error) {
	fsys, err := templateFS(plan.Template)
	if err != nil {
		return nil, err
	}
	tmpl, err := files(fsys)
	if err != nil {
		return nil, err
	}
	var keep []file
	var omitted []Change
	for _, f := range tmpl {
		if why, ok := plan.Omit[f.rel]; ok {
			omitted = append(omitted, Change{File: f.rel, Action: Omitted, Hint: why})
			continue
		}
		if f.rel == "vmhook.yaml" && plan.Config != nil {
			f.data = plan.Config
		}
		keep = append(keep, f)
	}
	changes, err := applyFiles(keep, dir, force)
	if err != nil {
		return nil, err
	}
	return append(changes, omitted...), nil
}

// theirs reports whether an existing file the template also has is the
// project's own, not one an earlier vmhook new wrote: vmhook.yaml is
// always vmhook's, and any other file of vmhook's names vmhook.
func theirs(rel string, old []byte) bool {
	return rel != "vmhook.yaml" && !strings.Contains(string(old), "vmhook")
}
