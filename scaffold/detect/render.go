package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
)

// toolName is a tool name vmhook new writes into a script.
var toolName = regexp.MustCompile(`^[a-z0-9][a-z0-9._:/-]{0,60}$`)

// Render writes the vmhook.yaml for what Detect found, every choice
// explained in a comment. It is false when nothing was recognised: the
// template's own file is the better start then.
func Render(res Result) ([]byte, bool) {
	if !res.Found() {
		return nil, false
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := func(text string) { w("# %s\n", clean(text)) }

	w("# This project's VM, as vmhook new read the repository: what it found is\n")
	w("# said beside each setting. Every field is optional: an unset one keeps\n")
	w("# your own default (~/.config/vmhook/config.yaml) or vmhook's. Check the\n")
	w("# result with `vmhook config --print`; `vmhook up --apply` applies a change\n")
	w("# to a VM that already exists. More fields (mounts, sockets, forwardAgent,\n")
	w("# session, lima) are shown in `vmhook templates vm-dev vmhook.yaml`.\n")
	w("#\n# Found:\n")
	for _, a := range res.Apps {
		where := ""
		if a.Dir != "." {
			where = " in " + a.Dir
		}
		c(fmt.Sprintf("- %s%s: %s", a.Stack, where, a.Why))
		for _, f := range a.Facts {
			c("  " + f)
		}
	}
	if len(res.Notes) > 0 {
		w("#\n# Not read:\n")
		for _, n := range res.Notes {
			c("- " + n)
		}
	}
	w("\n#cpus: 4\n#memory: 8GiB\n")

	renderPorts(&b, res.Apps)
	renderEnv(&b, res.Apps)
	renderProvision(&b, res.Apps)
	return []byte(b.String()), true
}

// renderPorts writes ports: from the ports found, or [] when everything
// found serves nothing, or leaves it unset (vmhook's default set) when a
// server's port could not be told.
func renderPorts(b *strings.Builder, apps []App) {
	// A framework's default gives way to a port the same directory names.
	explicit := map[string]bool{}
	for _, a := range apps {
		for _, p := range a.Ports {
			if !p.Default {
				explicit[a.Dir] = true
			}
		}
	}
	why := map[int][]string{}
	var ports []int
	var unknown, nothing []string
	for _, a := range apps {
		for _, p := range a.Ports {
			if p.Default && explicit[a.Dir] {
				continue
			}
			if why[p.Port] == nil {
				ports = append(ports, p.Port)
			}
			why[p.Port] = append(why[p.Port], p.Why)
		}
		if a.PortsUnknown != "" {
			unknown = append(unknown, a.PortsUnknown)
		}
		if a.ServesNothing != "" {
			nothing = append(nothing, a.ServesNothing)
		}
	}
	sort.Ints(ports)
	fmt.Fprintf(b, "\n# Guest ports forwarded to 127.0.0.1 on the host. Each gets the same host\n")
	fmt.Fprintf(b, "# port unless another VM holds it; `vmhook status` shows the host side.\n")
	switch {
	case len(ports) > 0:
		for _, p := range ports {
			for _, y := range why[p] {
				fmt.Fprintf(b, "# - %d: %s\n", p, clean(y))
			}
		}
		for _, u := range unknown {
			fmt.Fprintf(b, "# Also: %s; add its port here.\n", clean(u))
		}
		var s []string
		for _, p := range ports {
			s = append(s, fmt.Sprint(p))
		}
		fmt.Fprintf(b, "ports: [%s]\n", strings.Join(s, ", "))
	case len(unknown) > 0:
		for _, u := range unknown {
			fmt.Fprintf(b, "# %s, so ports is left unset and vmhook's\n# default set of dev-server ports is forwarded; name the port here instead.\n", clean(u))
		}
		fmt.Fprintf(b, "#ports: [3000]\n")
	case len(nothing) > 0:
		for _, n := range nothing {
			fmt.Fprintf(b, "# - %s\n", clean(n))
		}
		fmt.Fprintf(b, "# so nothing is forwarded; list a port here when something serves one.\nports: []\n")
	default:
		fmt.Fprintf(b, "# Nothing found says which; unset, vmhook's default set is forwarded.\n#ports: [3000]\n")
	}
}

// renderEnv writes the guest environment the repository asks for.
func renderEnv(b *strings.Builder, apps []App) {
	var vars []EnvVar
	seen := map[string]bool{}
	for _, a := range apps {
		for _, e := range a.Env {
			if !seen[e.Name] {
				seen[e.Name] = true
				vars = append(vars, e)
			}
		}
	}
	fmt.Fprintf(b, "\n# Environment variables in the guest.\n")
	if len(vars) == 0 {
		fmt.Fprintf(b, "#env:\n#  EDITOR: vim\n")
		return
	}
	fmt.Fprintf(b, "env:\n")
	for _, e := range vars {
		v, _ := json.Marshal(e.Value)
		fmt.Fprintf(b, "  # %s\n  %s: %s\n", clean(e.Why), e.Name, v)
	}
}

// plan is the toolchain the apps need: what apt installs, what mise
// installs, and the environment that finds them.
type plan struct {
	apt      []string
	aptTools []string
	pins     []Pin // one per tool, mise installs them
	conflict []string
	env      []string
	setup    []string
	names    []string
}

func planToolchain(apps []App) plan {
	var p plan
	tools := map[string]bool{}
	var order []string
	use := func(t string) {
		if t != "" && !tools[t] {
			tools[t] = true
			order = append(order, t)
		}
	}
	pinOf := map[string]Pin{}
	for _, a := range apps {
		use(a.Tool)
		if a.Deps != nil {
			use(a.Deps.Tool)
		}
		for _, pin := range a.Pins {
			if !toolName.MatchString(pin.Tool) || !versionLike.MatchString(pin.Version) {
				continue
			}
			use(pin.Tool)
			if old, ok := pinOf[pin.Tool]; ok {
				if old.Version != pin.Version && old.File != pin.File {
					p.conflict = append(p.conflict, fmt.Sprintf("%s %s (%s) is used, not %s (%s)", pin.Tool, old.Version, old.Source, pin.Version, pin.Source))
				}
				continue
			}
			pinOf[pin.Tool] = pin
		}
	}
	// Toolchains' order first, then the other tools mise installs.
	sort.SliceStable(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
	aptSet := map[string]bool{}
	addApt := func(pkgs []string) {
		for _, a := range pkgs {
			if !aptSet[a] {
				aptSet[a] = true
				p.apt = append(p.apt, a)
			}
		}
	}
	for _, t := range order {
		tc, known := toolchain(t)
		pin, pinned := pinOf[t]
		if !pinned && known && len(tc.Apt) == 0 {
			// Nothing to install it from but mise: its latest.
			pin, pinned = Pin{Tool: t, Version: "latest", Source: "no pin; " + tc.Name + " has no distribution package"}, true
		}
		name := t
		if known {
			name = tc.Name
			p.env = append(p.env, tc.Env...)
			if tc.Setup != "" && !pinned {
				p.setup = append(p.setup, tc.Setup)
			}
		}
		if pinned {
			p.pins = append(p.pins, pin)
			addApt(tc.MiseBuild)
			p.names = append(p.names, fmt.Sprintf("%s %s (%s)", name, pin.Version, pin.Source))
			continue
		}
		if known {
			addApt(tc.Apt)
			p.aptTools = append(p.aptTools, name)
			p.names = append(p.names, name+" (the distribution's)")
		}
	}
	return p
}

func rank(tool string) int {
	for i, t := range Toolchains {
		if t.Tool == tool {
			return i
		}
	}
	return len(Toolchains)
}

// profile is where the toolchain step keeps the environment every later
// step and login shell reads.
const profile = "/etc/profile.d/vmhook-toolchain.sh"

// misePath finds mise and what it installs.
const misePath = `PATH="$HOME/.local/share/mise/shims:$HOME/.local/bin:$PATH"`

func renderProvision(b *strings.Builder, apps []App) {
	p := planToolchain(apps)
	var deps []*Deps
	for _, a := range apps {
		if a.Deps != nil && allSafe(a.Deps.Dir) || a.Deps != nil && a.Deps.Dir == "." {
			deps = append(deps, a.Deps)
		}
	}
	fmt.Fprintf(b, "\n# Scripts run in the guest, as root (mode system) or as you (mode user);\n")
	fmt.Fprintf(b, "# when: once runs a step at the VM's first boot (and again when its script\n")
	fmt.Fprintf(b, "# changes, or by `vmhook provision`), when: boot at every boot. Steps that\n")
	fmt.Fprintf(b, "# work in the project run at boot, once the project is mounted, and skip\n")
	fmt.Fprintf(b, "# their work while the hash of the files they read is the one they recorded.\n")
	for _, c := range p.conflict {
		fmt.Fprintf(b, "# Pins differ: %s.\n", clean(c))
	}
	for _, a := range apps {
		for _, s := range a.Setup {
			fmt.Fprintf(b, "# %s runs `%s`: %s\n", clean(s.Why), short(s.Command), covered(s, deps))
		}
	}
	if len(p.names) == 0 && len(deps) == 0 {
		fmt.Fprintf(b, "#provision:\n#  - mode: system\n#    script: |\n#      #!/bin/bash\n#      apt-get install -y --no-install-recommends build-essential\n")
		return
	}
	fmt.Fprintf(b, "provision:\n")
	var sys strings.Builder
	sys.WriteString("#!/bin/bash\nset -eu -o pipefail\n")
	if len(p.apt) > 0 || len(p.pins) > 0 {
		pkgs := append([]string{"ca-certificates", "curl", "git"}, p.apt...)
		fmt.Fprintf(&sys, "if ! command -v apt-get >/dev/null; then\n  echo 'vmhook.yaml: this step installs with apt-get, which this guest lacks; install %s yourself' >&2\n  exit 1\nfi\n", strings.Join(pkgs, " "))
		fmt.Fprintf(&sys, "export DEBIAN_FRONTEND=noninteractive\napt-get update\napt-get install -y --no-install-recommends %s\n", strings.Join(pkgs, " "))
	}
	env := p.env
	if len(p.pins) > 0 {
		env = append(env, misePath)
		// mise reads .nvmrc and its kin only for the tools named here,
		// when it installs and whenever a shim runs.
		if tools := idiomaticTools(p.pins); tools != "" {
			env = append(env, "MISE_IDIOMATIC_VERSION_FILE_ENABLE_TOOLS="+tools)
		}
	}
	fmt.Fprintf(&sys, "cat >%s <<'EOF'\n# Written by vmhook.yaml's first provision step.\n", profile)
	for _, e := range env {
		fmt.Fprintf(&sys, "export %s\n", e)
	}
	sys.WriteString("EOF\n")
	fmt.Fprintf(b, "  # The toolchain: %s.\n", clean(strings.Join(p.names, "; ")))
	step(b, "system", "once", sys.String())

	if len(p.setup) > 0 {
		fmt.Fprintf(b, "  # The toolchain's own setup, as you.\n")
		step(b, "user", "once", userPrologue+strings.Join(p.setup, "\n")+"\n")
	}
	if len(p.pins) > 0 {
		fmt.Fprintf(b, "  # Pinned versions, installed with mise (https://mise.jdx.dev), which reads\n")
		fmt.Fprintf(b, "  # the pin files itself: again whenever one of them changes.\n")
		step(b, "user", "boot", miseScript(p.pins))
	}
	for _, d := range deps {
		where := ""
		if d.Dir != "." {
			where = " of " + d.Dir
		}
		fmt.Fprintf(b, "  # Dependencies%s, with %s: again whenever %s changes.\n", where, d.Manager, strings.Join(d.Inputs, " or "))
		step(b, "user", "boot", depsScript(d))
	}
}

// covered says whether a devcontainer's setup command is done by a step.
func covered(s Setup, deps []*Deps) string {
	for range deps {
		for _, w := range []string{"npm", "pnpm", "yarn", "bun", "bundle", "pip", "poetry", "uv", "pipenv", "go", "cargo"} {
			if strings.Contains(s.Command, w+" install") || strings.Contains(s.Command, w+" ci") || strings.Contains(s.Command, w+" sync") {
				return "the dependency steps below do that"
			}
		}
	}
	return "it is not run here; add it to a step below if the VM needs it"
}

// step writes one provision item.
func step(b *strings.Builder, mode, when, script string) {
	fmt.Fprintf(b, "  - mode: %s\n    when: %s\n    script: |\n", mode, when)
	for _, l := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(b, "      %s\n", l)
	}
}

// skipUnchanged is the shell code that ends a step whose inputs hash to
// what its marker holds; recordHash, at the end of the step, records the
// hash once the rest succeeded.
func skipUnchanged(name string, inputs []string) string {
	var q []string
	for _, in := range inputs {
		q = append(q, shellquote.POSIX(in))
	}
	return fmt.Sprintf(`marker="${XDG_STATE_HOME:-$HOME/.local/state}/vmhook/%s"
hash=$(cat -- %s 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$marker" 2>/dev/null)" = "$hash" ]; then
  exit 0
fi
`, name, strings.Join(q, " "))
}

const recordHash = `mkdir -p "${marker%/*}"
printf '%s\n' "$hash" >"$marker"
`

// idiomaticTools are the tools pinned by a version file of their own
// (.nvmrc, .python-version), comma-separated.
func idiomaticTools(pins []Pin) string {
	var tools []string
	for _, p := range pins {
		if tc, ok := toolchain(p.Tool); ok && p.File != "" && contains(tc.Idiomatic, baseName(p.File)) && !contains(tools, p.Tool) {
			tools = append(tools, p.Tool)
		}
	}
	return strings.Join(tools, ",")
}

func miseScript(pins []Pin) string {
	var s strings.Builder
	s.WriteString(userPrologue)
	s.WriteString(`cd "${VMHOOK_PROJECT_DIR:?is set by vmhook in every step}"` + "\n")
	var files []string
	dirs := map[string]bool{}
	var global []string
	for _, p := range pins {
		switch {
		case p.File != "":
			if !contains(files, p.File) {
				files = append(files, p.File)
			}
			dir := "."
			if i := strings.LastIndex(p.File, "/"); i >= 0 {
				dir = p.File[:i]
			}
			dirs[dir] = true
		default:
			global = append(global, p.Tool+"@"+p.Version)
		}
	}
	s.WriteString(skipUnchanged("mise-"+hashName(append(files, global...)), files))
	s.WriteString(`if ! command -v mise >/dev/null; then
  curl -fsSL https://mise.run | MISE_QUIET=1 sh
fi
`)
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	for _, f := range files {
		if b := baseName(f); b == "mise.toml" || b == ".mise.toml" {
			fmt.Fprintf(&s, "mise trust --yes %s\n", shellquote.POSIX(f))
		}
	}
	for _, d := range ds {
		if d == "." {
			s.WriteString("mise install --yes\n")
		} else {
			fmt.Fprintf(&s, "(cd %s && mise install --yes)\n", shellquote.POSIX(d))
		}
	}
	for _, g := range global {
		fmt.Fprintf(&s, "mise use --global --yes %s\n", shellquote.POSIX(g))
	}
	s.WriteString("mise reshim\n" + recordHash)
	return s.String()
}

func depsScript(d *Deps) string {
	var s strings.Builder
	s.WriteString(userPrologue)
	dir := `"${VMHOOK_PROJECT_DIR:?is set by vmhook in every step}"`
	if d.Dir != "." {
		dir += "/" + shellquote.POSIX(d.Dir)
	}
	s.WriteString("cd " + dir + "\n")
	s.WriteString(skipUnchanged("deps-"+hashName([]string{d.Dir, d.Manager}), d.Inputs))
	s.WriteString(d.Run + "\n" + recordHash)
	return s.String()
}

// hashName names a marker after what it is for, short and fixed.
func hashName(parts []string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:6])
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortPins(p []Pin) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Tool < p[j].Tool })
}

// userPrologue starts every step run as the guest user: the toolchain's
// environment, which the first step wrote.
const userPrologue = "#!/bin/bash\nset -eu -o pipefail\n# shellcheck source=/dev/null\n. " + profile + "\n"
