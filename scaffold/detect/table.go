package detect

// This file is the table of what vmhook new recognises. To add a stack, add
// a row to Detectors (and its toolchain to Toolchains, its dev servers to
// Frameworks); the detect function goes in a file of its own beside the
// others.

// Detector is one kind of project.
type Detector struct {
	// Name names it in comments: "Node.js".
	Name string
	// Markers are files (slash paths below a directory) any one of which
	// makes the directory worth a look.
	Markers []string
	// Detect reads the directory and says what it found; false when the
	// directory is not one after all (or its marker could not be read).
	Detect func(d *Dir) (App, bool)
}

// Detectors are tried, in order, in every directory vmhook new looks at.
var Detectors = []Detector{
	{Name: "Node.js", Markers: []string{"package.json"}, Detect: detectNode},
	{Name: "Ruby", Markers: []string{"Gemfile"}, Detect: detectRuby},
	{Name: "Python", Markers: []string{"pyproject.toml", "requirements.txt", "manage.py", "setup.py"}, Detect: detectPython},
	{Name: "Go", Markers: []string{"go.mod"}, Detect: detectGo},
	{Name: "Rust", Markers: []string{"Cargo.toml"}, Detect: detectRust},
	{Name: "mise", Markers: []string{".tool-versions", "mise.toml", ".mise.toml"}, Detect: detectMise},
	{Name: "Procfile", Markers: []string{"Procfile", "Procfile.dev"}, Detect: detectProcfile},
	{Name: "Compose", Markers: composeFiles, Detect: detectCompose},
	{Name: "Dev Container", Markers: []string{".devcontainer/devcontainer.json", ".devcontainer.json"}, Detect: detectDevcontainer},
}

// Toolchain says how one language gets into the guest.
type Toolchain struct {
	// Tool is mise's name for it, and the key Apps use: "node".
	Tool string
	// Name names it in comments.
	Name string
	// Apt are the Debian/Ubuntu packages installed when nothing pins a
	// version.
	Apt []string
	// MiseBuild are the packages mise needs to install a pinned version
	// (compilers and headers, for a toolchain it builds from source).
	MiseBuild []string
	// Env are shell lines every later step and every login shell runs, to
	// find the toolchain's per-user installs.
	Env []string
	// Setup, when set, is run once as the guest user after the install
	// (rustup's default toolchain).
	Setup string
	// Idiomatic are the version files of its own that mise reads when told
	// to (they are what nvm, pyenv or rbenv read on the host).
	Idiomatic []string
}

// Toolchains are the languages vmhook new installs, in the order the
// provision steps name them.
var Toolchains = []Toolchain{
	{Tool: "node", Name: "Node.js", Apt: []string{"nodejs", "npm"}, Idiomatic: []string{".nvmrc", ".node-version"}},
	{Tool: "bun", Name: "Bun", Apt: nil, Env: []string{`PATH="$HOME/.bun/bin:$PATH"`}},
	{Tool: "ruby", Name: "Ruby", Apt: []string{"ruby-full", "build-essential", "libyaml-dev", "pkg-config"},
		MiseBuild: []string{"build-essential", "libssl-dev", "libyaml-dev", "zlib1g-dev", "libffi-dev", "libreadline-dev", "pkg-config"},
		// Gems go to the user's home: the distribution's Ruby would want
		// root for them.
		Env:       []string{`GEM_HOME="${GEM_HOME:-$HOME/.local/share/gem}"`, `PATH="$GEM_HOME/bin:$PATH"`},
		Idiomatic: []string{".ruby-version"}},
	{Tool: "python", Name: "Python", Apt: []string{"python3", "python3-venv", "python3-pip", "python3-dev", "build-essential"},
		Env:       []string{`VIRTUAL_ENV="${XDG_DATA_HOME:-$HOME/.local/share}/vmhook/venv"`, `PATH="$VIRTUAL_ENV/bin:$PATH"`},
		Idiomatic: []string{".python-version"}},
	{Tool: "go", Name: "Go", Apt: []string{"golang-go"},
		// go.mod's go and toolchain lines choose the version; the go
		// command fetches it (checksummed) when it is newer than its own.
		Env: []string{`GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"`, `PATH="$HOME/go/bin:$PATH"`}},
	{Tool: "rust", Name: "Rust", Apt: []string{"rustup"}, Env: []string{`PATH="$HOME/.cargo/bin:$PATH"`},
		// Ubuntu's rustc trails what current crates need; its rustup
		// package installs stable, or the toolchain rust-toolchain.toml
		// names in the project.
		Setup: `rustup toolchain list | grep -q . || rustup default stable`},
}

