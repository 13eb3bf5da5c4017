package main

import "strings"

// shellFast recognises the runs of the shell command that the prompt hook
// and vm-shell make, `vmhook shell|enter [--project DIR] [--vm NAME]
// [-- CMD ARGS…]`, and returns what the command would read of them, so that
// Main can run it without building the CLI: entering a running VM is the
// one run that happens at a prompt, and on it urfave/cli's set-up cost
// about as much as the decision. Anything else (help, other spellings,
// repeated, empty or dash-led values, arguments without --) is not
// recognised and goes through urfave/cli.
func shellFast(args []string) (cl call, cmd []string, ok bool) {
	if len(args) < 2 || (args[1] != "shell" && args[1] != "enter") {
		return call{}, nil, false
	}
	cl.command = "shell" // as urfave/cli names the command for its alias too
	rest := args[2:]
	for len(rest) > 0 {
		if rest[0] == "--" {
			return cl, rest[1:], true
		}
		name, value, inline := strings.Cut(rest[0], "=")
		var dst *string
		switch name {
		case "--project", "-p":
			dst = &cl.project
		case "--vm":
			dst = &cl.vm
		default:
			return call{}, nil, false
		}
		if inline {
			rest = rest[1:]
		} else {
			if len(rest) < 2 {
				return call{}, nil, false
			}
			value, rest = rest[1], rest[2:]
		}
		if *dst != "" || value == "" || strings.HasPrefix(value, "-") {
			return call{}, nil, false
		}
		*dst = value
	}
	return cl, nil, true
}
