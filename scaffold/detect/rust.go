package detect

import (
	"fmt"
	"regexp"
	"strings"
)

// rustServers are web crates and the port their examples and defaults use.
var rustServers = []struct {
	crate string
	port  int
}{
	{"rocket", 8000}, {"axum", 3000}, {"actix-web", 8080}, {"warp", 3030}, {"poem", 3000},
	{"tide", 8080}, {"salvo", 5800}, {"hyper", 3000}, {"loco-rs", 5150}, {"leptos", 3000},
}

// rustAddr finds a socket address in Rust source: "0.0.0.0:3000",
// ([127, 0, 0, 1], 8080).
var rustAddr = regexp.MustCompile(`"(?:[\d.]+|\[::1?\]|localhost):(\d{2,5})"|\(\[\d+,\s*\d+,\s*\d+,\s*\d+\],\s*(\d{2,5})\)`)

func detectRust(d *Dir) (App, bool) {
	data, ok := d.Read("Cargo.toml")
	if !ok {
		return App{}, false
	}
	secs := tomlSections(data)
	app := App{Stack: "Rust", Dir: d.Rel, Tool: "rust", Why: d.Path("Cargo.toml")}
	for _, f := range []string{"rust-toolchain.toml", "rust-toolchain"} {
		if d.Has(f) {
			app.Facts = append(app.Facts, d.Path(f)+": rustup installs the toolchain it names at the first cargo command")
		}
	}
	inputs := []string{"Cargo.toml"}
	if d.Has("Cargo.lock") {
		inputs = []string{"Cargo.lock", "Cargo.toml"}
	}
	app.Deps = &Deps{Dir: d.Rel, Manager: "cargo", Inputs: inputs, Run: "cargo fetch", Tool: "rust"}
	crate := ""
	for _, s := range rustServers {
		if _, ok := secs["dependencies"][s.crate]; ok {
			crate = s.crate
			app.Why = fmt.Sprintf("%s (%s, line %d)", d.Path("Cargo.toml"), s.crate, lineOf(data, "[dependencies]", s.crate))
			for _, f := range []string{"src/main.rs", "src/bin/server.rs", "src/server.rs"} {
				src, ok := d.Read(f)
				if !ok {
					continue
				}
				if m := rustAddr.FindSubmatchIndex(src); m != nil {
					v := ""
					if m[2] >= 0 {
						v = string(src[m[2]:m[3]])
					} else {
						v = string(src[m[4]:m[5]])
					}
					line := strings.Count(string(src[:m[0]]), "\n") + 1
					app.Ports = []Port{{Port: portOf(v), Why: fmt.Sprintf("%s line %d: `%s`", d.Path(f), line, short(strings.TrimSpace(strings.Split(string(src), "\n")[line-1])))}}
					return app, true
				}
			}
			app.Ports = []Port{{Port: s.port, Default: true, Why: fmt.Sprintf("%s depends on %s and src/main.rs names no address; %d is its usual port", d.Path("Cargo.toml"), s.crate, s.port)}}
			return app, true
		}
	}
	if _, ok := secs["workspace"]; ok && crate == "" {
		app.PortsUnknown = d.Path("Cargo.toml") + " is a workspace; its members' crates were not read"
		return app, true
	}
	app.ServesNothing = d.Path("Cargo.toml") + ": no web server crate among its dependencies"
	return app, true
}
