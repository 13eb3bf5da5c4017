package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

// vmFlag is required by the commands that only make sense for a named VM.
var vmFlag = &cli.StringFlag{Name: "vm", Usage: "the named VM (~/.config/vmhook/vms/`NAME`.yaml)", Required: true}

func (r *rt) openNamed(c *cli.Context) (projectvm.Env, *projectvm.Project, error) {
	env, p, err := r.prepare(c, projectvm.Flags{}, false)
	if err != nil {
		return env, nil, err
	}
	if !p.Named {
		return env, nil, fmt.Errorf("%q is a project VM; %s works on named VMs defined in %s", p.Name, c.Command.Name, env.VMDefinition(p.Name))
	}
	return env, p, nil
}

func guestUser(r *rt) string {
	if u := r.getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

func namedCommands(r *rt) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "rebuild",
			Usage: "run a named VM's rebuild command inside it (e.g. nixos-rebuild)",
			Flags: []cli.Flag{vmFlag, &cli.BoolFlag{Name: "restart", Usage: "restart the VM after a successful rebuild"}},
			Action: func(c *cli.Context) error {
				if err := r.refuseStart(); err != nil {
					return err
				}
				env, p, err := r.openNamed(c)
				if err != nil {
					return err
				}
				if p.Settings.Rebuild == "" {
					return fmt.Errorf("%s has no rebuild command; add rebuild: to %s", p.Name, p.SettingsPath)
				}
				m, err := r.manager(env)
				if err != nil {
					return err
				}
				if err := r.ensureRunning(c, m, p, false); err != nil {
					return err
				}
				if err := m.Lima.Attach(c.Context, r.stdin, r.stdout, r.stderr, projectvm.ShellArgs(p, []string{"sh", "-c", p.Settings.Rebuild}, "")...); err != nil {
					var le *projectvm.LimactlError
					if errors.As(err, &le) {
						return &exitError{code: le.Code, msg: fmt.Sprintf("rebuild of %s failed (exit %d)", p.Name, le.Code)}
					}
					return fmt.Errorf("run rebuild in %s: %w", p.Name, err)
				}
				if !c.Bool("restart") {
					return nil
				}
				if err := m.Stop(c.Context, p); err != nil {
					return err
				}
				return r.ensureRunning(c, m, p, false)
			},
		},
		{
			Name:  "autostart",
			Usage: "start a named VM at login (systemd user unit on Linux, launchd agent on macOS)",
			Subcommands: []*cli.Command{
				{Name: "enable", Usage: "install and enable the login item", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "enable") }},
				{Name: "disable", Usage: "disable and remove the login item", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "disable") }},
				{Name: "status", Usage: "say whether the login item is installed", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "status") }},
			},
		},
		{
			Name:  "ssh-config",
			Usage: "print an ssh_config host block for a VM (no Include needed)",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				env, p, err := r.prepare(c, projectvm.Flags{}, false)
				if err != nil {
					return err
				}
				fmt.Fprint(r.stdout, projectvm.NewSSHHost(env, p.Name, guestUser(r)).SSHConfig())
				return nil
			},
		},
		{
			Name:  "wezterm",
			Usage: "print a WezTerm ssh_domains entry for a VM",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				env, p, err := r.prepare(c, projectvm.Flags{}, false)
				if err != nil {
					return err
				}
				fmt.Fprint(r.stdout, projectvm.NewSSHHost(env, p.Name, guestUser(r)).WezTermDomain())
				return nil
			},
		},
	}
}

func (r *rt) autostart(c *cli.Context, action string) error {
	// A login item installed in a guest would start a VM inside it.
	if action == "enable" {
		if err := r.refuseInVM(); err != nil {
			return err
		}
	}
	env, p, err := r.openNamed(c)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find vmhook's own path: %w", err)
	}
	path, content := projectvm.AutostartUnitPath(env, p.Name), projectvm.AutostartUnit(env, self, p.Name)
	unit := "vmhook-" + p.Name + ".service"
	manager := []string{"systemctl", "--user"}
	if runtime.GOOS == "darwin" {
		path, content = projectvm.LaunchAgentPath(env, p.Name), projectvm.LaunchAgent(env, self, p.Name)
		manager = []string{"launchctl"}
	}
	tell := func(args ...string) error {
		if _, err := exec.LookPath(args[0]); err != nil {
			return err
		}
		cmd := exec.CommandContext(c.Context, args[0], args[1:]...)
		cmd.Env = r.environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	domain := "gui/" + strconv.Itoa(os.Getuid())
	switch action {
	case "enable":
		if err := projectvm.WriteFileAtomicPublic(path, []byte(content)); err != nil {
			return err
		}
		var err error
		if runtime.GOOS == "darwin" {
			err = tell(manager[0], "bootstrap", domain, path)
		} else if err = tell(append(manager, "daemon-reload")...); err == nil {
			err = tell(append(manager, "enable", unit)...)
		}
		if err != nil {
			r.say.line("wrote %s, but could not enable it (%v); enable it by hand: systemctl --user enable %s", path, err, unit)
			return nil
		}
		r.say.line("%s starts at login (%s)", p.Name, path)
	case "disable":
		if runtime.GOOS == "darwin" {
			_ = tell(manager[0], "bootout", domain, path)
		} else {
			_ = tell(append(manager, "disable", unit)...)
		}
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		r.say.line("%s no longer starts at login", p.Name)
	case "status":
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(r.stdout, "%s: autostart off\n", p.Name)
			return nil
		}
		fmt.Fprintf(r.stdout, "%s: autostart on (%s)\n", p.Name, path)
	}
	return nil
}
