package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/internal/hostcfg"
	"github.com/vmhook/vmhook/projectvm"
)

// vmFlag is required by the commands that only make sense for a named VM.
var vmFlag = &cli.StringFlag{Name: "vm", Usage: "the named VM (~/.config/vmhook/vms/`NAME`.yaml)", Required: true}

func (r *rt) openNamed(c *cli.Context) (projectvm.Env, *projectvm.Project, error) {
	env, p, err := r.prepare(callOf(c), projectvm.Flags{}, false)
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
				if err := r.ensureRunning(c.Context, m, p, false); err != nil {
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
				return r.ensureRunning(c.Context, m, p, false)
			},
		},
		{
			Name:  "adopt",
			Usage: "make an existing Lima instance the named VM NAME, writing its definition from the instance if there is none (the instance is left as it is)",
			Flags: []cli.Flag{vmFlag},
			Action: func(c *cli.Context) error {
				env, err := r.env()
				if err != nil {
					return err
				}
				name := c.String("vm")
				m := &projectvm.Manager{Env: env}
				res, err := m.Adopt(c.Context, name)
				if err != nil {
					return err
				}
				switch {
				case res.Wrote:
					r.say.line("wrote %s from the instance's lima.yaml", res.Definition)
					for _, l := range res.Left {
						r.say.line("left the instance's mount of %s out: it would expose ~/.ssh (vmhook up --apply drops it; forwardAgent: true gives the VM your ssh agent)", l)
					}
				case len(res.Differences) == 0:
					r.say.line("%s matches the instance", res.Definition)
				default:
					r.say.line("%s differs from the instance (vmhook up --vm %s --apply brings the definition in):", res.Definition, name)
					for _, d := range res.Differences {
						r.say.line("  %s", d)
					}
				}
				if res.Already {
					r.say.line("%s was already vmhook's named VM", name)
				} else {
					r.say.line("%s is now vmhook's named VM; Lima's instance is unchanged (vmhook release --vm %s gives it back)", name, name)
				}
				return nil
			},
		},
		{
			Name:  "release",
			Usage: "give a named VM back to Lima: remove vmhook's records of it, keeping the instance and its definition",
			Flags: []cli.Flag{vmFlag},
			Action: func(c *cli.Context) error {
				env, err := r.env()
				if err != nil {
					return err
				}
				name := c.String("vm")
				m := &projectvm.Manager{Env: env}
				if err := m.Release(c.Context, name); err != nil {
					return err
				}
				r.say.line("%s is Lima's again: vmhook's records are gone, the instance and %s are kept", name, env.VMDefinition(name))
				return nil
			},
		},
		{
			Name:  "autostart",
			Usage: "start a named VM at login (systemd user unit on Linux, launchd agent on macOS)",
			Subcommands: []*cli.Command{
				{Name: "enable", Usage: "write the login item with your current PATH, LIMACTL, LIMA_HOME and XDG_* dirs, and enable it", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "enable") }},
				{Name: "disable", Usage: "disable and remove the login item (the VM keeps running)", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "disable") }},
				{Name: "status", Usage: "ask the service manager what is in place: file, enabled, loaded, last run", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "status") }},
				{Name: "print", Usage: "print the login item enable would write", Flags: []cli.Flag{vmFlag}, Action: func(c *cli.Context) error { return r.autostart(c, "print") }},
			},
		},
		{
			Name:  "ssh-config",
			Usage: "print an ssh_config host block for a VM (no Include needed)",
			Flags: append([]cli.Flag{aliasFlag}, projectFlags...),
			Action: func(c *cli.Context) error {
				h, err := r.sshHost(c)
				if err != nil {
					return err
				}
				out, err := h.SSHConfig()
				if err != nil {
					return err
				}
				fmt.Fprint(r.stdout, out)
				return nil
			},
		},
		{
			Name:  "wezterm",
			Usage: "print a WezTerm ssh_domains entry for a VM, with a key that opens a tab in it",
			Flags: append([]cli.Flag{aliasFlag}, projectFlags...),
			Action: func(c *cli.Context) error {
				h, err := r.sshHost(c)
				if err != nil {
					return err
				}
				out, err := h.WezTermDomain()
				if err != nil {
					return err
				}
				fmt.Fprint(r.stdout, out)
				return nil
			},
		},
	}
}

// aliasFlag names the ssh host and WezTerm domain when it should differ from
// the VM's name.
var aliasFlag = &cli.StringFlag{Name: "alias", Usage: "call the host (and WezTerm domain) `ALIAS` instead of the VM's name"}

// sshHost describes how an ssh client reaches the VM of c.
func (r *rt) sshHost(c *cli.Context) (hostcfg.SSHHost, error) {
	if a := c.String("alias"); a != "" {
		if err := hostcfg.ValidateAlias(a); err != nil {
			return hostcfg.SSHHost{}, usagef("%v", err)
		}
	}
	env, p, err := r.prepare(callOf(c), projectvm.Flags{}, false)
	if err != nil {
		return hostcfg.SSHHost{}, err
	}
	alias := c.String("alias")
	if alias == "" {
		alias = p.Name
	}
	return hostcfg.SSHHost{
		Alias:        alias,
		Name:         p.Name,
		User:         guestUser(r),
		IdentityFile: env.LimaUserKey(),
		LimaSSHConf:  env.LimaSSHConfig(p.Name),
	}, nil
}

