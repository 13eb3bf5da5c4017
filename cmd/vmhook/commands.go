package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// commandGroups are vmhook's commands as `vmhook --help` shows them: in
// the order a user meets them, group by group. (The headings are for this
// list only: urfave/cli sorts categories by name, which would undo the
// order.) Every command defined in the cmd_*.go files is listed here once;
// commands panics otherwise, which every test of the CLI would show.
var commandGroups = []struct {
	heading string
	names   []string
}{
	{"Work in the project's VM", []string{"shell", "up", "start", "stop", "restart", "provision", "status", "destroy", "list"}},
	{"Projects", []string{"new", "templates", "config", "name", "allow", "deny"}},
	{"Named VMs", []string{"adopt", "release", "rebuild", "autostart", "ssh-config", "wezterm"}},
	{"Set up", []string{"init", "stdlib", "completion", "doctor", "version"}},
	{"", []string{"use"}}, // hidden: run by direnv's `use vm`
}

// commandSets are the functions, one a file, that define the commands.
var commandSets = []func(r *rt) []*cli.Command{
	shellCommands, lifecycleCommands, infoCommands, newCommands, allowCommands,
	namedCommands, hookCommands, doctorCommands, useCommands,
}

// commands returns every command in commandGroups' order.
func commands(r *rt) []*cli.Command {
	byName := map[string]*cli.Command{}
	for _, set := range commandSets {
		for _, c := range set(r) {
			byName[c.Name] = c
		}
	}
	var out []*cli.Command
	for _, g := range commandGroups {
		for _, name := range g.names {
			c, ok := byName[name]
			if !ok {
				panic(fmt.Sprintf("command %q is listed but not defined", name))
			}
			out = append(out, c)
			delete(byName, name)
		}
	}
	for name := range byName {
		panic(fmt.Sprintf("command %q is defined but not listed in commandGroups", name))
	}
	return out
}
