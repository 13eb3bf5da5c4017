package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmhook/vmhook/projectvm"
)

// defaultPorts are the guest ports a project without ports: forwards.
var defaultPorts = []int{3000, 3001, 4000, 4200, 5000, 5173, 8000, 8080, 8888}

func TestListPorts(t *testing.T) {
	moved := func(from int, guests ...int) []projectvm.PortMap {
		var ps []projectvm.PortMap
		for i, g := range guests {
			h := g
			if from != 0 {
				h = from + i
			}
			ps = append(ps, projectvm.PortMap{Guest: g, Host: h})
		}
		return ps
	}
	for _, tc := range []struct {
		name string
		ps   []projectvm.PortMap
		want string
	}{
		{"none", nil, "-"},
		{"one", moved(0, 38123), "38123"},
		{"one moved", moved(20000, 38123), "38123→20000"},
		{"two", moved(0, 3000, 5173), "3000, 5173"},
		{"defaults", moved(0, defaultPorts...), "9 ports"},
		{"defaults moved", moved(20000, defaultPorts...), "9 (9 moved)"},
		{"some moved", append(moved(0, 3000, 3001), moved(20000, 4000, 4200)...), "4 (2 moved)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listPorts(tc.ps)
			if got != tc.want {
				t.Errorf("listPorts = %q, want %q", got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > listPortsWidth {
				t.Errorf("%q is %d columns, more than %d", got, n, listPortsWidth)
			}
		})
	}
}

// TestListFitsIn100Columns: with the default ports, moved to 20000 and up,
// a long hashed name and a project path in the home, list stays within 100
// columns.
func TestListFitsIn100Columns(t *testing.T) {
	const home = "/home/alexandra"
	var ports []projectvm.PortMap
	for i, g := range defaultPorts {
		ports = append(ports, projectvm.PortMap{Guest: g, Host: 20000 + i})
	}
	infos := []projectvm.Info{
		{Name: "customer-portal-frontend-dev-7f14cb4f", State: projectvm.Starting, Ports: ports,
			Project: projectvm.ProjectOwner(home + "/work/acme/customer-portal-frontend")},
		{Name: "api-dev", State: projectvm.Running, Ports: ports[:1], Project: projectvm.ProjectOwner(home + "/work/api")},
		{Name: "nixos", State: projectvm.Stopped, Project: projectvm.NamedOwner(home + "/.config/vmhook/vms/nixos.yaml")},
	}
	var out strings.Builder
	if err := writeList(&out, infos, home); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > 100 {
			t.Errorf("a line of %d columns:\n%s", n, line)
		}
	}
	for _, want := range []string{
		"customer-portal-frontend-dev-7f14cb4f  Starting  9 (9 moved)  ~/work/acme/customer-portal-frontend\n",
		"api-dev                                Running   3000→20000   ~/work/api\n",
		"nixos                                  Stopped   -            ~/.config/vmhook/vms/nixos.yaml\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks the line %q:\n%s", want, out.String())
		}
	}
}
