package detect

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// composeFiles are the names Docker Compose looks for, in its order.
var composeFiles = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

func detectCompose(d *Dir) (App, bool) {
	for _, name := range composeFiles {
		data, ok := d.Read(name)
		if !ok {
			continue
		}
		var doc struct {
			Services map[string]struct {
				Ports []yaml.Node `yaml:"ports"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			d.Note(name, "invalid YAML: %s", firstErrLine(err))
			return App{}, false
		}
		app := App{Stack: "Compose", Dir: d.Rel, Why: d.Path(name)}
		var names []string
		for s := range doc.Services {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			for _, n := range doc.Services[s].Ports {
				if p := composePublished(n); p > 0 {
					app.Ports = append(app.Ports, Port{Port: p, Why: fmt.Sprintf("%s line %d: services.%s.ports publishes %d", d.Path(name), n.Line, clean(s), p)})
				}
			}
		}
		app.Facts = append(app.Facts, d.Path(name)+": the guest needs Docker or nerdctl for it, which these steps do not install (see lima: in vmhook's vm-dev template)")
		if len(app.Ports) == 0 {
			app.ServesNothing = d.Path(name) + ": no service publishes a port"
		}
		return app, true
	}
	return App{}, false
}

// composePublished is the host port of a Compose ports entry: "8080:80",
// "127.0.0.1:5432:5432", {target: 80, published: 8080}. A range
// or an unreadable entry is 0.
func composePublished(n yaml.Node) int {
	switch n.Kind {
	case yaml.ScalarNode:
		v := strings.SplitN(n.Value, "/", 2)[0]
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			return 0 // a container port alone is published on a random one
		}
		p, err := strconv.Atoi(parts[len(parts)-2])
		if err != nil || !validPort(p) {
			return 0
		}
		return p
	case yaml.MappingNode:
		var m struct {
			Published any `yaml:"published"`
		}
		if n.Decode(&m) == nil {
			return portOf(fmt.Sprint(m.Published))
		}
	}
	return 0
}
