package detect

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeLock is a lockfile of Node's, the manager that reads it, the
// command that installs from it and the toolchain that command needs.
type nodeLock struct{ file, manager, run, tool string }

// nodeLockfiles are the lockfiles of Node's package managers, in the order
// they are preferred when a directory has more than one.
var nodeLockfiles = []nodeLock{
	{"pnpm-lock.yaml", "pnpm", "corepack enable --install-directory \"$HOME/.local/bin\" pnpm 2>/dev/null || npm install -g --prefix \"$HOME/.local\" pnpm\npnpm install --frozen-lockfile", "node"},
	{"yarn.lock", "yarn", "corepack enable --install-directory \"$HOME/.local/bin\" yarn 2>/dev/null || npm install -g --prefix \"$HOME/.local\" yarn\nyarn install --frozen-lockfile", "node"},
	{"bun.lock", "bun", "bun install --frozen-lockfile", "bun"},
	{"bun.lockb", "bun", "bun install --frozen-lockfile", "bun"},
	{"package-lock.json", "npm", "npm ci", "node"},
	{"npm-shrinkwrap.json", "npm", "npm ci", "node"},
}

// nodeLockfile finds the lockfile of d, and its manager.
func nodeLockfile(d *Dir) (string, nodeLock) {
	for _, l := range nodeLockfiles {
		if d.Has(l.file) {
			return l.file, l
		}
	}
	return "", nodeLock{}
}

// nodeServers are dependencies that serve on a port of their own choosing
// when no script or file says which: the framework and its usual port.
var nodeServers = []struct {
	dep, name string
	port      int
}{
	{"next", "Next.js", 3000}, {"nuxt", "Nuxt", 3000}, {"@remix-run/dev", "Remix", 3000},
	{"astro", "Astro", 4321}, {"@angular/core", "Angular", 4200}, {"vite", "Vite", 5173},
	{"@sveltejs/kit", "SvelteKit", 5173}, {"gatsby", "Gatsby", 8000}, {"@nestjs/core", "NestJS", 3000},
	{"express", "Express", 3000}, {"fastify", "Fastify", 3000}, {"koa", "Koa", 3000},
	{"hono", "Hono", 3000}, {"@hapi/hapi", "hapi", 3000},
}

// devScripts are the package.json scripts that start a dev server, in the
// order they are looked at.
var devScripts = []string{"dev", "start", "serve", "develop", "start:dev"}

func detectNode(d *Dir) (App, bool) {
	data, ok := d.Read("package.json")
	if !ok {
		return App{}, false
	}
	pkg, err := parseJSON(data)
	if err != nil {
		d.Note("package.json", "%v", err)
		return App{}, false
	}
	app := App{Stack: "Node.js", Dir: d.Rel, Tool: "node"}
	deps := map[string]string{}
	for _, k := range []string{"devDependencies", "dependencies"} {
		for n, v := range strMap(pkg, k) {
			deps[n] = v
		}
	}
	why := d.Path("package.json")
	for _, s := range nodeServers {
		if v, ok := deps[s.dep]; ok {
			why += fmt.Sprintf(" (%s %s)", s.dep, clean(v))
			break
		}
	}
	app.Why = why

	// Where the dependencies are installed: the lockfile's manager, or npm;
	// a workspace's by the root's.
	switch lock, l := nodeLockfile(d); {
	case d.Member:
	case lock == "":
		app.Deps = &Deps{Dir: d.Rel, Manager: "npm", Inputs: []string{"package.json"}, Run: "npm install", Tool: "node"}
		app.Facts = append(app.Facts, d.Path("package.json")+" has no lockfile beside it, so dependencies are installed with npm install")
	default:
		app.Deps = &Deps{Dir: d.Rel, Manager: l.manager, Inputs: []string{lock, "package.json"}, Run: l.run, Tool: l.tool}
		app.Tool = l.tool
		app.Facts = append(app.Facts, fmt.Sprintf("%s: dependencies installed with %s", d.Path(lock), l.manager))
	}
	if pm := str(pkg, "packageManager"); pm != "" {
		app.Facts = append(app.Facts, fmt.Sprintf("%s packageManager: %s (corepack installs it)", d.Path("package.json"), clean(pm)))
	}

	// Pins: the version files mise reads itself, then engines and volta.
	for _, f := range []string{".nvmrc", ".node-version"} {
		if v, ok := versionFile(d, f); ok {
			app.Pins = append(app.Pins, Pin{Tool: "node", Version: v, Source: d.Path(f), File: d.Path(f)})
		}
	}
	if v := str(obj(pkg, "volta"), "node"); v != "" && versionLike.MatchString(v) {
		app.Pins = append(app.Pins, Pin{Tool: "node", Version: v, Source: d.Path("package.json") + " volta.node"})
	}
	if e := str(obj(pkg, "engines"), "node"); e != "" {
		if v := majorOf(e); v != "" {
			app.Pins = append(app.Pins, Pin{Tool: "node", Version: v, Source: fmt.Sprintf("%s engines.node %q%s", d.Path("package.json"), clean(e), at(lineOf(data, `"engines"`, `"node"`)))})
		}
	}

	// Workspaces: npm's and yarn's in package.json, pnpm's in its own file.
	switch w := pkg["workspaces"].(type) {
	case []any:
		app.Workspaces = append(app.Workspaces, strs(w)...)
	case map[string]any:
		if p, ok := w["packages"].([]any); ok {
			app.Workspaces = append(app.Workspaces, strs(p)...)
		}
	}
	if ws, ok := d.Read("pnpm-workspace.yaml"); ok {
		var doc struct {
			Packages []string `yaml:"packages"`
		}
		if err := yaml.Unmarshal(ws, &doc); err != nil {
			d.Note("pnpm-workspace.yaml", "invalid YAML: %v", firstErrLine(err))
		}
		app.Workspaces = append(app.Workspaces, doc.Packages...)
	}
	if len(app.Workspaces) > 0 {
		app.Facts = append(app.Facts, fmt.Sprintf("%s workspaces: %s", d.Path("package.json"), clean(strings.Join(app.Workspaces, ", "))))
	}

	// Ports: the dev scripts, then the files they start, then the config
	// of the framework they run, then the framework's default.
	scripts := strMap(pkg, "scripts")
	src := cmdSource{
		scripts: scripts,
		scriptWhere: func(name string) string {
			return fmt.Sprintf("%s scripts.%s%s", d.Path("package.json"), clean(name), at(lineOf(data, `"scripts"`, fmt.Sprintf("%q", name))))
		},
		dir: d,
	}
	var found cmdFindings
	for _, name := range devScripts {
		body, ok := scripts[name]
		if !ok {
			continue
		}
		src.where = src.scriptWhere(name)
		found = analyze(body, src)
		if found.serves {
			break
		}
	}
	app.Ports = append(app.Ports, found.ports...)
	for _, f := range found.files {
		if p, ok := sourcePort(d, f, nodePortPattern); ok {
			app.Ports = []Port{p}
		}
	}
	if p, ok := viteConfigPort(d); ok {
		for i, q := range app.Ports {
			if q.Port == 5173 || q.Port == 4173 {
				app.Ports[i] = p
			}
		}
	}
	if len(app.Ports) == 0 {
		for _, s := range nodeServers {
			if _, ok := deps[s.dep]; ok {
				app.Ports = append(app.Ports, Port{Port: s.port, Default: true,
					Why: fmt.Sprintf("%s depends on %s and no dev script says its port; %d is %s's usual one", d.Path("package.json"), s.dep, s.port, s.name)})
				break
			}
		}
	}
	if len(app.Ports) == 0 {
		switch {
		case found.serves:
			app.PortsUnknown = fmt.Sprintf("%s: a dev script starts a server, but no port could be read from it", d.Path("package.json"))
		case len(app.Workspaces) > 0:
			// A monorepo's root: its workspaces say what they serve.
		default:
			app.ServesNothing = fmt.Sprintf("%s: no dev or start script runs a server, and no web framework is a dependency", d.Path("package.json"))
		}
	}
	return app, true
}

