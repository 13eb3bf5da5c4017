package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/hook"
	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/stdlib"
)

func hookCommands(r *rt) []*cli.Command {
	shells := strings.Join(hook.Shells, "|")
	return []*cli.Command{
		{
			Name:      "init",
			Usage:     "print the shell hook that enters the project's VM at the prompt",
			ArgsUsage: shells,
			Description: "Load it after direnv's hook:\n" +
				"  ~/.bashrc:                   eval \"$(vmhook init bash)\"\n" +
				"  ~/.zshrc:                    eval \"$(vmhook init zsh)\"\n" +
				"  ~/.config/fish/config.fish:  vmhook init fish | source\n" +
				"It also defines vm-shell, vm-start, vm-stop, vm-status and vm-destroy.\n" +
				"Set SYSINIT_NO_AUTO_VM=1 to keep it from entering VMs by itself.",
			Action: func(c *cli.Context) error {
				shell, err := shellArg(c, hook.Shells)
				if err != nil {
					return err
				}
				out, err := hook.Render(shell, r.selfPath(), enterPath(r.selfPath()))
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(r.stdout, out)
				return err
			},
		},
		{
			Name:  "stdlib",
			Usage: "print the direnv extension that defines `use vm`",
			Description: "Install it where direnv loads extensions from:\n" +
				"  mkdir -p ~/.config/direnv/lib\n" +
				"  vmhook stdlib > ~/.config/direnv/lib/vmhook.sh",
			Action: func(c *cli.Context) error {
				if c.Args().Len() > 0 {
					return usagef("vmhook stdlib takes no arguments")
				}
				_, err := fmt.Fprint(r.stdout, stdlib.Render(r.selfPath()))
				return err
			},
		},
		{
			Name:      "completion",
			Usage:     "print the shell completion script",
			ArgsUsage: shells,
			Description: "  ~/.bashrc:  eval \"$(vmhook completion bash)\"\n" +
				"  ~/.zshrc:   eval \"$(vmhook completion zsh)\"   (after compinit)\n" +
				"  fish:       vmhook completion fish > ~/.config/fish/completions/vmhook.fish",
			Action: func(c *cli.Context) error {
				shell, err := shellArg(c, hook.Shells)
				if err != nil {
					return err
				}
				var out string
				if shell == "fish" {
					// Generated from the command definitions, so it never
					// lags behind them.
					out, err = c.App.ToFishCompletion()
				} else {
					out, err = hook.Completion(shell, r.selfPath())
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(r.stdout, out)
				return err
			},
		},
	}
}

// shellArg returns the single shell argument, one of valid.
func shellArg(c *cli.Context, valid []string) (string, error) {
	list := strings.Join(valid, ", ")
	if c.Args().Len() != 1 {
		return "", usagef("name one shell: vmhook %s %s", c.Command.Name, strings.Join(valid, "|"))
	}
	shell := c.Args().First()
	for _, s := range valid {
		if shell == s {
			return shell, nil
		}
	}
	return "", usagef("unknown shell %q; vmhook %s supports %s", shell, c.Command.Name, list)
}

// selfPath is the vmhook the hook and the direnv extension call. The name
// vmhook was run by wins when it leads to this very binary: a package
// manager's link (~/.nix-profile/bin/vmhook, /opt/homebrew/bin/vmhook)
// survives upgrades, while the running binary's own path may be a versioned
// location that an upgrade removes.
func (r *rt) selfPath() string {
	exe, err := os.Executable()
	if err != nil {
		// The hook then runs whatever vmhook is on PATH.
		return "vmhook"
	}
	if len(r.args) > 0 {
		arg0 := r.args[0]
		if !strings.Contains(arg0, "/") {
			arg0, _ = entry.LookPath(arg0, r.getenv("PATH"))
		}
		if arg0 != "" {
			if abs, err := filepath.Abs(arg0); err == nil && sameFile(abs, exe) {
				return abs
			}
		}
	}
	return exe
}

// enterPath is the vmhook-enter installed beside the vmhook at self, or ""
// when there is none (the hook then enters through vmhook shell).
func enterPath(self string) string {
	if p := filepath.Join(filepath.Dir(self), "vmhook-enter"); entry.Executable(p) {
		return p
	}
	return ""
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
