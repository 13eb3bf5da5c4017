package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

// ensureRunning creates or starts the project's VM, with progress. Waiting
// for another vmhook is bounded by the Manager's lock time-out, each create
// and start by limactl's start time-out, and all of it by a signal. Where
// the guest ports went is said once per start, after the progress, unless
// the run's stderr is a command's.
func (r *rt) ensureRunning(ctx context.Context, m *projectvm.Manager, p *projectvm.Project, apply bool) error {
	// Every verb that starts a VM comes through here: refusing here as well
	// keeps one that forgot to check first from starting a VM in a VM.
	if err := r.refuseStart(); err != nil {
		return err
	}
	pr := r.startProgress("starting " + p.Name)
	m.OnPhase = pr.onPhase
	var ports string
	m.OnStarted = func(line string) {
		// A run that started the VM is no steady entry to repeat.
		r.busy.Store(true)
		ports = line
	}
	var err error
	if apply {
		err = m.Apply(ctx, p)
	} else {
		err = m.Ensure(ctx, p)
	}
	pr.finish(err == nil, p.Name+" is running")
	if err == nil && ports != "" && !r.command {
		r.say.line("%s", ports)
	}
	if err != nil && signalOf(ctx) != nil {
		return r.interrupted(ctx, "while starting "+p.Name, "run vmhook up (or vm-shell) to carry on")
	}
	return err
}

func lifecycleCommands(r *rt) []*cli.Command {
	up := func(apply bool) cli.ActionFunc {
		return func(c *cli.Context) error {
			if err := r.refuseStart(); err != nil {
				return err
			}
			m, p, err := r.managed(callOf(c), flagsFrom(c))
			if err != nil {
				return err
			}
			return r.ensureRunning(c.Context, m, p, apply && c.Bool("apply"))
		}
	}
	return []*cli.Command{
		{
			Name:  "up",
			Usage: "create the project's VM if needed and start it",
			Description: "Waits at most VMHOOK_LOCK_TIMEOUT (default 15m) for another vmhook busy with the\n" +
				"same VM; each limactl create and start may take VMHOOK_START_TIMEOUT (default 15m).\n" +
				"Ctrl-C stops limactl (SIGINT, then SIGTERM, then SIGKILL) and frees the VM's lock.",
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
				m, p, err := r.managed(callOf(c), projectvm.Flags{})
				if err != nil {
					return err
				}
				return m.Stop(c.Context, p)
			},
		},
		{
			Name:  "restart",
			Usage: "stop and start the project's VM",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				if err := r.refuseStart(); err != nil {
					return err
				}
				m, p, err := r.managed(callOf(c), projectvm.Flags{})
				if err != nil {
					return err
				}
				if err := m.Stop(c.Context, p); err != nil {
					return err
				}
				return r.ensureRunning(c.Context, m, p, false)
			},
		},
		{
			Name:  "provision",
			Usage: "run the project's once-per-VM provision steps again (starting the VM if needed)",
			Description: "Steps with when: once run at the VM's first boot and are skipped at later boots (a\n" +
				"marker in the guest records them); this removes the markers and runs those steps now,\n" +
				"in order. Steps with when: boot run at every boot and are left to the next one.",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				m, p, err := r.managed(callOf(c), projectvm.Flags{})
				if err != nil {
					return err
				}
				if err := r.ensureRunning(c.Context, m, p, false); err != nil {
					return err
				}
				if err := m.Provision(c.Context, p, r.stdout, r.stderr); err != nil {
					return err
				}
				r.say.line("provisioned %s", p.Name)
				return nil
			},
		},
		{
			Name:  "destroy",
			Usage: "delete the project's VM and its disk (the project's files stay; a named VM's data disk too, unless --data)",
			Flags: append([]cli.Flag{
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
				&cli.BoolFlag{Name: "data", Usage: "also delete the named VM's data disk, which is kept otherwise"},
			}, projectFlags...),
			Action: func(c *cli.Context) error {
				m, p, err := r.managed(callOf(c), projectvm.Flags{})
				if err != nil {
					return err
				}
				withData := c.Bool("data")
				if withData && !p.Named {
					return usagef("--data deletes a named VM's data disk; %s is a project VM, which has none", p.Name)
				}
				if withData {
					if err := m.CheckDataDiskDeletable(p); err != nil {
						return err
					}
				}
				disk, _ := m.DataDiskOf(p)
				hasDisk := disk.Exists && disk.Ours
				absent := m.State(p.Name) == projectvm.Absent
				if absent && !(withData && hasDisk) {
					r.say.line("%s does not exist", p.Name)
					if hasDisk {
						r.say.line("its data disk %s is kept; vmhook destroy --vm %s --data deletes it", disk.Disk, p.Name)
					}
					return nil
				}
				what := "VM " + p.Name + " and its disk"
				if absent {
					what = "the data disk " + disk.Disk + " of " + p.Name
				} else if withData && hasDisk {
					what += " and its data disk " + disk.Disk
				}
				if !c.Bool("yes") {
					if !r.interactive() {
						return usagef("refusing to destroy %s without --yes when not on a terminal", p.Name)
					}
					fmt.Fprintf(r.stderr, "Destroy %s? [y/N] ", what)
					answer, ok := r.readLine(c.Context)
					if !ok {
						fmt.Fprintln(r.stderr)
						return r.interrupted(c.Context, "", p.Name+" not destroyed")
					}
					if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
						return &exitError{code: exitFailure, msg: "not destroyed"}
					}
				}
				if !absent {
					if err := m.Destroy(c.Context, p); err != nil {
						return err
					}
					r.say.line("destroyed %s", p.Name)
				}
				switch {
				case withData && hasDisk:
					if _, err := m.DeleteDataDisk(c.Context, p); err != nil {
						return err
					}
					r.say.line("deleted data disk %s", disk.Disk)
				case hasDisk:
					r.say.line("kept data disk %s: vmhook up --vm %s finds its data again (destroy --data deletes it)", disk.Disk, p.Name)
				}
				return nil
			},
		},
	}
}

