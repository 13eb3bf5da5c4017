package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

func newCommands(r *rt) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "new",
			Usage:     "start a project from a template: .envrc (use vm), vmhook.yaml, .gitignore, …",
			ArgsUsage: "[DIR]",
			Description: "Writes the template's files into DIR (default: the current directory),\n" +
				"creating it when needed. Existing files are never replaced unless --force.\n" +
				"Templates: " + strings.Join(projectvm.ScaffoldNames(), ", ") + " (see vmhook templates).",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "template", Aliases: []string{"t"}, Value: projectvm.DefaultScaffold, Usage: "template `NAME` (see vmhook templates)"},
				&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace files that already exist"},
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
				if !slices.Contains(projectvm.ScaffoldNames(), tmpl) {
					return usagef("unknown template %q; choose one of: %s", tmpl, strings.Join(projectvm.ScaffoldNames(), ", "))
				}
				written, err := projectvm.Scaffold(dir, tmpl, c.Bool("force"))
				var exists *projectvm.ExistingFilesError
				if errors.As(err, &exists) {
					return err
				}
				for _, f := range written {
					r.say.line("wrote %s", filepath.Join(dir, filepath.FromSlash(f)))
				}
				if err != nil {
					return err
				}
				if len(written) == 0 {
					r.say.line("%s already has every file of %s; nothing written", dir, tmpl)
				}
				r.nextSteps(dir)
				return nil
			},
		},
		{
			Name:  "templates",
			Usage: "list the project templates of vmhook new",
			Action: func(c *cli.Context) error {
				if c.Args().Len() > 0 {
					return usagef("vmhook templates takes no arguments")
				}
				w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
				for _, s := range projectvm.Scaffolds() {
					fmt.Fprintf(w, "%s\t%s\n", s.Name, s.Description)
				}
				return w.Flush()
			},
		},
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
