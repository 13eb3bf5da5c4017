package projectvm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/internal/lazyre"
)

// Settings are the resolved settings of one VM, after every layer applied.
type Settings struct {
	CPUs         int      `json:"cpus"`
	Memory       string   `json:"memory"`
	Disk         string   `json:"disk"`
	Image        Image    `json:"image"`
	Ports        []int    `json:"ports"`
	Mounts       []Mount  `json:"mounts"`
	Sockets      []Socket `json:"sockets"`
	ForwardAgent bool     `json:"forwardAgent"`
	// FileEvents makes a change on the host to a mounted directory an
	// inotify event in the guest (Lima's mountInotify), so watchers in the
	// guest (node --watch, Vite, nodemon) see a save in a host editor.
	FileEvents bool `json:"fileEvents"`
	// EnvFile is the project's dotenv file whose variables reach the
	// guest's shells at every entry (see guestenv.go), relative to the
	// project; empty reads none.
	EnvFile   string            `json:"envFile"`
	Env       map[string]string `json:"env"`
	Provision []Provision       `json:"provision"`
	Session   string            `json:"session"`
	Lima      map[string]any    `json:"lima,omitempty"`
	Rebuild   string            `json:"rebuild,omitempty"`
	// Data is the named VM's data disk; nil when it has none.
	Data *DataDisk `json:"data,omitempty"`
	// AllowMounts lists host directories outside the project that project
	// settings may mount; only the user config can set it. Resolved, it is
	// an input of the config: a link in it that is retargeted changes what
	// it covers, and the config is judged again.
	AllowMounts []string `json:"allowMounts,omitempty"`
	// HostPaths are the host paths of the settings that resolve to another
	// path than written, and the files whose content vmhook hands Lima
	// (see resolve). As an input of the config, a retargeted link or an
	// edited provision file renders and judges it again.
	HostPaths []HostPath `json:"hostPaths,omitempty"`
}

// Image is a guest disk image: a local path or URL, with an optional digest
// and the architecture it was built for (Lima's name for it; empty: read
// from the file name, else the VM's).
type Image struct {
	Location string `yaml:"location" json:"location,omitempty"`
	Arch     string `yaml:"arch" json:"arch,omitempty"`
	Digest   string `yaml:"digest" json:"digest,omitempty"`
}

// Mount is an extra host directory mounted in the guest at the same path.
type Mount struct {
	Location string `yaml:"location" json:"location"`
	Writable bool   `yaml:"writable" json:"writable"`
}

// UnmarshalYAML accepts either a bare path (read-only) or a mapping.
func (m *Mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		m.Location = n.Value
		return nil
	}
	type plain Mount
	return n.Decode((*plain)(m))
}

// Socket forwards a host UNIX socket into the guest (Lima reverse
// portForwards), optionally naming a guest environment variable that points
// at it, such as DOCKER_HOST.
type Socket struct {
	Host  string `yaml:"host" json:"host"`
	Guest string `yaml:"guest" json:"guest"`
	Env   string `yaml:"env" json:"env,omitempty"`
	// Direction is "to-guest" (a host server reached from the guest, the
	// default) or "to-host" (a guest server reached from the host).
	Direction string `yaml:"direction" json:"direction,omitempty"`
	// EnvForm is "path" or "url" (unix://PATH); empty picks by Env's name.
	EnvForm string `yaml:"envForm" json:"envForm,omitempty"`
}

// SocketToHost reports whether so is served in the guest and reached from
// the host.
func (so Socket) SocketToHost() bool { return so.Direction == "to-host" }

// urlEnvs are the variables that take a socket as a unix:// URL; any other
// variable gets the plain path (SSH_AUTH_SOCK and the like).
var urlEnvs = []string{"DOCKER_HOST", "CONTAINER_HOST", "BUILDKIT_HOST"}

// EnvValue is the value of so's env variable for the socket at path.
func (so Socket) EnvValue(path string) string {
	form := so.EnvForm
	if form == "" {
		form = "path"
		if slices.Contains(urlEnvs, so.Env) {
			form = "url"
		}
	}
	if form == "url" {
		return "unix://" + path
	}
	return path
}