// autostartItem is the login item of the named VM, recording the user's
// environment as it is now.
func (r *rt) autostartItem(env projectvm.Env, name string) (hostcfg.Autostart, error) {
	// The same path the shell hook records: a package manager's link
	// survives upgrades.
	self := r.selfPath()
	if !filepath.IsAbs(self) {
		return hostcfg.Autostart{}, errors.New("cannot find vmhook's own path; run it by its full path")
	}
	path, dropped := hostcfg.CleanPath(r.getenv("PATH"))
	if path == "" {
		return hostcfg.Autostart{}, errors.New("PATH has no absolute directory to record; run enable from a shell whose PATH finds limactl")
	}
	if len(dropped) > 0 {
		r.say.line("leaving PATH entries %q out of the login item: it runs in another directory, and takes only absolute UTF-8 paths", dropped)
	}
	vars := []hostcfg.Var{{Key: "PATH", Value: path}, {Key: "HOME", Value: env.Home}}
	if l := r.getenv("LIMACTL"); l != "" {
		if strings.ContainsRune(l, '/') && !filepath.IsAbs(l) {
			var err error
			if l, err = filepath.Abs(l); err != nil {
				return hostcfg.Autostart{}, fmt.Errorf("resolve LIMACTL: %w", err)
			}
		}
		vars = append(vars, hostcfg.Var{Key: "LIMACTL", Value: l})
	}
	vars = append(vars,
		hostcfg.Var{Key: "LIMA_HOME", Value: env.LimaHome},
		hostcfg.Var{Key: "XDG_CONFIG_HOME", Value: env.ConfigHome},
		hostcfg.Var{Key: "XDG_STATE_HOME", Value: env.StateHome},
	)
	return hostcfg.Autostart{
		Name:       name,
		Self:       self,
		Env:        vars,
		Home:       env.Home,
		ConfigHome: env.ConfigHome,
		LogPath:    env.AutostartLog(name),
	}, nil
}

func (r *rt) autostart(c *cli.Context, action string) error {
	// A login item installed in a guest would start a VM inside it.
	if action == "enable" {
		if err := r.refuseInVM(); err != nil {
			return err
		}
	}
	// Status and disable need only the VM's name and the user's dirs: they
	// must work after the definition is gone, and change nothing else.
	env, err := r.env()
	if err != nil {
		return err
	}
	name := c.String("vm")
	if action == "enable" || action == "print" {
		var p *projectvm.Project
		if env, p, err = r.openNamed(c); err != nil {
			return err
		}
		name = p.Name
	} else if err := hostcfg.CheckName(name); err != nil {
		return usagef("%v", err)
	}
	svc, err := hostcfg.ForOS(runtime.GOOS, hostcfg.ExecRunner{Env: r.environ}, os.Getuid())
	if err != nil {
		return err
	}
	// The environment is recorded (and checked) only when the item is
	// written.
	item := hostcfg.Autostart{
		Name:       name,
		Home:       env.Home,
		ConfigHome: env.ConfigHome,
		LogPath:    env.AutostartLog(name),
	}
	path := svc.Path(item)
	switch action {
	case "print", "enable":
		if item, err = r.autostartItem(env, name); err != nil {
			return err
		}
		content, err := svc.Render(item)
		if err != nil {
			return fmt.Errorf("write the login item of %s: %w", name, err)
		}
		if action == "print" {
			fmt.Fprint(r.stdout, content)
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(item.LogPath), 0o755); err != nil {
			return fmt.Errorf("create %q: %w", filepath.Dir(item.LogPath), err)
		}
		if err := projectvm.WriteFileAtomicPublic(path, []byte(content)); err != nil {
			return err
		}
		if err := svc.Enable(c.Context, item); err != nil {
			return fmt.Errorf("wrote %s, but %w; fix that and run vmhook autostart enable --vm %s again", path, err, name)
		}
		st := svc.Status(c.Context, item)
		if st.Verdict() != "on" {
			return fmt.Errorf("enabled %s with %s, but autostart is not in place: %s; see vmhook autostart status --vm %s", path, svc.Tool(), strings.Join(st.Missing(), "; "), name)
		}
		r.say.line("%s starts at login: %s enabled %s", name, svc.Tool(), path)
		for _, ch := range st.Checks {
			if ch.What == "loaded" && ch.State == hostcfg.Unknown {
				r.say.line("%s could not say whether the item is loaded now: %s; it is read at the next login", svc.Tool(), ch.Detail)
			}
		}
		if runtime.GOOS == "darwin" {
			r.say.line("launchd also starts %s now (RunAtLoad); its output goes to %s", name, item.LogPath)
		}
	case "disable":
		if err := svc.Disable(c.Context, item); err != nil {
			return err
		}
		st := svc.Status(c.Context, item)
		if st.Verdict() != "off" {
			return fmt.Errorf("disabled %s with %s, but some of it is still in place: %s; see vmhook autostart status --vm %s", name, svc.Tool(), strings.Join(st.Present(), "; "), name)
		}
		r.say.line("%s no longer starts at login (a running VM keeps running; vmhook stop --vm %s stops it)", name, name)
	case "status":
		st := svc.Status(c.Context, item)
		fmt.Fprint(r.stdout, st.Report())
		if st.Verdict() == "incomplete" {
			return &exitError{code: exitFailure, msg: fmt.Sprintf("autostart of %s is incomplete: %s; run vmhook autostart enable --vm %s (or disable)", name, strings.Join(st.Missing(), "; "), name)}
		}
	}
	return nil
}
