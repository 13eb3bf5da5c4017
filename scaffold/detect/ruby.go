package detect

import (
	"fmt"
	"regexp"
	"strings"
)

// gemLine finds a gem of a Gemfile; rubyLine its ruby directive.
var (
	gemLine  = regexp.MustCompile(`(?m)^\s*gem\s+["']([A-Za-z0-9_.-]+)["']`)
	rubyLine = regexp.MustCompile(`(?m)^\s*ruby\s+["']([0-9][0-9.a-z-]*)["']`)
	// pumaPort finds the port of config/puma.rb: `port 3000`,
	// `port ENV.fetch("PORT") { 3000 }`, `port ENV.fetch("PORT", 3000)`,
	// `bind "tcp://0.0.0.0:3000"`.
	pumaPort = regexp.MustCompile(`^\s*(?:port\s+(?:ENV\.fetch\(\s*["']PORT["']\s*(?:,\s*|\)\s*\{\s*)["']?)?(\d{2,5})|bind\s+["']tcp://[^"']*:(\d{2,5})["'])`)
)

func detectRuby(d *Dir) (App, bool) {
	data, ok := d.Read("Gemfile")
	if !ok {
		return App{}, false
	}
	gems := map[string]int{}
	for _, m := range gemLine.FindAllSubmatchIndex(data, -1) {
		gems[string(data[m[2]:m[3]])] = strings.Count(string(data[:m[2]]), "\n") + 1
	}
	app := App{Stack: "Ruby", Dir: d.Rel, Tool: "ruby", Why: d.Path("Gemfile")}
	for _, g := range []string{"rails", "sinatra", "hanami", "jekyll", "roda"} {
		if line, ok := gems[g]; ok {
			app.Why = fmt.Sprintf("%s (gem %s, line %d)", d.Path("Gemfile"), g, line)
			break
		}
	}
	if v, ok := versionFile(d, ".ruby-version"); ok {
		app.Pins = append(app.Pins, Pin{Tool: "ruby", Version: strings.TrimPrefix(v, "ruby-"), Source: d.Path(".ruby-version"), File: d.Path(".ruby-version")})
	} else if m := rubyLine.FindSubmatchIndex(data); m != nil {
		app.Pins = append(app.Pins, Pin{Tool: "ruby", Version: string(data[m[2]:m[3]]), Source: fmt.Sprintf("%s line %d: ruby", d.Path("Gemfile"), strings.Count(string(data[:m[2]]), "\n")+1)})
	}
	inputs := []string{"Gemfile"}
	if d.Has("Gemfile.lock") {
		inputs = []string{"Gemfile.lock", "Gemfile"}
	}
	app.Deps = &Deps{Dir: d.Rel, Manager: "bundler", Inputs: inputs, Run: "bundle install", Tool: "ruby"}

	// Ports: Puma's config (Rails' server is Puma), then the framework's
	// default. Procfile.dev is read by its own detector.
	if cfg, ok := d.Read("config/puma.rb"); ok {
		for i, l := range strings.Split(string(cfg), "\n") {
			if m := pumaPort.FindStringSubmatch(l); m != nil {
				p := portOf(m[1] + m[2])
				if p > 0 {
					app.Ports = append(app.Ports, Port{Port: p, Why: fmt.Sprintf("%s line %d: `%s`", d.Path("config/puma.rb"), i+1, short(strings.TrimSpace(l)))})
					break
				}
			}
		}
	}
	if len(app.Ports) == 0 {
		switch {
		case gems["rails"] > 0:
			app.Ports = append(app.Ports, Port{Port: 3000, Default: true, Why: d.Path("Gemfile") + ": rails server's default port"})
		case gems["jekyll"] > 0:
			app.Ports = append(app.Ports, Port{Port: 4000, Default: true, Why: d.Path("Gemfile") + ": jekyll serve's default port"})
		case gems["sinatra"] > 0 || gems["roda"] > 0 || gems["hanami"] > 0 || d.Has("config.ru"):
			app.Ports = append(app.Ports, Port{Port: 9292, Default: true, Why: "rackup's default port (" + d.Path("config.ru") + ")"})
		default:
			app.ServesNothing = d.Path("Gemfile") + ": no web framework among its gems and no config.ru"
		}
	}
	return app, true
}