// Provision is a script Lima runs in the guest.
type Provision struct {
	Mode   string `yaml:"mode" json:"mode"`
	Script string `yaml:"script" json:"script"`
	// When is "once" (once per VM: a marker in the guest skips it at later
	// boots) or "boot" (at every boot, as Lima runs provision scripts).
	When string `yaml:"when" json:"when,omitempty"`
}

// layer is one settings source; nil means "not set here".
type layer struct {
	CPUs         *int              `yaml:"cpus"`
	Memory       *string           `yaml:"memory"`
	Disk         *string           `yaml:"disk"`
	Image        *Image            `yaml:"image"`
	Ports        *[]int            `yaml:"ports"`
	Mounts       *[]Mount          `yaml:"mounts"`
	Sockets      *[]Socket         `yaml:"sockets"`
	ForwardAgent *bool             `yaml:"forwardAgent"`
	FileEvents   *bool             `yaml:"fileEvents"`
	EnvFile      *string           `yaml:"envFile"`
	Env          map[string]string `yaml:"env"`
	Provision    *[]Provision      `yaml:"provision"`
	Session      *string           `yaml:"session"`
	Lima         map[string]any    `yaml:"lima"`
	Rebuild      *string           `yaml:"rebuild"`
	Data         *DataDisk         `yaml:"data"`
	AllowMounts  *[]string         `yaml:"allowMounts"`
}

// layerKind says which fields a source may set.
type layerKind int

const (
	kindUser layerKind = iota
	kindProject
	kindNamed
)

// SettingsError is a bad value or unknown field in a settings source.
type SettingsError struct {
	Source string // file path, or "environment VM_CPUS", or "flag --cpus"
	Line   int
	Field  string
	Msg    string
}

