package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

var _ = register(useCommands)

// shellQuote quotes s for bash (and any POSIX shell).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func useCommands(r *rt) []*cli.Command {
	return []*cli.Command{{
		Name:   "use",
		Usage:  "prepare the project for direnv's `use vm`: (re)generate its config and print exports",
		Hidden: true,
		Flags:  append([]cli.Flag{}, append(projectFlags, settingsFlags...)...),
		Action: func(c *cli.Context) error {
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
			_, p, err := r.prepare(c, flagsFrom(c), true)
			if err != nil {
				return err
			}
			for _, kv := range [][2]string{
				{"VMHOOK_VM", p.Name},
				{"VMHOOK_PROJECT", p.Dir},
				{"SYSINIT_VM_ENABLED", "1"},
				{"SYSINIT_VM_NAME", p.Name},
			} {
				fmt.Fprintf(r.stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
			}
			return nil
		},
	}}
}
