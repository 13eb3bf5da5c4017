package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/scaffold"
)

func newCommands(r *rt) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "new",
			Usage:     "start a project, or adopt an existing one: .envrc (use vm), vmhook.yaml, .gitignore, …",
			ArgsUsage: "[DIR]",
			Description: "Writes the template's files into DIR (default: the current directory),\n" +
				"creating it when needed. In an existing project it reads the repository\n" +
				"(its stacks, dev-server ports, pinned versions and lockfiles) and writes a\n" +
				"vmhook.yaml that says what it found; it uses vm-minimal there unless the\n" +
				"project already uses Nix or --template is given. It merges and never loses\n" +
				"a byte: missing files are written, .gitignore gets the lines it lacks, .envrc\n" +
				"gets `use vm`, and other files that differ are kept and listed with what to\n" +
				"add by hand (--force replaces vmhook's own, keeping each as FILE.vmhook-backup).\n" +
				"Templates: " + strings.Join(scaffold.Names(), ", ") + " (see vmhook templates).",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "template", Aliases: []string{"t"}, Value: scaffold.Default, Usage: "template `NAME` (see vmhook templates)"},
				&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace files that differ from the template, keeping a backup of each"},
			},
			Action: func(c *cli.Context) error {
				args := c.Args().Slice()
				if len(args) > 1 {
					if strings.HasPrefix(args[1], "-") {
						return usagef("flags go before DIR: vmhook new %s %s", strings.Join(args[1:], " "), args[0])
					}
					return usagef("vmhook new takes one directory, got %d: %s", len(args), strings.Join(args, " "))
				}
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				tmpl := c.String("template")
				if !slices.Contains(scaffold.Names(), tmpl) {
					return usagef("unknown template %q; choose one of: %s", tmpl, strings.Join(scaffold.Names(), ", "))
				}
				plan, err := scaffold.Choose(dir, tmpl, c.IsSet("template"))
				if err != nil {
					return err
				}
				changes, err := scaffold.ApplyPlan(dir, plan, c.Bool("force"))
				if err != nil {
					return err
				}
				r.reportPlan(plan)
				r.reportChanges(dir, plan.Template, changes)
				r.nextSteps(dir)
				return nil
			},
		},
		{
			Name:      "templates",
			Usage:     "list the project templates of vmhook new, or print one of their files",
			ArgsUsage: "[TEMPLATE [FILE]]",
			Description: "Without arguments, lists the templates; with TEMPLATE, its files; with\n" +
				"TEMPLATE FILE, prints that file, e.g. to merge it by hand into a file\n" +
				"vmhook new kept: vmhook templates vm-dev justfile",
			Action: func(c *cli.Context) error {
				args := c.Args().Slice()
				switch len(args) {
				case 0:
					w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
					for _, s := range scaffold.List() {
						fmt.Fprintf(w, "%s\t%s\n", s.Name, s.Description)
					}
					return w.Flush()
				case 1, 2:
					if !slices.Contains(scaffold.Names(), args[0]) {
						return usagef("unknown template %q; choose one of: %s", args[0], strings.Join(scaffold.Names(), ", "))
					}
					if len(args) == 1 {
						files, err := scaffold.Files(args[0])
						if err != nil {
							return err
						}
						_, err = fmt.Fprintln(r.stdout, strings.Join(files, "\n"))
						return err
					}
					data, err := scaffold.File(args[0], args[1])
					if err != nil {
						return usagef("%v", err)
					}
					_, err = r.stdout.Write(data)
					return err
				}
				return usagef("vmhook templates takes at most a template and a file, got %d arguments", len(args))
			},
		},
	}
}

// reportPlan says, in a line or two, what vmhook new read in an existing
// project and which template it chose; vmhook.yaml's comments say the rest.
func (r *rt) reportPlan(plan scaffold.Plan) {
	if plan.Found != nil {
		// One entry per stack, with the directories below the root it
		// was found in: "Node.js (., apps/web)".
		var stacks []string
		dirs := map[string][]string{}
		for _, a := range plan.Found.Apps {
			if dirs[a.Stack] == nil {
				stacks = append(stacks, a.Stack)
			}
			dirs[a.Stack] = append(dirs[a.Stack], a.Dir)
		}
		for i, s := range stacks {
			if d := dirs[s]; len(d) > 1 || d[0] != "." {
				stacks[i] = s + " (" + strings.Join(d, ", ") + ")"
			}
		}
		switch {
		case len(stacks) > 0:
			r.say.line("read the project: %s; vmhook.yaml says what was found and why", strings.Join(stacks, ", "))
		default:
			r.say.line("read the project: no stack vmhook knows; vmhook.yaml is the template's")
		}
	}
	if plan.Why != "" {
		r.say.line("template %s: %s", plan.Template, plan.Why)
	}
}

// reportChanges tells people, one line per file, what vmhook new did, and
// what they may want to add by hand to the files it kept. --force, which
// replaces every file kept, is suggested only when each of them is one
// vmhook wrote: never while it would replace a file of the project's own.
func (r *rt) reportChanges(dir, tmpl string, changes []scaffold.Change) {
	var ours []string
	theirs := false
	for _, c := range changes {
		p := filepath.Join(dir, filepath.FromSlash(c.File))
		hint := ""
		if c.Hint != "" {
			hint = "; " + c.Hint
		}
		switch c.Action {
		case scaffold.Wrote:
			r.say.line("wrote %s", p)
		case scaffold.Appended:
			r.say.line("added %s to %s%s", strings.Join(c.Added, ", "), p, hint)
		case scaffold.Replaced:
			r.say.line("replaced %s with %s's; yours is now %s", p, tmpl, filepath.Join(dir, filepath.FromSlash(c.Backup)))
		case scaffold.Kept:
			if c.Theirs {
				theirs = true
				r.say.line("kept %s, the project's own%s", p, hint)
				continue
			}
			ours = append(ours, p)
			r.say.line("kept %s, which differs from %s's%s (see: vmhook templates %s %s)", p, tmpl, hint, tmpl, c.File)
		case scaffold.Omitted:
			r.say.line("left out %s: %s", c.File, c.Hint)
		}
	}
	switch {
	case len(changes) == 0:
		r.say.line("%s already has everything of %s; nothing written", dir, tmpl)
	case len(ours) > 0 && !theirs:
		r.say.line("vmhook new --force replaces %s, keeping a backup of each", strings.Join(ours, ", "))
	}
}

// nextSteps tells people how to get into the new project's VM. The VM's name
// is shown when the project's settings load; when they do not (a broken user
// config, say), the error is shown instead, since every later command would
// fail the same way.
func (r *rt) nextSteps(dir string) {
	vm := "its VM"
	if env, err := r.env(); err == nil {
		p, err := projectvm.OpenProject(env, dir, projectvm.Flags{})
		if err != nil {
			r.say.line("warning: %v", err)
		} else {
			vm = "the VM " + p.Name
		}
	}
	cd := ""
	if filepath.Clean(dir) != "." {
		cd = "cd " + shellQuoteIfNeeded(dir) + " && "
	}
	r.say.line("next: %sdirenv allow; %s then starts, and you are in it at the next prompt", cd, vm)
	r.say.line("or, without vmhook's shell hook: %svmhook shell", cd)
}

// shellQuoteIfNeeded leaves plain paths alone, so the printed command reads
// naturally, and quotes anything a shell would split or expand.
func shellQuoteIfNeeded(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+,:@%") == "" {
		return s
	}
	return shellQuote(s)
}
