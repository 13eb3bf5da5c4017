package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

func shellCommands(r *rt) []*cli.Command {
	return []*cli.Command{{
		Name:      "shell",
		Aliases:   []string{"enter"},
		Usage:     "enter the project's VM at the project directory (starting it if needed)",
		ArgsUsage: "[-- CMD ARGS…]",
		Description: "On a terminal, opens your login shell in the VM. With -- CMD ARGS…, runs CMD in the VM\n" +
			"at the project directory without needing a terminal, and exits with its exit code.",
		Flags: projectFlags,
		Action: func(c *cli.Context) error {
			cmd := c.Args().Slice()
			if len(cmd) > 0 && !slices.Contains(r.rawArgs(c), "--") {
				return usagef("put the command after --, as in: vmhook shell -- %s", cmd[0])
			}
			if err := r.refuseInVM(); err != nil {
				return err
			}
			if err := r.refuseInEnvrc("enter"); err != nil {
				return err
			}
			if len(cmd) == 0 && !r.interactive() {
				return fmt.Errorf("not on a terminal, so not opening an interactive shell; run a command with vmhook shell -- CMD")
			}
			m, p, err := r.managed(c, flagsFrom(c))
			if err != nil {
				return err
			}
			if err := r.ensureRunning(c, m, p, false); err != nil {
				return err
			}
			// A Ctrl-C that came as the start ended still means "stop
			// here", not "enter".
			if c.Context.Err() != nil {
				return r.interrupted(c.Context, "", p.Name+" is running; run vm-shell to enter it")
			}
			// Exec replaces vmhook: every lock was released when Ensure
			// returned, and limactl's exit code becomes ours.
			return m.Lima.Exec(m.EnterArgs(c.Context, p, cmd), r.environ)
		},
	}}
}

// rawArgs returns the command's arguments as given, to tell "--" apart.
func (r *rt) rawArgs(*cli.Context) []string {
	return r.args
}