// nodePortPattern finds the port a Node server listens on: listen(3000),
// process.env.PORT || 3000, port: 3000, const PORT = 3000.
var nodePortPattern = regexp.MustCompile(`(?:\.listen\(\s*|process\.env\.PORT\s*(?:\|\||\?\?)\s*["']?|\bport\s*[:=]\s*|\bPORT\s*=\s*["']?)(\d{2,5})\b`)

// sourcePort finds a port in a source file a dev command starts.
func sourcePort(d *Dir, file string, re *regexp.Regexp) (Port, bool) {
	file = path.Clean(strings.TrimPrefix(file, "./"))
	if strings.HasPrefix(file, "..") || path.IsAbs(file) {
		return Port{}, false
	}
	data, ok := d.Read(file)
	if !ok {
		return Port{}, false
	}
	for i, l := range strings.Split(string(data), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			if p := portOf(m[1]); p > 0 {
				return Port{Port: p, Why: fmt.Sprintf("%s line %d: `%s`", d.Path(file), i+1, short(strings.TrimSpace(l)))}, true
			}
		}
	}
	return Port{}, false
}

// vitePort finds server.port in a Vite config.
var vitePort = regexp.MustCompile(`(?s)server\s*:\s*\{[^}]*?\bport\s*:\s*(\d{2,5})`)

func viteConfigPort(d *Dir) (Port, bool) {
	for _, f := range []string{"vite.config.ts", "vite.config.js", "vite.config.mts", "vite.config.mjs"} {
		data, ok := d.Read(f)
		if !ok {
			continue
		}
		if m := vitePort.FindSubmatchIndex(data); m != nil {
			if p := portOf(string(data[m[2]:m[3]])); p > 0 {
				line := strings.Count(string(data[:m[2]]), "\n") + 1
				return Port{Port: p, Why: fmt.Sprintf("%s line %d: server.port", d.Path(f), line)}, true
			}
		}
	}
	return Port{}, false
}

// semverFloor matches the start of a range that names its lowest version.
var semverFloor = regexp.MustCompile(`^\s*(?:>=|\^|~|=|v)?\s*(\d{1,3})(?:\.[\dx*]+)*\s*(?:$|<|\|\|)`)

// majorOf reads the lowest major version a semver range allows: ">=20" and
// "^20.11" are 20. A range it cannot read is empty.
func majorOf(r string) string {
	m := semverFloor.FindStringSubmatch(r)
	if m == nil {
		return ""
	}
	return m[1]
}

// versionFile reads a one-line version file (.nvmrc, .ruby-version).
func versionFile(d *Dir, name string) (string, bool) {
	if !d.Has(name) {
		return "", false
	}
	data, ok := d.Read(name)
	if !ok {
		return "", false
	}
	v := firstLine(data)
	if !versionLike.MatchString(v) {
		d.Note(name, "it does not hold a version")
		return "", false
	}
	return v, true
}

func strs(a []any) []string {
	var out []string
	for _, v := range a {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// firstErrLine keeps the first line of a parser's error.
func firstErrLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
