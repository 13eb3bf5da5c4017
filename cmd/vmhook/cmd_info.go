package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/vmhook/vmhook/projectvm"
)

func formatPorts(ps []projectvm.PortMap) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d→127.0.0.1:%d", p.Guest, p.Host))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

// listPortsWidth is the most columns list gives a VM's ports: with a long
// hashed name and a project path in the home, a line stays within 100.
const listPortsWidth = 12

// listPorts is a VM's ports as list shows them: each guest port, with its
// host port when that is another number (every forward is on 127.0.0.1),
// or, when that would take more than listPortsWidth columns, how many ("9
// ports", "9 (4 moved)"); vmhook status shows each.
func listPorts(ps []projectvm.PortMap) string {
	if len(ps) == 0 {
		return "-"
	}
	var each []string
	moved := 0
	for _, p := range ps {
		if p.Host == p.Guest {
			each = append(each, fmt.Sprint(p.Guest))
			continue
		}
		moved++
		each = append(each, fmt.Sprintf("%d→%d", p.Guest, p.Host))
	}
	if s := strings.Join(each, ", "); utf8.RuneCountInString(s) <= listPortsWidth {
		return s
	}
	if moved == 0 {
		return fmt.Sprintf("%d ports", len(ps))
	}
	return fmt.Sprintf("%d (%d moved)", len(ps), moved)
}

// homePath is path with the home directory shown as ~, as people read it.
func homePath(home, path string) string {
	if rest, ok := strings.CutPrefix(path, home+"/"); ok && home != "" && home != "/" {
		return "~/" + rest
	}
	return path
}

// writeList prints the table of list: one VM a line, its project last.
func writeList(out io.Writer, infos []projectvm.Info, home string) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATUS\tPORTS\tPROJECT")
	for _, in := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", in.Name, in.State, listPorts(in.Ports), homePath(home, in.Project.String()))
	}
	return w.Flush()
}

// formatData says where a named VM's data is and what becomes of it.
func formatData(d *projectvm.DataDiskState) string {
	switch {
	case d.Path == "":
		return fmt.Sprintf("disk %s, no longer in the definition (not attached at the next vmhook up --apply; vmhook destroy --data deletes it)", d.Disk)
	case !d.Exists:
		return fmt.Sprintf("disk %s (%s) at %s, created at the next vmhook up", d.Disk, d.Size, d.Path)
	case !d.Ours:
		return fmt.Sprintf("disk %s exists but vmhook did not create it for this VM; up refuses to attach it", d.Disk)
	}
	return fmt.Sprintf("disk %s at %s, kept when the VM is destroyed (destroy --data deletes it)", d.Disk, d.Path)
}

func infoCommands(r *rt) []*cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return []*cli.Command{
		{
			Name:  "status",
			Usage: "show the project's VM: state, ports, config drift",
			Flags: append([]cli.Flag{jsonFlag}, projectFlags...),
			Action: func(c *cli.Context) error {
				env, p, err := r.prepare(callOf(c), projectvm.Flags{}, false)
				if err != nil {
					return err
				}
				m := &projectvm.Manager{Env: env}
				in := m.Info(p)
				if c.Bool("json") {
					enc := json.NewEncoder(r.stdout)
					enc.SetEscapeHTML(false) // "destroy && up" reads as typed
					return enc.Encode(in)
				}
				w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "name:\t%s\n", in.Name)
				if in.NotOurs != "" {
					fmt.Fprintf(w, "owner:\t%s\n", in.NotOurs)
					fmt.Fprintf(w, "status:\t%s\n", in.State)
					if in.Project.IsZero() && p.Named {
						fmt.Fprintf(w, "note:\tvmhook adopt --vm %s takes it over\n", p.Name)
					}
					return w.Flush()
				}
				fmt.Fprintf(w, "project:\t%s\n", in.Project)
				fmt.Fprintf(w, "status:\t%s\n", in.State)
				fmt.Fprintf(w, "ports:\t%s\n", formatPorts(in.Ports))
				fmt.Fprintf(w, "config:\t%s\n", in.Config)
				if d := in.Data; d != nil {
					fmt.Fprintf(w, "data:\t%s\n", formatData(d))
				}
				if in.HandEdit {
					fmt.Fprintf(w, "note:\tconfig edited by hand; vmhook leaves it alone\n")
				}
				if in.Drift != "" {
					fmt.Fprintf(w, "drift:\t%s; run %s\n", in.Drift, in.Fix)
				}
				return w.Flush()
			},
		},
		{
			Name:        "list",
			Usage:       "list every VM vmhook created",
			Description: "PORTS lists each guest port, with its host port where that is another number, or, when\nthey are many, how many and how many moved; vmhook status shows every forward.",
			Flags:       []cli.Flag{jsonFlag},
			Action: func(c *cli.Context) error {
				env, err := r.env()
				if err != nil {
					return err
				}
				m := &projectvm.Manager{Env: env}
				infos, err := m.List()
				if err != nil {
					return err
				}
				if c.Bool("json") {
					enc := json.NewEncoder(r.stdout)
					enc.SetEscapeHTML(false)
					for _, in := range infos {
						if err := enc.Encode(in); err != nil {
							return err
						}
					}
					return nil
				}
				return writeList(r.stdout, infos, env.Home)
			},
		},
		{
			Name:  "name",
			Usage: "print the project's VM name",
			Flags: projectFlags,
			Action: func(c *cli.Context) error {
				env, err := r.env()
				if err != nil {
					return err
				}
				p, err := r.openProject(callOf(c), env, projectvm.Flags{})
				if err != nil {
					return err
				}
				fmt.Fprintln(r.stdout, p.Name)
				return nil
			},
		},
		{
			Name:  "config",
			Usage: "generate the project's .lima/config.yaml (and print it with --print)",
			Flags: append([]cli.Flag{&cli.BoolFlag{Name: "print", Usage: "print the config on stdout"}}, append(projectFlags, settingsFlags...)...),
			Action: func(c *cli.Context) error {
				_, p, err := r.prepare(callOf(c), flagsFrom(c), true)
				if err != nil {
					return err
				}
				if !c.Bool("print") {
					fmt.Fprintln(r.stdout, p.ConfigPath)
					return nil
				}
				data, err := os.ReadFile(p.ConfigPath)
				if err != nil {
					return fmt.Errorf("read config: %w", err)
				}
				_, err = r.stdout.Write(data)
				return err
			},
		},
		{
			Name:  "version",
			Usage: "print vmhook's version",
			Action: func(c *cli.Context) error {
				fmt.Fprintf(r.stdout, "vmhook %s\n", projectvm.Version)
				return nil
			},
		},
	}
}
