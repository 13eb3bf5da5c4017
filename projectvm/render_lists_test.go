package projectvm

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRawListsKeepOwnEntries: a raw lima: portForwards or mounts list adds
// to vmhook's own; the catch-all rule stays last and the project mount stays.
func TestRawListsKeepOwnEntries(t *testing.T) {
	p := &Project{Dir: "/srv/app", Name: "app-dev", ConfigPath: "/srv/app/.lima/config.yaml", SettingsPath: "/srv/app/vmhook.yaml", Host: Host{OS: "linux", Arch: "amd64"}}
	p.Settings = Defaults()
	p.Settings.Ports = []int{3000}
	p.Settings.Sockets = []Socket{{Host: "/var/run/docker.sock", Guest: "docker.sock"}, {Host: "/tmp/mux.sock", Guest: "/run/mux.sock", Direction: "to-host"}}
	p.Settings.Lima = map[string]any{
		"portForwards": []any{map[string]any{"guestPort": 8080, "hostPort": 8080}, catchAllRule()},
		"mounts":       []any{map[string]any{"location": "/srv/data"}},
	}
	body, err := p.Render(map[int]int{3000: 3000})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Mounts       []map[string]any `yaml:"mounts"`
		PortForwards []map[string]any `yaml:"portForwards"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc.PortForwards); n != 1+p.configData(nil).ownPortRules() || doc.PortForwards[0]["guestPort"] != 8080 || doc.PortForwards[1]["guestPort"] != 3000 {
		t.Fatalf("portForwards = %v, want the raw rule, then vmhook's, then the catch-all", doc.PortForwards)
	}
	if in := doc.PortForwards[2]; in["hostSocket"] != "/var/run/docker.sock" || in["reverse"] != true {
		t.Errorf("portForwards[2] = %v, want the host socket reached from the guest", in)
	}
	if out := doc.PortForwards[3]; out["guestSocket"] != "/run/mux.sock" || out["hostSocket"] != "/tmp/mux.sock" || out["reverse"] != nil {
		t.Errorf("portForwards[3] = %v, want the guest socket served on the host, without reverse", out)
	}
	if last := normalize(map[string]any(doc.PortForwards[4])); !reflect.DeepEqual(last, normalize(catchAllRule())) {
		t.Errorf("last rule = %v, want the catch-all", last)
	}
	if len(doc.Mounts) != 2 || doc.Mounts[0]["location"] != "/srv/app" || doc.Mounts[1]["location"] != "/srv/data" {
		t.Errorf("mounts = %v, want the project mount, then the raw one", doc.Mounts)
	}
}

func catchAllRule() map[string]any {
	return map[string]any{"guestIP": "0.0.0.0", "guestIPMustBeZero": false, "guestPortRange": []any{1, 65535}, "ignore": true}
}

// TestOwnPortRules: the trust check counts vmhook's port rules from the end
// of portForwards, so the count must be the template's.
func TestOwnPortRules(t *testing.T) {
	for _, ports := range [][]int{nil, {3000}, DefaultPorts} {
		p := &Project{Dir: "/srv/app", Name: "app-dev", ConfigPath: "/srv/app/.lima/config.yaml", SettingsPath: "/srv/app/vmhook.yaml", Host: Host{OS: "linux", Arch: "amd64"}}
		p.Settings = Defaults()
		p.Settings.Ports = ports
		p.Settings.Sockets = []Socket{{Host: "/var/run/docker.sock", Guest: "docker.sock"}}
		body, err := p.Render(nil)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			PortForwards []any `yaml:"portForwards"`
		}
		if err := yaml.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if got, want := len(doc.PortForwards), p.configData(nil).ownPortRules(); got != want {
			t.Errorf("ports %v: the template renders %d rules, ownPortRules says %d", ports, got, want)
		}
	}
}
