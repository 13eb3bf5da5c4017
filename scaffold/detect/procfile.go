package detect

import (
	"fmt"
	"strings"
)

// foremanPort is the PORT foreman and overmind give a Procfile's first
// process.
const foremanPort = 5000

func detectProcfile(d *Dir) (App, bool) {
	// Procfile.dev is the development one (bin/dev runs it); a Procfile
	// alone is read when there is no other.
	name := "Procfile.dev"
	data, ok := d.Read(name)
	if !ok {
		name = "Procfile"
		if data, ok = d.Read(name); !ok {
			return App{}, false
		}
	}
	app := App{Stack: "Procfile", Dir: d.Rel, Why: d.Path(name)}
	serves := false
	for i, l := range strings.Split(string(data), "\n") {
		proc, cmd, ok := strings.Cut(l, ":")
		proc = strings.TrimSpace(proc)
		if !ok || proc == "" || strings.HasPrefix(proc, "#") || strings.ContainsAny(proc, " \t") {
			continue
		}
		// $PORT is foreman's: 5000 for the first process.
		cmd = strings.ReplaceAll(strings.ReplaceAll(cmd, "${PORT}", "$PORT"), "$PORT", fmt.Sprint(foremanPort))
		f := analyze(cmd, cmdSource{where: fmt.Sprintf("%s line %d (%s)", d.Path(name), i+1, clean(proc)), dir: d})
		serves = serves || f.serves
		app.Ports = append(app.Ports, f.ports...)
		if !f.serves && proc == "web" {
			app.PortsUnknown = fmt.Sprintf("%s line %d: the web process's port could not be read", d.Path(name), i+1)
		}
	}
	if len(app.Ports) == 0 && app.PortsUnknown == "" {
		app.ServesNothing = d.Path(name) + ": no process runs a known server"
	}
	return app, true
}