// toolchain looks a Toolchain up by its Tool.
func toolchain(tool string) (Toolchain, bool) {
	for _, t := range Toolchains {
		if t.Tool == tool {
			return t, true
		}
	}
	return Toolchain{}, false
}

// Framework is a dev server command and the port it listens on unless told
// otherwise.
type Framework struct {
	// Command is the program (its base name) and the words that must follow
	// it: "next dev", "manage.py runserver", "vite".
	Command string
	// Name names it in comments.
	Name string
	// Port is its default port.
	Port int
	// Flags are its options that take a port (or host:port); default
	// --port and -p.
	Flags []string
	// Positional: it takes arguments that are not options (an app, a
	// file), so "vite build" is not "vite" but "uvicorn main:app" is
	// "uvicorn".
	Positional bool
	// IgnoresEnvPort: PORT=N does not move it (Vite's port comes from its
	// config or --port only).
	IgnoresEnvPort bool
	// Global are the program's options that may come before the words of
	// Command, each taking a value unless it ends in "!": flask's
	// --app APP and --debug in `flask --app app --debug run`.
	Global []string
}

// Frameworks are the dev servers vmhook new knows, matched against the
// words of a dev command (scripts.dev, a Procfile line, …).
var Frameworks = []Framework{
	{Command: "next dev", Name: "Next.js", Port: 3000},
	{Command: "next start", Name: "Next.js", Port: 3000},
	{Command: "vite", Name: "Vite", Port: 5173, IgnoresEnvPort: true},
	{Command: "vite dev", Name: "Vite", Port: 5173, IgnoresEnvPort: true},
	{Command: "vite serve", Name: "Vite", Port: 5173, IgnoresEnvPort: true},
	{Command: "vite preview", Name: "Vite's preview", Port: 4173, IgnoresEnvPort: true},
	{Command: "remix vite:dev", Name: "Remix", Port: 5173, IgnoresEnvPort: true},
	{Command: "react-router dev", Name: "React Router", Port: 5173, IgnoresEnvPort: true},
	{Command: "remix dev", Name: "Remix", Port: 3000},
	{Command: "nuxt dev", Name: "Nuxt", Port: 3000},
	{Command: "nuxi dev", Name: "Nuxt", Port: 3000},
	{Command: "astro dev", Name: "Astro", Port: 4321},
	{Command: "ng serve", Name: "Angular", Port: 4200},
	{Command: "react-scripts start", Name: "Create React App", Port: 3000},
	{Command: "gatsby develop", Name: "Gatsby", Port: 8000},
	{Command: "nest start", Name: "NestJS", Port: 3000},
	{Command: "vue-cli-service serve", Name: "Vue CLI", Port: 8080},
	{Command: "webpack serve", Name: "webpack-dev-server", Port: 8080},
	{Command: "webpack-dev-server", Name: "webpack-dev-server", Port: 8080},
	{Command: "parcel", Name: "Parcel", Port: 1234, Positional: true},
	{Command: "ember serve", Name: "Ember", Port: 4200},
	{Command: "storybook dev", Name: "Storybook", Port: 6006},
	{Command: "expo start", Name: "Expo", Port: 8081},
	{Command: "rails server", Name: "Rails", Port: 3000, Flags: []string{"-p", "--port", "-b", "--binding"}},
	{Command: "rails s", Name: "Rails", Port: 3000, Flags: []string{"-p", "--port", "-b", "--binding"}},
	{Command: "puma", Name: "Puma", Port: 9292, Flags: []string{"-p", "--port", "-b", "--bind"}, Positional: true},
	{Command: "rackup", Name: "Rack", Port: 9292, Flags: []string{"-p", "--port"}, Positional: true},
	{Command: "manage.py runserver", Name: "Django", Port: 8000, Positional: true},
	{Command: "django-admin runserver", Name: "Django", Port: 8000, Positional: true},
	{Command: "flask run", Name: "Flask", Port: 5000, Global: []string{"--app", "-A", "--env-file", "-e", "--debug!", "--no-debug!"}},
	{Command: "uvicorn", Name: "Uvicorn", Port: 8000, Flags: []string{"--port"}, Positional: true},
	{Command: "fastapi dev", Name: "FastAPI", Port: 8000, Flags: []string{"--port"}, Positional: true},
	{Command: "fastapi run", Name: "FastAPI", Port: 8000, Flags: []string{"--port"}, Positional: true},
	{Command: "gunicorn", Name: "Gunicorn", Port: 8000, Flags: []string{"-b", "--bind"}, Positional: true},
	{Command: "hypercorn", Name: "Hypercorn", Port: 8000, Flags: []string{"-b", "--bind"}, Positional: true},
	{Command: "streamlit run", Name: "Streamlit", Port: 8501, Flags: []string{"--server.port"}, Positional: true},
	{Command: "jupyter lab", Name: "Jupyter", Port: 8888, Flags: []string{"--port"}},
	{Command: "jupyter notebook", Name: "Jupyter", Port: 8888, Flags: []string{"--port"}},
	{Command: "mix phx.server", Name: "Phoenix", Port: 4000},
	{Command: "hugo server", Name: "Hugo", Port: 1313},
	{Command: "jekyll serve", Name: "Jekyll", Port: 4000, Flags: []string{"-P", "--port"}},
	{Command: "artisan serve", Name: "Laravel", Port: 8000, Flags: []string{"--port"}},
}

