package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

var _ = register(lifecycleCommands)

// ensureRunning creates or starts the project's VM, with progress.
func (r *rt) ensureRunning(c *cli.Context, m *projectvm.Manager, p *projectvm.Project, apply bool) error {
	ctx, cancel := context.WithTimeout(c.Context, r.lockTimeout())
	defer cancel()
	pr := r.startProgress("starting " + p.Name)
	m.OnPhase = pr.onPhase
	var err error
	if apply {
		err = m.Apply(ctx, p)
	} else {
		err = m.Ensure(ctx, p)
	}
	pr.finish(err == nil, p.Name+" is running")
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, msg: "interrupted; run the command again (or vm-shell) to carry on"}
	}
	return err
}

func lifecycleCommands(r *rt) []*cli.Command {
	up := func(apply bool) cli.ActionFunc {
		return func(c *cli.Context) error {
			if err := r.refuseInEnvrc("start"); err != nil {
				return err
			}
			m, p, err := r.managed(c, flagsFrom(c))
			if err != nil {
				return err
			}
			return r.ensureRunning(c, m, p, apply && c.Bool("apply"))
		}
	}
	return []*cli.Command{
		{
			Name:   "up",
			Usage:  "create the project's VM if needed and start it",
			Flags:  append([]cli.Flag{&cli.BoolFlag{Name: "apply", Usage: "apply a changed config to the existing VM (stops and starts it)"}}, append(projectFlags, settingsFlags...)...),
			Action: up(true),
		},
		{
			Name:   "start",
			Usage:  "start the project's VM (creating it if needed)",
			Flags:  projectFlags,
			Action: up(false),
		},
		{
			Name:  "stop",
			Usage: "stop the project's VM",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				m, p, err := r.managed(c, projectvm.Flags{})
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(c.Context, r.lockTimeout())
				defer cancel()
				return m.Stop(ctx, p)
			},
		},
		{
			Name:  "restart",
			Usage: "stop and start the project's VM",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				if err := r.refuseInEnvrc("start"); err != nil {
					return err
				}
				m, p, err := r.managed(c, projectvm.Flags{})
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(c.Context, r.lockTimeout())
				defer cancel()
				if err := m.Stop(ctx, p); err != nil {
					return err
				}
				return r.ensureRunning(c, m, p, false)
			},
		},
		{
			Name:  "destroy",
			Usage: "delete the project's VM and its disk (the project's files stay)",
			Flags: append([]cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}}, projectFlags...),
			Action: func(c *cli.Context) error {
				m, p, err := r.managed(c, projectvm.Flags{})
				if err != nil {
					return err
				}
				if m.State(p.Name) == projectvm.Absent {
					r.say.line("%s does not exist", p.Name)
					return nil
				}
				if !c.Bool("yes") {
					if !r.interactive() {
						return usagef("refusing to destroy %s without --yes when not on a terminal", p.Name)
					}
					fmt.Fprintf(r.stderr, "Destroy VM %s and its disk? [y/N] ", p.Name)
					answer, _ := bufio.NewReader(r.stdin).ReadString('\n')
					if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
						return &exitError{code: exitFailure, msg: "not destroyed"}
					}
				}
				ctx, cancel := context.WithTimeout(c.Context, r.lockTimeout())
				defer cancel()
				if err := m.Destroy(ctx, p); err != nil {
					return err
				}
				r.say.line("destroyed %s", p.Name)
				return nil
			},
		},
	}
}

// refuseInEnvrc stops anything from starting or entering a VM while direnv
// evaluates an .envrc: direnv captures its output and would hang.
func (r *rt) refuseInEnvrc(what string) error {
	if r.getenv("DIRENV_IN_ENVRC") != "" {
		return fmt.Errorf("refusing to %s a VM from .envrc (direnv would hang); use vm only prepares it, and the shell hook (vmhook init) enters it", what)
	}
	return nil
}
