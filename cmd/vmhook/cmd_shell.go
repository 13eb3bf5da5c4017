package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/projectvm"
)

func shellCommands(r *rt) []*cli.Command {
	return []*cli.Command{{
		Name:      "shell",
		Aliases:   []string{"enter"},
		Usage:     "enter the project's VM where you stand in the project (starting it if needed)",
		ArgsUsage: "[-- CMD ARGS…]",
		Description: "On a terminal, opens your login shell in the VM. With -- CMD ARGS…, runs CMD in the VM\n" +
			"without needing a terminal, and exits with its exit code. Either starts in the directory you\n" +
			"stand in when it is in the project (mounted at the same path), else at the project directory.",
		Flags: projectFlags,
		Action: func(c *cli.Context) error {
			return r.shell(callOf(c), flagsFrom(c), c.Args().Slice())
		},
	}}
}

// shell is the shell command: it enters the project's VM, or runs cmd in
// it, starting the VM first if needed. Main reaches it through shellFast
// too.
func (r *rt) shell(cl call, flags projectvm.Flags, cmd []string) error {
	if len(cmd) > 0 && !slices.Contains(r.args, "--") {
		return usagef("put the command after --, as in: vmhook shell -- %s", cmd[0])
	}
	r.forgetEntry(cl, cmd)
	if err := r.refuseInVM(); err != nil {
		return err
	}
	if err := r.refuseInEnvrc("enter"); err != nil {
		return err
	}
	if len(cmd) == 0 && !r.interactive() {
		return fmt.Errorf("not on a terminal, so not opening an interactive shell; run a command with vmhook shell -- CMD")
	}
	m, p, err := r.managed(cl, flags)
	if err != nil {
		return err
	}
	r.command = len(cmd) > 0
	if err := r.ensureRunning(cl.ctx, m, p, false); err != nil {
		return err
	}
	// A Ctrl-C that came as the start ended still means "stop
	// here", not "enter".
	if cl.ctx.Err() != nil {
		return r.interrupted(cl.ctx, "", p.Name+" is running; run vm-shell to enter it")
	}
	// You land where you stand: the project is mounted at the same path.
	p.Workdir = entry.Workdir(p.Dir, "")
	said, err := m.WriteGuestEnv(p, r.environ)
	if err != nil {
		return err
	}
	for _, l := range said {
		r.say.line("%s: %s", p.Name, l)
		r.saidOnce = true
	}
	args := m.EnterArgs(cl.ctx, p, cmd)
	r.recordEntry(cl, m, p, cmd, args)
	// Exec replaces vmhook: every lock was released when Ensure
	// returned, and limactl's exit code becomes ours.
	return m.Lima.Exec(args, r.environ)
}