func (e *SettingsError) Error() string {
	src := e.Source
	if e.Line > 0 {
		src = fmt.Sprintf("%s:%d", src, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", src, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", src, e.Field, e.Msg)
}

// parsedLayer is a decoded source with the line of each top-level field.
type parsedLayer struct {
	layer
	source string
	lines  map[string]int
	home   string
}

// parseLayer decodes one YAML settings source strictly.
func parseLayer(source string, data []byte, kind layerKind) (*parsedLayer, error) {
	pl := &parsedLayer{source: source, lines: map[string]int{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return pl, nil
		}
		return nil, &SettingsError{Source: source, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return pl, nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, &SettingsError{Source: source, Line: line, Msg: "holds a second YAML document; a settings file is one document (remove the ---)"}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return pl, nil
	}
	if err := checkTree(root, "", 0); err != nil {
		err.Source = source
		return nil, err
	}
	if expandedSize(root, maxSettingsSize) > maxSettingsSize {
		return nil, &SettingsError{Source: source, Msg: "expands to more than 1 MiB through YAML aliases (*name); a settings file may hold at most 1 MiB, so write the values out or shorten them"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &SettingsError{Source: source, Line: root.Line, Msg: "must be a mapping of settings (cpus: 4, memory: 4GiB, …)"}
	}
	allowed := fieldsOf(kind)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			return nil, &SettingsError{Source: source, Line: k.Line, Field: k.Value, Msg: "unknown field (known: " + strings.Join(allowed, ", ") + ")"}
		}
		pl.lines[k.Value] = k.Line
		if err := decodeField(&pl.layer, k.Value, v); err != nil {
			var se *SettingsError
			if errors.As(err, &se) {
				se.Source = source
				if se.Line == 0 {
					se.Line = v.Line
				}
				switch {
				case se.Field == "":
					se.Field = k.Value
				case strings.HasPrefix(se.Field, "["):
					se.Field = k.Value + se.Field
				default:
					se.Field = k.Value + "." + se.Field
				}
				return nil, se
			}
			return nil, &SettingsError{Source: source, Line: v.Line, Field: k.Value, Msg: cleanYAMLError(err)}
		}
	}
	return pl, nil
}

var yamlTypeErr = lazyre.New("^cannot unmarshal (!![a-z]+) `(.*)` into (.+)$")

var yamlLinePrefix = lazyre.New(`^line \d+: `)

func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := yamlLinePrefix().ReplaceAllString(te.Errors[0], "")
		if m := yamlTypeErr().FindStringSubmatch(msg); m != nil {
			want := "a " + m[3]
			switch {
			case strings.HasPrefix(m[3], "int"):
				want = "a whole number"
			case m[3] == "bool":
				want = "true or false"
			case strings.HasPrefix(m[3], "[]"):
				want = "a list"
			case strings.HasPrefix(m[3], "map"):
				want = "a mapping"
			case m[3] == "string":
				want = "a single value"
			}
			return fmt.Sprintf("must be %s, got %q", want, m[2])
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// Limits that keep a hostile settings file cheap to read and to render.
const (
	maxSettingsSize = 1 << 20 // bytes
	maxDepth        = 32      // nesting levels below a top-level field
	maxEnv          = 1000    // variables in env
	maxList         = 256     // entries in ports, mounts, sockets, provision
)

// checkTree refuses a key given twice in any mapping (YAML would silently
// keep one of them) and nesting deeper than maxDepth. It does not follow
// aliases: their anchors are checked where they are defined.
func checkTree(n *yaml.Node, path string, depth int) *SettingsError {
	if depth > maxDepth+1 {
		top, _, _ := strings.Cut(path, ".")
		top, _, _ = strings.Cut(top, "[")
		return &SettingsError{Line: n.Line, Field: top + fieldTail(path, top), Msg: fmt.Sprintf("nests deeper than %d levels", maxDepth)}
	}
	switch n.Kind {
	case yaml.MappingNode:
		first := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if k.Kind == yaml.ScalarNode {
				if l, ok := first[k.Value]; ok {
					return &SettingsError{Line: k.Line, Field: p, Msg: fmt.Sprintf("is given twice (first on line %d)", l)}
				}
				first[k.Value] = k.Line
			}
			if err := checkTree(n.Content[i+1], p, depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkTree(c, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldTail shortens a deep path for an error message: the top-level field
// and its first key are enough to find the place, with the line.
func fieldTail(path, top string) string {
	rest := strings.TrimPrefix(path, top)
	if i := strings.IndexAny(rest[min(1, len(rest)):], ".["); i >= 0 {
		return rest[:i+1]
	}
	return rest
}

// decodeInt decodes a whole number; YAML would truncate 1.5 to 1 silently.
func decodeInt(v *yaml.Node) (int, *SettingsError) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		got := v.Value
		if v.Kind != yaml.ScalarNode {
			got = map[yaml.Kind]string{yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping", yaml.AliasNode: "an alias"}[v.Kind]
		}
		return 0, &SettingsError{Line: v.Line, Msg: fmt.Sprintf("must be a whole number, got %q", got)}
	}
	var n int
	if err := v.Decode(&n); err != nil {
		return 0, &SettingsError{Line: v.Line, Msg: fmt.Sprintf("must be a whole number, got %q", v.Value)}
	}
	return n, nil
}

// decodeField decodes the value node v of the top-level field name into l.
func decodeField(l *layer, name string, v *yaml.Node) error {
	f := settingFieldNamed(name)
	if f == nil || f.decode == nil {
		return fmt.Errorf("unknown field")
	}
	if f.list && v.Kind == yaml.SequenceNode && len(v.Content) > maxList {
		return &SettingsError{Msg: fmt.Sprintf("lists %d entries; at most %d are allowed", len(v.Content), maxList)}
	}
	return f.decode(l, v)
}

// checkKeys refuses a key outside keys in the mapping n, or in each
// mapping of the sequence n.
func checkKeys(n *yaml.Node, keys ...string) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for idx, it := range items {
		if it.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(it.Content); i += 2 {
			if !slices.Contains(keys, it.Content[i].Value) {
				f := it.Content[i].Value
				if n.Kind == yaml.SequenceNode {
					f = fmt.Sprintf("[%d].%s", idx, f)
				}
				return &SettingsError{Line: it.Content[i].Line, Field: f, Msg: "unknown field (known: " + strings.Join(keys, ", ") + ")"}
			}
		}
	}
	return nil
}

// decodeEnv reads a mapping of variables. It walks the nodes itself: the
// YAML library's own check for repeated keys is quadratic in their number.
func decodeEnv(v *yaml.Node, dst *map[string]string) error {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return &SettingsError{Msg: "must be a mapping of variables (NAME: value)"}
	}
	if n := len(v.Content) / 2; n > maxEnv {
		return &SettingsError{Msg: fmt.Sprintf("has %d variables; at most %d are allowed", n, maxEnv)}
	}
	env := make(map[string]string, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
			return &SettingsError{Line: val.Line, Field: k.Value, Msg: "must be a single value"}
		}
		if val.ShortTag() == "!!null" {
			env[k.Value] = ""
			continue
		}
		env[k.Value] = val.Value
	}
	*dst = env
	return nil
}

func decodeScalarString(v *yaml.Node, dst **string) error {
	if v.Kind != yaml.ScalarNode {
		return &SettingsError{Msg: "must be a single value"}
	}
	s := v.Value
	*dst = &s
	return nil
}

// DefaultPorts are the guest ports forwarded when no layer sets ports:
// the ports dev servers listen on out of the box (Rails, Next.js and
// Express 3000/3001, Phoenix 4000, Angular 4200, Flask 5000, Vite 5173,
// Django 8000, many servers 8080, Jupyter 8888). Each gets the same host
// port when that is free and unclaimed, else one from the range, so two
// projects serving :3000 both stay reachable. "ports: []" forwards none.
// Named VMs forward only what their definition lists.
var DefaultPorts = []int{3000, 3001, 4000, 4200, 5000, 5173, 8000, 8080, 8888}

// Defaults returns the built-in settings for a host.
func Defaults() Settings {
	return Settings{
		CPUs:   min(4, runtime.NumCPU()),
		Memory: "4GiB",
		Disk:   "100GiB",
		Env:    map[string]string{},
		Ports:  slices.Clone(DefaultPorts),
		// Dev servers reload on a save: without it, a host edit reaches no
		// watcher in the guest over 9p or virtiofs.
		FileEvents: true,
		EnvFile:    ".env",
	}
}

// Sources names where each settings layer comes from.
type Sources struct {
	// UserConfig is the user defaults file (may not exist).
	UserConfig string
	// ProjectFile is the project's vmhook.yaml or a named VM definition (may
	// not exist).
	ProjectFile string
	// Named marks ProjectFile as a named VM definition (allows rebuild).
	Named bool
	// Env is the environment, as from os.Environ; only VM_* keys are read.
	Env []string
	// Flags is the highest layer, e.g. from `use vm --cpus 8`; when nil,
	// the flags remembered in Remembered take its place.
	Flags Flags
	// OwnEnv keeps Env's VM_* variables as the layer even when Remembered
	// records others (use vm, which records them).
	OwnEnv bool
	// Remembered is the record of the flags of the last `use vm` or
	// `config` (may not exist).
	Remembered string
	// ProjectDir anchors relative paths in the project file.
	ProjectDir string
	// Home expands ~ in paths.
	Home string
}

// LoadSettings applies every layer in order and validates the result.
func LoadSettings(src Sources) (Settings, error) {
	s := Defaults()
	if src.Named {
		// A named VM is the user's own machine: like its mounts, its
		// forwarded ports are only the ones its definition asks for.
		s.Ports = nil
	}
	var layers []*parsedLayer
	for _, f := range []struct {
		path string
		kind layerKind
	}{{src.UserConfig, kindUser}, {src.ProjectFile, map[bool]layerKind{false: kindProject, true: kindNamed}[src.Named]}} {
		if f.path == "" {
			continue
		}
		data, err := readLimited(f.path, maxSettingsSize)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if errors.Is(err, errTooLarge) {
			return Settings{}, &SettingsError{Source: f.path, Msg: "is larger than 1 MiB; a settings file may hold at most 1 MiB"}
		}
		if err != nil {
			return Settings{}, fmt.Errorf("read settings: %w", err)
		}
		pl, err := parseLayer(f.path, data, f.kind)
		if err != nil {
			return Settings{}, err
		}
		pl.home = src.Home
		if f.kind == kindUser {
			if pl.AllowMounts != nil {
				for _, m := range *pl.AllowMounts {
					s.AllowMounts = append(s.AllowMounts, expandHome(src.Home, m))
				}
			}
			if err := pl.resolvePaths(""); err != nil {
				return Settings{}, err
			}
		} else if err := pl.resolvePaths(src.ProjectDir); err != nil {
			return Settings{}, err
		}
		if f.kind == kindProject && pl.Mounts != nil {
			for i, m := range *pl.Mounts {
				if m.Location == filepath.Clean(src.ProjectDir) {
					return Settings{}, &SettingsError{Source: f.path, Line: pl.lines["mounts"], Field: fmt.Sprintf("mounts[%d]", i), Msg: fmt.Sprintf("%q is the project directory, which is mounted writable already; list a directory inside it", m.Location)}
				}
			}
		}
		layers = append(layers, pl)
	}
	// A process takes the VM_* variables of the last use vm (and, without
	// flags of its own, its flags), so it renders what use vm rendered.
	environ, flags := src.Env, src.Flags
	if src.Remembered != "" {
		recFlags, recEnv, recorded := loadRemembered(src.Remembered)
		if flags == nil {
			flags = recFlags
		}
		if recorded && !src.OwnEnv {
			environ = recEnv
		}
	}
	envLayer, err := envLayer(environ, src.Home)
	if err != nil {
		return Settings{}, err
	}
	layers = append(layers, envLayer...)
	flagLayer, err := flagsLayer(flags, src.Home)
	if err != nil {
		return Settings{}, err
	}
	layers = append(layers, flagLayer...)
	for _, pl := range layers {
		if err := s.apply(pl); err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

var errTooLarge = errors.New("file too large")

// readLimited reads at most limit bytes of path, failing with errTooLarge
// when there is more, so a huge (or endless) file costs no more than that.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// badFunc makes the error of a bad value of field.
type badFunc func(field, format string, args ...any) error

// apply validates the fields set in pl and lays them over s, field by field
// in the table's order.
func (s *Settings) apply(pl *parsedLayer) error {
	bad := func(field, format string, args ...any) error {
		top := field
		if i := strings.IndexAny(field, "[."); i >= 0 {
			top = field[:i]
		}
		return &SettingsError{Source: pl.source, Line: pl.lines[top], Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	for _, f := range settingFields {
		if f.apply == nil {
			continue
		}
		if err := f.apply(s, &pl.layer, bad, pl.home); err != nil {
			return err
		}
	}
	return nil
}

// digestRE is the digest form Lima accepts, with the length of each
// algorithm's hash.
var digestRE = lazyre.New(`^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$`)

var envName = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// isSSHDir reports whether mounting p would expose the ssh keys: p is
// ~/.ssh, inside it, or holds it (such as ~ or /).
func isSSHDir(home, p string) bool {
	if home == "" {
		return false
	}
	p = filepath.Clean(expandHome(home, p))
	ssh := filepath.Join(home, ".ssh")
	return within(p, ssh) || within(ssh, p) || within(realPath(ssh), p)
}

// resolvePaths makes the host paths of a layer absolute: relative to dir
// for a project file (the directory the file is in), and requires them
// absolute (or ~) for the user config, whose directory means nothing to
// what it names. The same holds for the host paths of its raw lima:
// settings, except mounts, which Lima itself refuses relative.
func (pl *parsedLayer) resolvePaths(dir string) error {
	bad := func(top, field, format string, args ...any) error {
		return &SettingsError{Source: pl.source, Line: pl.lines[top], Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	abs := func(top, field, p string) (string, error) {
		p = expandHome(pl.home, p)
		if filepath.IsAbs(p) {
			return filepath.Clean(p), nil
		}
		if dir == "" {
			return "", bad(top, field, "%q must be an absolute path (or start with ~/): the user config has no directory of its own", p)
		}
		return filepath.Join(dir, p), nil
	}
	if pl.Mounts != nil {
		ms := *pl.Mounts
		for i := range ms {
			loc, err := abs("mounts", fmt.Sprintf("mounts[%d]", i), ms[i].Location)
			if err != nil {
				return err
			}
			ms[i].Location = loc
		}
	}
	if pl.Sockets != nil {
		ss := *pl.Sockets
		for i := range ss {
			field := fmt.Sprintf("sockets[%d].host", i)
			if strings.TrimSpace(ss[i].Host) == "" {
				return bad("sockets", field, "is empty; name the host socket's path, such as /run/docker.sock")
			}
			host, err := abs("sockets", field, ss[i].Host)
			if err != nil {
				return err
			}
			ss[i].Host = host
		}
	}
	if pl.Image != nil {
		loc := pl.Image.Location
		if strings.TrimSpace(loc) == "" {
			return bad("image", "image.location", "is empty; name an image file or URL, or leave image out for the default")
		}
		if _, local := localFile(loc); local && !strings.HasPrefix(loc, "file://") {
			p, err := abs("image", "image.location", loc)
			if err != nil {
				return err
			}
			pl.Image.Location = p
		}
	}
	if pl.Lima != nil {
		for _, hp := range limaHostPaths(pl.Lima) {
			field := "lima." + hp.field
			if strings.TrimSpace(hp.value) == "" {
				return bad("lima", field, "is empty; name a path or leave the field out")
			}
			if hasTemplate(hp.value) {
				return bad("lima", field, "%q holds \"{{\", which Lima would expand as a template; rename it or leave it out", hp.value)
			}
			p := expandHome(pl.home, hp.value)
			if !filepath.IsAbs(p) && hp.kind == pathMount {
				return bad("lima", field, "%q is relative, which Lima refuses; write it absolute, or list it under vmhook's own mounts:, where it is relative to the project", hp.value)
			}
			p, err := abs("lima", field, p)
			if err != nil {
				return err
			}
			hp.set(p)
		}
	}
	return nil
}

// resolve resolves every host path in s and refuses the ones vmhook will
// never emit into a Lima config: a path Lima would expand as a template, and
// a mount that holds the ssh keys, even through a symbolic link. Each path
// is replaced by its real path (a socket or file Lima creates, up to its
// directory), so that what Lima reads is what vmhook judges, and a link
// changed later cannot change it; each file Lima would copy into the VM at
// create (a provision or probe file:, a CA certificate file) is read now,
// once and without following a link, and handed to Lima as its content.
// What resolved to another path than written, and every file read, is
// recorded in s.HostPaths. Whether a path outside the project may be used
// is decided on the rendered config (see Project.Needs), not here.
func (s *Settings) resolve(home, source string) error {
	bad := func(field, format string, args ...any) error {
		return &SettingsError{Source: source, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	const template = "%q holds \"{{\", which Lima would expand as a template; rename it or leave it out"
	if err := s.checkControl(source); err != nil {
		return err
	}
	s.HostPaths = nil
	note := func(field, written, resolved string) {
		if written != resolved {
			s.HostPaths = append(s.HostPaths, HostPath{Field: field, Written: written, Resolved: resolved})
		}
	}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		field := fmt.Sprintf("mounts[%d]", i)
		if hasTemplate(m.Location) {
			return bad(field, template, m.Location)
		}
		real := realPath(m.Location)
		if isSSHDir(home, real) {
			return bad(field, "%q would expose your ssh keys; use forwardAgent: true instead", m.Location)
		}
		if hasTemplate(real) {
			return bad(field, template, real)
		}
		note(field, m.Location, real)
		m.Location = real
	}
	for i, a := range s.AllowMounts {
		s.AllowMounts[i] = realPath(a)
		note(fmt.Sprintf("allowMounts[%d]", i), a, s.AllowMounts[i])
	}
	for i := range s.Sockets {
		so := &s.Sockets[i]
		field := fmt.Sprintf("sockets[%d]", i)
		for _, p := range []string{so.Host, so.Guest} {
			if hasTemplate(p) {
				return bad(field, template, p)
			}
		}
		kind := pathConnect
		if so.SocketToHost() {
			kind = pathListen
		}
		real, err := resolveHostPath(so.Host, kind)
		if err != nil {
			return bad(field, "%v", err)
		}
		if hasTemplate(real) {
			return bad(field, template, real)
		}
		note(field+".host", so.Host, real)
		so.Host = real
	}
	if hasTemplate(s.Image.Location) {
		return bad("image", template, s.Image.Location)
	}
	if p, local := localFile(s.Image.Location); local && s.Image.Location != "" {
		real := realPath(p)
		if hasTemplate(real) {
			return bad("image", template, real)
		}
		note("image.location", p, real)
		if p != s.Image.Location {
			real = "file://" + real
		}
		s.Image.Location = real
	}
	if s.Lima == nil {
		return nil
	}
	for _, hp := range limaHostPaths(s.Lima) {
		field := "lima." + hp.field
		if hasTemplate(hp.value) {
			return bad(field, template, hp.value)
		}
		real, err := resolveHostPath(hp.value, hp.kind)
		if err != nil {
			return bad(field, "%v", err)
		}
		if hasTemplate(real) {
			return bad(field, template, real)
		}
		if hp.kind != pathInline {
			note(field, hp.value, real)
			hp.set(real)
			continue
		}
		if isSSHDir(home, real) {
			return bad(field, "%q would hand a file of your ssh directory to the guest; name another file", hp.value)
		}
		data, err := readInline(real)
		if err != nil {
			return bad(field, "cannot read the %s: %v", hp.what, err)
		}
		hp.inline(string(data))
		s.HostPaths = append(s.HostPaths, HostPath{Field: field, Written: hp.value, Resolved: real, Inline: true, What: hp.what, Hash: fullHash(data)})
	}
	dropInlined(s.Lima)
	return nil
}

func within(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	if dir == string(filepath.Separator) {
		return filepath.IsAbs(p)
	}
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

func expandHome(home, p string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, p[1:])
	}
	return p
}

func setCPUs(l *layer, v, _ string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("cpus: %q is not a whole number", v)
	}
	l.CPUs = &n
	return nil
}

func setPorts(l *layer, vals []string) error {
	ports := []int{}
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("ports: %q is not a port number", f)
			}
			ports = append(ports, n)
		}
	}
	l.Ports = &ports
	return nil
}

var sizeRE = lazyre.New(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(IB|B)?\s*$`)

// normalizeSize accepts sizes such as 4GiB, 4G, 4096MiB or 4gb and returns
// Lima's binary-unit form.
func normalizeSize(v string) (string, error) {
	m := sizeRE().FindStringSubmatch(strings.ToUpper(v[:min(len(v), 64)]))
	if m == nil {
		return "", fmt.Errorf("%q is not a size such as 4GiB or 512MiB", v)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f <= 0 {
		return "", fmt.Errorf("%q must be larger than zero", v)
	}
	unit := m[2]
	if unit == "" {
		return "", fmt.Errorf("%q is not a size such as 4GiB or 512MiB", v)
	}
	mib := map[string]float64{"K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit] * f
	if mib < 256 {
		return "", fmt.Errorf("%q is too small (at least 256MiB)", v)
	}
	return strconv.FormatFloat(f, 'f', -1, 64) + unit + "iB", nil
}

// deepMerge lays src over dst: mappings merge key by key, anything else
// replaces.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// checkHostSocket says what is wrong with p as the host end of a to-host
// socket, where Lima creates the socket file, replacing what is there; ""
// when nothing is.
func checkHostSocket(home, p string) string {
	if !filepath.IsAbs(p) {
		return fmt.Sprintf("host %q must be an absolute path: Lima creates the socket there", p)
	}
	if isSSHDir(home, p) {
		return fmt.Sprintf("host %q is inside your ssh directory; pick a path elsewhere, such as /tmp or ~/.local/run", p)
	}
	if fi, err := os.Lstat(p); err == nil && fi.Mode().Type() != os.ModeSocket {
		return fmt.Sprintf("host %q exists and is not a socket, which Lima would replace; pick a new path", p)
	}
	return ""
}
