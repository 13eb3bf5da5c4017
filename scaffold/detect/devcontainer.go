package detect

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// envName is a name the guest environment may take.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func detectDevcontainer(d *Dir) (App, bool) {
	name := ".devcontainer/devcontainer.json"
	data, ok := d.Read(name)
	if !ok {
		name = ".devcontainer.json"
		if data, ok = d.Read(name); !ok {
			return App{}, false
		}
	}
	dc, err := parseJSON(stripJSONC(data))
	if err != nil {
		d.Note(name, "%v", err)
		return App{}, false
	}
	app := App{Stack: "Dev Container", Dir: d.Rel, Why: d.Path(name)}
	where := func(field string) string {
		return fmt.Sprintf("%s %s%s", d.Path(name), field, at(lineOf(data, "", `"`+field+`"`)))
	}
	if img := str(dc, "image"); img != "" {
		app.Facts = append(app.Facts, fmt.Sprintf("%s: %s (vmhook's VM is a Lima VM instead)", where("image"), clean(img)))
	}
	seen := map[int]bool{}
	add := func(p int, why string) {
		if p > 0 && !seen[p] {
			seen[p] = true
			app.Ports = append(app.Ports, Port{Port: p, Why: why})
		}
	}
	if fp, ok := dc["forwardPorts"].([]any); ok {
		for _, v := range fp {
			switch v := v.(type) {
			case json.Number:
				n, _ := v.Int64()
				if validPort(int(n)) {
					add(int(n), where("forwardPorts"))
				}
			case string:
				// "db:5432" is a port of another container of the
				// devcontainer's compose file; "localhost:3000" is ours.
				if h, p, ok := strings.Cut(v, ":"); ok && (h == "localhost" || h == "127.0.0.1") {
					add(portOf(p), where("forwardPorts"))
				}
			}
		}
	}
	switch v := dc["appPort"].(type) {
	case json.Number:
		n, _ := v.Int64()
		if validPort(int(n)) {
			add(int(n), where("appPort"))
		}
	case string:
		add(portOf(v), where("appPort"))
	}
	var keys []string
	for k := range obj(dc, "portsAttributes") {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		label := str(obj(obj(dc, "portsAttributes"), k), "label")
		why := where("portsAttributes")
		if label != "" {
			why += fmt.Sprintf(" (%s)", clean(label))
		}
		add(portOf(k), why)
	}
	for _, field := range []string{"remoteEnv", "containerEnv"} {
		env := strMap(dc, field)
		var names []string
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := env[k]
			switch {
			case !envName.MatchString(k):
				continue
			case strings.Contains(v, "${"):
				// ${localEnv:…} and ${containerWorkspaceFolder} are the
				// devcontainer's, not values vmhook can copy.
				app.Facts = append(app.Facts, fmt.Sprintf("%s: %s is left out: %q needs the devcontainer's substitution", where(field), k, clean(v)))
			default:
				app.Env = append(app.Env, EnvVar{Name: k, Value: v, Why: where(field)})
			}
		}
	}
	for _, field := range []string{"onCreateCommand", "updateContentCommand", "postCreateCommand", "postStartCommand"} {
		for _, c := range devcontainerCommands(dc[field]) {
			app.Setup = append(app.Setup, Setup{Command: c, Why: where(field)})
		}
	}
	return app, true
}

// devcontainerCommands reads a lifecycle command: a string, an array of
// words, or an object of named commands of either kind.
func devcontainerCommands(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		return []string{strings.Join(strs(v), " ")}
	case map[string]any:
		var keys []string
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, devcontainerCommands(v[k])...)
		}
		return out
	}
	return nil
}