// readLine reads one line of the user's answer; a signal ends the wait
// (ok false).
func (r *rt) readLine(ctx context.Context) (answer string, ok bool) {
	got := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(r.stdin).ReadString('\n')
		got <- answer
	}()
	select {
	case answer := <-got:
		return answer, true
	case <-ctx.Done():
		return "", false
	}
}

// interrupted is the one line for a run a signal ended: what was going on
// (during, may be empty) and what to do or what became of it (next).
func (r *rt) interrupted(ctx context.Context, during, next string) error {
	s := signalOf(ctx)
	if s == nil {
		return fmt.Errorf("%s: %w", next, context.Cause(ctx))
	}
	msg := s.verb()
	if during != "" {
		msg += " " + during
	}
	return &exitError{code: s.code(), msg: msg + "; " + next}
}

// refuseStart stops anything from starting, creating or entering a VM
// inside a VM or from an .envrc.
func (r *rt) refuseStart() error {
	if err := r.refuseInVM(); err != nil {
		return err
	}
	return r.refuseInEnvrc("start")
}

// refuseInVM stops anything from starting, creating or entering a VM inside
// a VM: SYSINIT_IN_VM is set in every guest, and on the limactl shell
// command line.
func (r *rt) refuseInVM() error {
	if r.getenv("SYSINIT_IN_VM") != "" {
		where := r.getenv("VMHOOK_VM")
		if where == "" {
			where = "a VM"
		}
		return fmt.Errorf("already inside %s (SYSINIT_IN_VM is set); vmhook does not start or enter a VM from inside one", where)
	}
	return nil
}

// refuseInEnvrc stops anything from starting or entering a VM while direnv
// evaluates an .envrc: direnv captures its output and would hang.
func (r *rt) refuseInEnvrc(what string) error {
	if r.getenv("DIRENV_IN_ENVRC") != "" {
		return fmt.Errorf("refusing to %s a VM from .envrc (direnv would hang); use vm only prepares it, and the shell hook (vmhook init) enters it", what)
	}
	return nil
}
