package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/shellquote"
	"github.com/vmhook/vmhook/projectvm"
)

// shellQuote quotes s for bash (and any POSIX shell).
func shellQuote(s string) string { return shellquote.POSIX(s) }

func useCommands(r *rt) []*cli.Command {
	return []*cli.Command{{
		Name:   "use",
		Usage:  "prepare the project for direnv's `use vm`: (re)generate its config and print exports",
		Hidden: true,
		Flags: append(append([]cli.Flag{}, append(projectFlags, settingsFlags...)...), &cli.StringSliceFlag{
			Name:  "env",
			Usage: "a variable the .envrc sets that reaches the guest's shells too (repeat it for more)",
		}),
		Action: func(c *cli.Context) error {
			guest := c.StringSlice("env")
			for _, name := range guest {
				if !projectvm.ValidEnvName(name) {
					return usagef("use vm --env %q: name a variable, such as --env DATABASE_URL", name)
				}
				if projectvm.HostOnlyName(name) {
					return usagef("use vm --env %s: that is the host's own variable, which means nothing in the guest; set what the guest needs in vmhook.yaml's env:", name)
				}
			}
			if err := r.envrcOwnDir(c.String("project")); err != nil {
				return err
			}
			if c.String("project") == "" && c.String("vm") == "" {
				// direnv evaluates .envrc in its own directory: that is the
				// project, with or without a vmhook.yaml.
				cwd, err := os.Getwd()
				if err != nil {
					return err
				}
				if err := c.Set("project", cwd); err != nil {
					return err
				}
			}
			// The directory as it was reached: the shell hook compares it
			// with $PWD. The VM is that of its real path.
			dir, err := filepath.Abs(c.String("project"))
			if err != nil {
				return err
			}
			env, p, err := r.prepare(callOf(c), flagsFrom(c), true)
			if err != nil {
				return err
			}
			if p.Named {
				dir = p.Dir
			}
			// use vm keeps its answer here while nothing changes, and
			// checks first what the answer depends on: this line.
			if err := os.MkdirAll(env.UseCacheDir(), 0o700); err != nil {
				return fmt.Errorf("create %q: %w", env.UseCacheDir(), err)
			}
			// One line, whatever the paths hold: use vm reads it back
			// as the second line of its cache.
			deps := projectvm.UseDeps(env, p)
			for i, d := range deps {
				deps[i] = shellquote.BashLine(d)
			}
			fmt.Fprintf(r.stdout, "_vmhook_deps=(%s)\n", strings.Join(deps, " "))
			for _, kv := range [][2]string{
				{"VMHOOK_VM", p.Name},
				{"VMHOOK_PROJECT", dir},
				{"SYSINIT_VM_ENABLED", "1"},
				{"SYSINIT_VM_NAME", p.Name},
				// lima CMD (Lima's own wrapper) reaches this VM, not
				// Lima's "default" instance.
				{"LIMA_INSTANCE", p.Name},
			} {
				fmt.Fprintf(r.stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
			}
			if len(guest) > 0 {
				fmt.Fprintf(r.stdout, "export %s=%s\n", projectvm.GuestEnvVar, shellQuote(strings.Join(guest, " ")))
			}
			return nil
		},
	}}
}

// envrcOwnDir refuses, while direnv evaluates an .envrc (it sets
// DIRENV_IN_ENVRC), a --project naming another directory than the .envrc's
// own: a committed `use vm --project ../..` would make the home directory a
// project, with no consent asked.
func (r *rt) envrcOwnDir(project string) error {
	if project == "" || r.getenv("DIRENV_IN_ENVRC") == "" {
		return nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	own, err1 := filepath.EvalSymlinks(cwd)
	dir, err2 := filepath.Abs(project)
	if err2 == nil {
		dir, err2 = filepath.EvalSymlinks(dir)
	}
	if err1 != nil || err2 != nil || own != dir {
		return fmt.Errorf("use vm --project %q names another directory than the .envrc's own; an .envrc prepares only its own directory, so remove --project from it", project)
	}
	return nil
}
