package detect

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
)

// pythonServers are the web frameworks a Python project's dependencies
// name, with the port of their dev server.
var pythonServers = []struct {
	dep, name string
	port      int
}{
	{"django", "Django's runserver", 8000}, {"flask", "flask run", 5000}, {"fastapi", "FastAPI's dev server", 8000},
	{"uvicorn", "Uvicorn", 8000}, {"starlette", "Uvicorn", 8000}, {"streamlit", "Streamlit", 8501},
	{"gunicorn", "Gunicorn", 8000}, {"aiohttp", "aiohttp", 8080}, {"sanic", "Sanic", 8000},
	{"jupyterlab", "Jupyter", 8888}, {"notebook", "Jupyter", 8888}, {"dash", "Dash", 8050},
	{"gradio", "Gradio", 7860}, {"litestar", "Litestar", 8000}, {"bottle", "Bottle", 8080},
}

// pyRequirement is the name at the start of a requirements line.
var pyRequirement = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

// pyRunPort finds app.run(port=5000) and uvicorn.run(..., port=8000).
var pyRunPort = regexp.MustCompile(`\.run\([^)]*\bport\s*=\s*(\d{2,5})`)

func detectPython(d *Dir) (App, bool) {
	app := App{Stack: "Python", Dir: d.Rel, Tool: "python"}
	deps := map[string]string{} // lowercased name → where
	var why []string

	// requirements*.txt in the directory and in requirements/.
	var reqs []string
	for _, f := range append(d.Files(".", ".txt"), d.Files("requirements", ".txt")...) {
		if strings.HasPrefix(f, "requirements") {
			reqs = append(reqs, f)
		}
	}
	for _, f := range reqs {
		data, ok := d.Read(f)
		if !ok {
			continue
		}
		for i, l := range strings.Split(string(data), "\n") {
			if m := pyRequirement.FindStringSubmatch(l); m != nil && !strings.HasPrefix(strings.TrimSpace(l), "-") {
				n := strings.ToLower(m[1])
				if _, seen := deps[n]; !seen {
					deps[n] = fmt.Sprintf("%s line %d", d.Path(f), i+1)
				}
			}
		}
	}
	pyproject, hasPyproject := d.Read("pyproject.toml")
	if hasPyproject {
		secs := tomlSections(pyproject)
		for _, raw := range []string{secs["project"]["dependencies"], secs["project.optional-dependencies"]["dev"]} {
			for _, dep := range tomlArray(raw) {
				if m := pyRequirement.FindStringSubmatch(dep); m != nil {
					n := strings.ToLower(m[1])
					if _, seen := deps[n]; !seen {
						deps[n] = fmt.Sprintf("%s project.dependencies%s", d.Path("pyproject.toml"), at(lineOf(pyproject, "dependencies", dep)))
					}
				}
			}
		}
		for n := range secs["tool.poetry.dependencies"] {
			if n := strings.ToLower(n); n != "python" {
				if _, seen := deps[n]; !seen {
					deps[n] = d.Path("pyproject.toml") + " tool.poetry.dependencies"
				}
			}
		}
		why = append(why, d.Path("pyproject.toml"))
		if rp := secs["project"]["requires-python"]; rp != "" {
			app.Facts = append(app.Facts, fmt.Sprintf("%s requires-python %q", d.Path("pyproject.toml"), clean(rp)))
		}
	}
	why = append(why, reqs...)
	manage := d.Has("manage.py")
	if manage {
		why = append(why, d.Path("manage.py"))
	}
	if !hasPyproject && len(reqs) == 0 && !manage && !d.Has("setup.py") {
		return App{}, false
	}
	if d.Has("setup.py") && !hasPyproject {
		why = append(why, d.Path("setup.py"))
	}
	app.Why = strings.Join(why, ", ")

	if v, ok := versionFile(d, ".python-version"); ok {
		app.Pins = append(app.Pins, Pin{Tool: "python", Version: v, Source: d.Path(".python-version"), File: d.Path(".python-version")})
	}

	// Dependencies go into a virtualenv in the guest user's home, which
	// the Toolchains entry puts first on PATH: a host's .venv in the
	// project holds host binaries. It sees the distribution's packages,
	// so one installed with apt (python3-psycopg2, built against the
	// guest's libraries) satisfies a requirement without a build, and pip
	// installs the rest, at the versions asked, into the virtualenv.
	venv := `[ -x "$VIRTUAL_ENV/bin/python" ] || python3 -m venv --system-site-packages "$VIRTUAL_ENV"` + "\n"
	switch {
	case d.Has("uv.lock"):
		app.Deps = &Deps{Manager: "uv", Inputs: []string{"uv.lock", "pyproject.toml"},
			Run: venv + "\"$VIRTUAL_ENV/bin/pip\" install --quiet uv\nUV_PROJECT_ENVIRONMENT=\"$VIRTUAL_ENV\" \"$VIRTUAL_ENV/bin/uv\" sync --frozen"}
	case d.Has("poetry.lock"):
		app.Deps = &Deps{Manager: "Poetry", Inputs: []string{"poetry.lock", "pyproject.toml"},
			Run: venv + "\"$VIRTUAL_ENV/bin/pip\" install --quiet poetry\nPOETRY_VIRTUALENVS_CREATE=false \"$VIRTUAL_ENV/bin/poetry\" install --no-root"}
	case d.Has("Pipfile.lock"):
		app.Deps = &Deps{Manager: "Pipenv", Inputs: []string{"Pipfile.lock"},
			Run: venv + "\"$VIRTUAL_ENV/bin/pip\" install --quiet pipenv\nPIPENV_IGNORE_VIRTUALENVS=0 \"$VIRTUAL_ENV/bin/pipenv\" install --deploy --dev"}
	case len(reqs) > 0:
		run := venv
		for _, f := range reqs {
			run += "\"$VIRTUAL_ENV/bin/pip\" install -r " + shellquote.POSIX(strings.TrimPrefix(f, "./")) + "\n"
		}
		app.Deps = &Deps{Manager: "pip", Inputs: reqs, Run: strings.TrimSuffix(run, "\n")}
	case hasPyproject:
		app.Deps = &Deps{Manager: "pip", Inputs: []string{"pyproject.toml"}, Run: venv + "\"$VIRTUAL_ENV/bin/pip\" install -e ."}
	}
	if app.Deps != nil {
		app.Deps.Dir, app.Deps.Tool = d.Rel, "python"
	}

	// Ports: the app's own run(port=…), then the framework's default.
	for _, f := range []string{"app.py", "main.py", "wsgi.py", "run.py", "server.py", "app/main.py", "src/main.py"} {
		if p, ok := sourcePort(d, f, pyRunPort); ok {
			app.Ports = append(app.Ports, p)
			break
		}
	}
	if len(app.Ports) == 0 && manage {
		app.Ports = append(app.Ports, Port{Port: 8000, Default: true, Why: d.Path("manage.py") + ": Django's runserver default port"})
	}
	if len(app.Ports) == 0 {
		for _, s := range pythonServers {
			if where, ok := deps[s.dep]; ok {
				app.Ports = append(app.Ports, Port{Port: s.port, Default: true, Why: fmt.Sprintf("%s: %s, %s's default port", where, s.dep, s.name)})
				break
			}
		}
	}
	if len(app.Ports) == 0 {
		app.ServesNothing = "no web framework among " + app.Why + "'s dependencies"
	}
	return app, true
}

// tomlQuoted matches a TOML basic or literal string.
var tomlQuoted = regexp.MustCompile(`"([^"]*)"|'([^']*)'`)

// tomlArray reads the strings of a one-line TOML array as tomlSections
// keeps it: ["django>=5", "gunicorn"].
func tomlArray(raw string) []string {
	var out []string
	for _, m := range tomlQuoted.FindAllStringSubmatch(raw, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}