// App is what one Detector found in one directory.
type App struct {
	// Stack is the Detector's Name; Dir the directory ("." or "apps/web").
	Stack, Dir string
	// Why is the file that made it this stack, with what was seen in it:
	// "package.json (next 15.1.0)".
	Why string
	// Tool is the Toolchains entry it needs; empty for none.
	Tool string
	// Pins are versions the directory pins, of Tool or any other tool.
	Pins []Pin
	// Deps installs its dependencies; nil for none.
	Deps *Deps
	// Ports are the ports its dev servers listen on.
	Ports []Port
	// Serves says, when it does not serve anything, why vmhook new thinks
	// so ("go.mod: no .go file here starts a server").
	ServesNothing string
	// PortsUnknown says, when it serves on a port vmhook new could not
	// tell, what it saw.
	PortsUnknown string
	// Env are guest environment variables the repository asks for.
	Env []EnvVar
	// Setup are commands the repository runs to set up a dev environment
	// (a devcontainer's postCreateCommand), offered commented out.
	Setup []Setup
	// Facts are more lines for the summary: "pnpm workspace: apps/*".
	Facts []string
	// Workspaces are directories (slash globs of one level, "apps/*") the
	// app says are part of it, looked at too.
	Workspaces []string
}

// Pin is a version the repository pins.
type Pin struct {
	// Tool is mise's name of the tool; Version the version as written.
	Tool, Version string
	// Source says where: ".nvmrc", "package.json engines.node".
	Source string
	// File is the file mise reads the pin from itself (slash path from the
	// root), or empty when only vmhook new could read it (then the version
	// is written into the step).
	File string
}

// Port is a port a dev server listens on.
type Port struct {
	Port int
	// Why says where it came from.
	Why string
	// Default marks a framework's default inferred from a dependency, not
	// from a command or config: an explicit port of the same directory
	// replaces it.
	Default bool
}

// Deps is how a directory's dependencies are installed.
type Deps struct {
	// Dir is the directory (slash path from the root).
	Dir string
	// Manager names the tool: "npm", "bundler".
	Manager string
	// Inputs are the files (relative to Dir) whose change means running
	// again: the lockfile, and the manifest without one.
	Inputs []string
	// Run is the shell code that installs them, run in Dir.
	Run string
	// Tool is the Toolchains entry Run needs.
	Tool string
}

// EnvVar is a guest environment variable.
type EnvVar struct{ Name, Value, Why string }

// Setup is a setup command of the repository's.
type Setup struct {
	Command, Why string
	// Covered says which dependency step already does it, if one does.
	Covered string
}
