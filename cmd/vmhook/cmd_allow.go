package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

// openForConsent opens the project as the commands that use its config do,
// with the flags `use vm` last remembered, so what is allowed is exactly
// what `use vm` and `up` will ask for.
func (r *rt) openForConsent(c *cli.Context) (projectvm.Env, *projectvm.Project, error) {
	env, err := r.env()
	if err != nil {
		return env, nil, err
	}
	// nil: with the flags remembered from `use vm`.
	p, err := r.openProject(callOf(c), env, nil)
	if err != nil {
		return env, nil, err
	}
	return env, p, nil
}

func allowCommands(r *rt) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "allow",
			Usage: "allow what the project asks for on the host (mounts outside it, host sockets, ssh agent, …), as it asks now",
			Description: "Lists each thing granted on its own line and records it for the project's real directory.\n" +
				"A later change of what the project asks for needs vmhook allow again; vmhook deny revokes it.",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				env, p, err := r.openForConsent(c)
				if err != nil {
					return err
				}
				granted, err := projectvm.Allow(env, p)
				if err != nil {
					return err
				}
				if len(granted) == 0 {
					r.say.line("%s asks for nothing beyond its own directory; nothing to allow", p.Dir)
					return nil
				}
				r.say.line("allowed for %s:", p.Dir)
				for _, g := range granted {
					fmt.Fprintf(r.stderr, "  %s\n", g)
				}
				return nil
			},
		},
		{
			Name:    "deny",
			Aliases: []string{"revoke"},
			Usage:   "revoke what vmhook allow granted the project",
			Flags:   projectFlags,
			Action: func(c *cli.Context) error {
				env, p, err := r.openForConsent(c)
				if err != nil {
					return err
				}
				revoked, err := projectvm.Deny(env, p)
				if err != nil {
					return err
				}
				if !revoked {
					r.say.line("nothing was allowed for %s", p.Dir)
					return nil
				}
				r.say.line("revoked what was allowed for %s", p.Dir)
				return nil
			},
		},
	}
}
