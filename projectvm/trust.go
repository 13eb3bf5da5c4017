package projectvm

// The trust model. A project's own files (vmhook.yaml, the flags of `use vm`,
// a committed .lima/config.yaml) may come from anyone, so what they may ask
// for on their own is limited to the guest: its size, ports on 127.0.0.1,
// environment, provisioning, mounts inside the project and a session.
// Anything else that reaches the host (another host directory, a host
// socket, the ssh agent or keys, an image file outside the project, Lima
// settings vmhook does not model, a config vmhook did not write) is listed as
// an Access and needs the user's consent (`vmhook allow`), recorded per
// project and per content, unless the user's own config asks for it.
//
// The judgement is made on the final Lima document, after raw `lima:`
// settings were merged, so nothing can slip past it through Lima's own keys.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vmhook/vmhook/internal/shellquote"
	"go.yaml.in/yaml/v3"
)

// Access is one way a VM's config reaches the host beyond the project.
type Access struct {
	// Kind groups accesses: mount, socket, ssh, port, image, copy, lima or
	// config.
	Kind string
	// Path is the resolved host path of a mount, for allowMounts.
	Path string
	// Text is the line shown to the user; consent records it.
	Text string
}

// guestOnlyKeys are top-level Lima settings that stay inside the guest (or
// only size it), so a project may set them through lima: on its own.
var guestOnlyKeys = []string{
	"arch", "cpuType", "cpus", "disk", "dns", "guestInstallPrefix", "hostResolver", "memory", "message",
	"minimumLimaVersion", "mountInotify", "mountType", "nestedVirtualization", "os", "param", "plain",
	"timezone", "tpm", "upgradePackages", "user", "vmOpts", "vmType",
}

// checkedKeys are top-level Lima settings hostAccess looks into: they may
// name host paths.
var checkedKeys = []string{"caCerts", "containerd", "copyToHost", "env", "images", "mounts", "portForwards", "probes", "provision", "ssh"}

// accessCtx is what hostAccess judges a document against.
type accessCtx struct {
	// dir is the project's real directory; "" for a named VM.
	dir  string
	home string
	name string
	// generated marks a document vmhook rendered: there a template in a
	// path, a mount of the ssh keys or a changed nesting guard is an error
	// in the settings, not something to allow.
	generated bool
	// source names the settings file in errors.
	source string
	// ownRules is the number of port rules vmhook rendered itself, the
	// last of portForwards (configData.ownPortRules); 0 in a document
	// written by hand.
	ownRules int
	// paths are the settings' host paths as written and as resolved
	// (Settings.HostPaths): a line names what is reached, and what the
	// settings wrote only as "through".
	paths []HostPath
}

// through is " (through WRITTEN)" when the host path real was reached
// through a link, as the settings or a document by hand wrote it; "" when
// it was written as it is.
func (c accessCtx) through(real, written string) string {
	for _, hp := range c.paths {
		if hp.Resolved == real && !hp.Inline && hp.Written != real {
			return " (through " + shown(hp.Written) + ")"
		}
	}
	return c.throughWritten(real, written)
}

// throughWritten is " (through WRITTEN)" when written, as it was written,
// is another path than real.
func (c accessCtx) throughWritten(real, written string) string {
	if written = expandHome(c.home, written); written != "" && filepath.Clean(written) != real {
		return " (through " + shown(written) + ")"
	}
	return ""
}

// hasTemplate reports whether Lima would expand s as a Go template.
func hasTemplate(s string) bool { return strings.Contains(s, "{{") }

// templateError is the error for a path Lima would expand as a template.
func templateError(where, path string) error {
	return fmt.Errorf("%s %q holds \"{{\", which Lima would expand as a template; rename it or leave it out", where, path)
}

// hostAccess lists what the Lima config document doc gives the guest of the
// host, beyond the project directory and what any project may ask for.
func hostAccess(doc []byte, c accessCtx) ([]Access, error) {
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		if c.generated {
			return nil, fmt.Errorf("render config: %w", err)
		}
		// Lima will refuse it too; the config as a whole is what is allowed.
		return nil, nil
	}
	var out []Access
	add := func(kind, path, format string, args ...any) {
		out = append(out, Access{Kind: kind, Path: path, Text: printable(fmt.Sprintf(format, args...))})
	}
	// refuse is an error in a generated document; in one written by hand it
	// is shown, for the user to allow or not.
	refuse := func(err error, kind, text string) error {
		if c.generated {
			return fmt.Errorf("%s: Lima config %w", c.source, err)
		}
		add(kind, "", "%s", text)
		return nil
	}
	str, items := asString, mapItems
	abs := func(p string) string {
		p = expandHome(c.home, p)
		if !filepath.IsAbs(p) && c.dir != "" {
			p = filepath.Join(filepath.Dir(ProjectConfig(c.dir)), p)
		}
		return filepath.Clean(p)
	}
	hostPath := func(p string) string { return realPath(abs(p)) }

	for i, mt := range items(m["mounts"]) {
		loc, point := str(mt["location"]), str(mt["mountPoint"])
		for _, p := range []string{loc, point} {
			if hasTemplate(p) {
				if err := refuse(templateError(fmt.Sprintf("mounts[%d]", i), p), "mount", fmt.Sprintf("mount %s (a Lima template)", shown(p))); err != nil {
					return nil, err
				}
			}
		}
		real := hostPath(loc)
		if c.dir != "" && within(real, c.dir) {
			continue
		}
		mode := "read-only"
		if w, _ := mt["writable"].(bool); w {
			mode = "writable"
		}
		if isSSHDir(c.home, real) {
			err := fmt.Errorf("mounts[%d]: %q would expose your ssh keys; use forwardAgent: true instead", i, loc)
			if err := refuse(err, "mount", fmt.Sprintf("mount %s%s %s, which holds your ssh keys", shown(real), c.through(real, abs(loc)), mode)); err != nil {
				return nil, err
			}
			continue
		}
		add("mount", real, "mount %s%s %s", shown(real), c.through(real, abs(loc)), mode)
	}
	// The mount type decides what a guest reaches through any mount, the
	// project's included: 9p and virtiofs are served by the hypervisor from
	// the mounted directories only; reverse-sshfs by an sftp-server on the
	// host, which root in the guest can ask for every file the user can.
	if mt := str(m["mountType"]); mt == "reverse-sshfs" && len(items(m["mounts"])) > 0 {
		add("lima", "", "mount type reverse-sshfs: root in the guest can read and write every file you can on the host, not only the mounts")
	}

	if ssh, ok := m["ssh"].(map[string]any); ok {
		for _, k := range []struct{ key, text string }{
			{"forwardAgent", "forward your ssh agent (ssh.forwardAgent)"},
			{"loadDotSSHPubKeys", "load your ~/.ssh/*.pub keys into the guest (ssh.loadDotSSHPubKeys)"},
			{"forwardX11", "forward X11 to your display (ssh.forwardX11)"},
			{"forwardX11Trusted", "trusted X11 forwarding to your display (ssh.forwardX11Trusted)"},
		} {
			if on, _ := ssh[k.key].(bool); on {
				add("ssh", "", "%s", k.text)
			}
		}
	}

	rules, _ := m["portForwards"].([]any)
	for i, r := range rules {
		pf, ok := r.(map[string]any)
		if !ok {
			continue
		}
		hs, gs := str(pf["hostSocket"]), str(pf["guestSocket"])
		for _, p := range []string{hs, gs} {
			if hasTemplate(p) {
				if err := refuse(templateError(fmt.Sprintf("portForwards[%d]", i), p), "socket", fmt.Sprintf("socket %s (a Lima template)", shown(p))); err != nil {
					return nil, err
				}
			}
		}
		if ignore, _ := pf["ignore"].(bool); ignore {
			continue
		}
		if hs != "" {
			if rev, _ := pf["reverse"].(bool); rev {
				real := hostPath(hs)
				add("socket", "", "host socket %s%s, reachable in the guest at %s", shown(real), c.through(real, abs(hs)), shown(gs))
			} else {
				real := filepath.Join(hostPath(filepath.Dir(abs(hs))), filepath.Base(hs))
				add("socket", "", "guest socket %s, served on the host at %s%s", shown(gs), shown(real), c.through(real, abs(hs)))
			}
			continue
		}
		// vmhook's own rules, the ports it forwards through the registry,
		// come last; any rule before them that forwards wins over them and
		// over the catch-all, on whichever host port it names.
		if i >= len(rules)-c.ownRules {
			continue
		}
		rule, public := portRule(pf), false
		if a := net.ParseIP(str(pf["hostIP"])); pf["hostIP"] != nil && (a == nil || !a.IsLoopback()) {
			public = true
		}
		switch {
		case public:
			add("port", "", "%s, reachable from other machines and bypassing vmhook's port isolation", rule)
		case c.generated || strings.Contains(rule, "-"):
			// In a file written by hand, whose use as it is the user
			// allows, a rule for one port on 127.0.0.1 is what vmhook
			// writes itself; a range is named.
			add("port", "", "%s, bypassing vmhook's port isolation", rule)
		}
	}

	{
		env, _ := m["env"].(map[string]any)
		guard := map[string]string{"SYSINIT_IN_VM": "1"}
		if c.name != "" {
			guard["VMHOOK_VM"] = c.name
		}
		for _, k := range []string{"SYSINIT_IN_VM", "VMHOOK_VM"} {
			want, set := guard[k]
			if !set {
				continue
			}
			if got, ok := env[k].(string); !ok || got != want {
				err := fmt.Errorf("env %s is vmhook's nesting guard and must stay %q; remove it from env and lima", k, want)
				text := fmt.Sprintf("no nesting guard: env %s is not set", k)
				if ok {
					text = fmt.Sprintf("no nesting guard: env %s is %q, not %q", k, got, want)
				}
				if err := refuse(err, "guard", text); err != nil {
					return nil, err
				}
			}
		}
	}

	// hostFile lists a file Lima reads on the host (an image, a script, a
	// certificate) unless it is a URL or inside the project.
	hostFile := func(field, loc, what string) error {
		if loc == "" {
			return nil
		}
		if hasTemplate(loc) {
			return refuse(templateError(field, loc), "file", fmt.Sprintf("%s %s (a Lima template)", what, shown(loc)))
		}
		p, local := localFile(loc)
		if !local {
			return nil
		}
		real := hostPath(p)
		if c.dir != "" && within(real, c.dir) {
			return nil
		}
		add("file", real, "read the %s %s%s from the host", what, shown(real), c.through(real, abs(p)))
		return nil
	}
	// The files vmhook read for Lima, whose content stands in the document
	// in their place, are judged where they were read.
	for _, hp := range c.paths {
		if !hp.Inline || c.dir != "" && within(hp.Resolved, c.dir) {
			continue
		}
		add("file", hp.Resolved, "read the %s %s%s from the host (%s)", hp.What, shown(hp.Resolved), c.throughWritten(hp.Resolved, hp.Written), hp.Field)
	}
	// locator is the location of a Lima file reference: a string, or a
	// mapping with url (or location).
	locator := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		mm, _ := v.(map[string]any)
		if u := str(mm["url"]); u != "" {
			return u
		}
		return str(mm["location"])
	}
	for i, im := range items(m["images"]) {
		locs := []string{str(im["location"])}
		for _, k := range []string{"kernel", "initrd"} {
			locs = append(locs, locator(im[k]))
		}
		for _, loc := range locs {
			if err := hostFile(fmt.Sprintf("images[%d]", i), loc, "image file"); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range []string{"provision", "probes"} {
		for i, pr := range items(m[k]) {
			if err := hostFile(fmt.Sprintf("%s[%d].file", k, i), locator(pr["file"]), k+" script"); err != nil {
				return nil, err
			}
		}
	}
	if cd, ok := m["containerd"].(map[string]any); ok {
		for i, a := range items(cd["archives"]) {
			if err := hostFile(fmt.Sprintf("containerd.archives[%d]", i), str(a["location"]), "containerd archive"); err != nil {
				return nil, err
			}
		}
	}
	if ca, ok := m["caCerts"].(map[string]any); ok {
		files, _ := ca["files"].([]any)
		for i, f := range files {
			if err := hostFile(fmt.Sprintf("caCerts.files[%d]", i), str(f), "CA certificate file"); err != nil {
				return nil, err
			}
		}
	}

	for _, cp := range items(m["copyToHost"]) {
		add("copy", "", "copy the guest's %s to the host at %s", shown(str(cp["guest"])), shown(str(cp["host"])))
	}

	more, err := ruleAccess(m, c, hostPath)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)

	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(guestOnlyKeys, k) || slices.Contains(checkedKeys, k) {
			continue
		}
		v, _ := json.Marshal(m[k])
		text := string(v)
		if len(text) > 200 {
			text = text[:200] + "… (sha256 " + hashHex(v) + ")"
		}
		add("lima", "", "Lima setting %s: %s", shown(k), text)
	}
	return out, nil
}

// portRule says which ports the Lima port rule pf forwards where, with
// Lima's defaults: every guest port when it names none, the same port
// numbers on the host, and 127.0.0.1.
func portRule(pf map[string]any) string {
	ports := func(rangeKey, portKey string) string {
		if r, ok := pf[rangeKey].([]any); ok && len(r) == 2 {
			return shown(fmt.Sprintf("%v-%v", r[0], r[1]))
		}
		if v, ok := pf[portKey]; ok && normalize(v) != int64(0) {
			return shown(fmt.Sprint(v))
		}
		return ""
	}
	guest := ports("guestPortRange", "guestPort")
	if guest == "" {
		guest = "1-65535"
	}
	host := ports("hostPortRange", "hostPort")
	if host == "" {
		host = guest
	}
	ip := "127.0.0.1"
	if v, ok := pf["hostIP"]; ok {
		ip = shown(fmt.Sprint(v))
	}
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	what := "guest "
	if proto, ok := pf["proto"]; ok && proto != "tcp" {
		what += shown(fmt.Sprint(proto)) + " "
	}
	what += "port"
	if strings.Contains(guest, "-") {
		what += "s"
	}
	return fmt.Sprintf("%s %s forwarded to host %s:%s", what, guest, ip, host)
}

// localFile says whether a location Lima reads is a file on the host, and
// its path.
func localFile(loc string) (string, bool) {
	if p, ok := strings.CutPrefix(loc, "file://"); ok {
		return p, true
	}
	if strings.Contains(loc, "://") {
		return "", false
	}
	return loc, true
}

// realPath resolves every symbolic link in the absolute path p. A part that
// does not exist yet is kept as written, below its resolved parent, and a
// dangling link is followed as far as it goes.
func realPath(p string) string {
	return realPathDepth(filepath.Clean(p), 0)
}

func realPathDepth(p string, depth int) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir := filepath.Dir(p)
	if dir == p || depth > 40 {
		return p
	}
	if target, err := os.Readlink(p); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		return realPathDepth(filepath.Clean(target), depth+1)
	}
	return filepath.Join(realPathDepth(dir, depth+1), filepath.Base(p))
}

// accessTexts returns the sorted, distinct lines of accesses.
func accessTexts(as []Access) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Text)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// itemsHash is the hash consent records for a list of lines.
func itemsHash(items []string) string {
	s := sha256.Sum256([]byte(strings.Join(items, "\n")))
	return hex.EncodeToString(s[:])
}

// fullHash is the SHA-256 of data, in hex.
func fullHash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ConsentError says what a project asks for that the user has not allowed,
// and how to allow it.
type ConsentError struct {
	Dir  string
	Held []string
	// Changed marks a project that was allowed before, asking for
	// something else now.
	Changed bool
	// Config is set when the config file is not what vmhook wrote: using
	// it as it is is one of Held, and the error says so first, with the
	// way back to a generated file.
	Config *HandConfig
}

// HandConfig is a project's config file as vmhook did not write it.
type HandConfig struct {
	Path string
	// Edited marks a file that starts with vmhook's header: vmhook wrote
	// it, and it was edited since. Without the header, someone wrote it
	// from scratch.
	Edited bool
	// Line is the consent line for using the file as it is, one of Held.
	Line string
}

func (e *ConsentError) Error() string {
	run := "vmhook allow --project " + quoteArg(e.Dir)
	if hasControl(e.Dir) {
		// Shown escaped, the path could not be pasted back.
		run = "vmhook allow (in that directory)"
	}
	if e.Config != nil {
		return e.configError(run)
	}
	what := "asks for host access you have not allowed"
	if e.Changed {
		what = "asks for host access that changed since you allowed it"
	}
	return printable(fmt.Sprintf("%s %s, held back: %s; if you trust that, run: %s",
		e.Dir, what, strings.Join(e.Held, "; "), run))
}

// configError names a config file vmhook did not write as such, with both
// ways on: back to a generated file, or keeping this one. Host access the
// file asks for beyond that is listed as any project's is.
func (e *ConsentError) configError(run string) string {
	c := e.Config
	what, fix := "was edited by hand", "move the change into "+ProjectFile+" and delete the file (vmhook then writes it again)"
	if !c.Edited {
		what, fix = "was not written by vmhook", "move what it sets into "+ProjectFile+" and delete the file (vmhook then writes one)"
	}
	access := slices.DeleteFunc(slices.Clone(e.Held), func(s string) bool { return s == c.Line })
	if len(access) == 0 {
		if e.Changed {
			what += " and changed since you allowed it"
		}
		return printable(fmt.Sprintf("%s %s; %s, or keep the file as it is: %s", shown(c.Path), what, fix, run))
	}
	ask := "asks for host access you have not allowed"
	if e.Changed {
		ask = "asks for host access that changed since you allowed it"
	}
	return printable(fmt.Sprintf("%s %s and %s, held back: %s; %s, or, if you trust that, keep the file as it is: %s",
		shown(c.Path), what, ask, strings.Join(access, "; "), fix, run))
}

// quoteArg quotes s for a POSIX shell when it needs it.
func quoteArg(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:=@%", r)) {
			return shellquote.POSIX(s)
		}
	}
	if s == "" {
		return "''"
	}
	return s
}

// allowRecord is the user's consent for one project: the lines they allowed
// and their hash.
type allowRecord struct {
	Project Owner     `json:"project"`
	Hash    string    `json:"hash"`
	Items   []string  `json:"items"`
	Time    time.Time `json:"time"`
}

// writtenRecord remembers the config vmhook last wrote for a project, so a
// config it did not write on this machine is never taken for its own.
type writtenRecord struct {
	Project Owner `json:"project"`
	// Output is the SHA-256 of the whole file as written.
	Output string `json:"output"`
	// User is the SHA-256 of the user config the file was judged against.
	User string `json:"user"`
	// Needs are the accesses the file asks for that need consent.
	Needs []string `json:"needs"`
}

func (p *Project) allowPath() string   { return filepath.Join(p.StateDir, allowedFile) }
func (p *Project) writtenPath() string { return filepath.Join(p.StateDir, writtenFile) }

// readJSON reads a record of vmhook's own; a missing or unreadable one reads
// as empty, which only ever means "ask again".
func readJSON(path string, v any) {
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, v)
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %q: %w", filepath.Dir(path), err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// userConfigHash is the hash of the user config file ("" when there is none).
func userConfigHash(e Env) string {
	data, err := readLimited(e.UserConfig(), maxSettingsSize)
	if err != nil {
		return ""
	}
	return fullHash(data)
}

// checkConsent returns a *ConsentError unless the user allowed exactly needs
// for p; hand is the config file when vmhook did not write it as it is.
func (p *Project) checkConsent(needs []string, hand *HandConfig) error {
	if p.Named || len(needs) == 0 {
		return nil
	}
	var rec allowRecord
	readJSON(p.allowPath(), &rec)
	if rec.Project == p.Owner() && rec.Hash == itemsHash(needs) {
		return nil
	}
	return &ConsentError{Dir: p.Dir, Held: needs, Changed: rec.Project == p.Owner() && rec.Hash != "", Config: hand}
}

// userAccess is what the user's own config alone asks for in this project:
// that needs no consent.
func (p *Project) userAccess(e Env) ([]Access, error) {
	s, err := LoadSettings(Sources{UserConfig: e.UserConfig(), Home: e.Home, ProjectDir: p.Dir})
	if err != nil {
		return nil, err
	}
	if err := s.resolve(e.Home, e.UserConfig()); err != nil {
		return nil, err
	}
	u := *p
	u.Settings = s
	body, err := render(u.configData(nil))
	if err != nil {
		return nil, err
	}
	return hostAccess(body, u.accessCtx(e, true))
}

func (p *Project) accessCtx(e Env, generated bool) accessCtx {
	c := accessCtx{dir: p.Dir, home: e.Home, name: p.Name, generated: generated, source: p.SettingsPath}
	if generated {
		c.ownRules = p.configData(nil).ownPortRules()
		c.paths = p.Settings.HostPaths
	}
	if p.Named {
		c.dir = ""
	}
	return c
}

// needs returns what the config document doc asks for that needs consent:
// its accesses, less what the user's config asks for or allowMounts covers.
func (p *Project) needs(e Env, doc []byte, generated bool) ([]string, error) {
	all, err := hostAccess(doc, p.accessCtx(e, generated))
	if err != nil || p.Named {
		return nil, err
	}
	own, err := p.userAccess(e)
	if err != nil {
		return nil, err
	}
	ownTexts := accessTexts(own)
	var held []Access
	for _, a := range all {
		if slices.Contains(ownTexts, a.Text) {
			continue
		}
		if a.Kind == "mount" && slices.ContainsFunc(p.Settings.AllowMounts, func(d string) bool { return within(a.Path, d) }) {
			continue
		}
		held = append(held, a)
	}
	if !generated {
		held = append(held, Access{Kind: "config", Text: p.configLine(doc)})
	}
	return accessTexts(held), nil
}

// configLine is the consent line for using doc, a config vmhook did not
// write, as it is.
func (p *Project) configLine(doc []byte) string {
	return printable(fmt.Sprintf("use %s as it is: vmhook did not write it here (sha256 %s)", shown(p.ConfigPath), fullHash(doc)[:16]))
}

// renderNeeds renders p's config in memory and returns what it needs consent
// for. Host ports do not matter to it.
func (p *Project) renderNeeds(e Env) ([]string, error) {
	body, err := render(p.configData(nil))
	if err != nil {
		return nil, err
	}
	return p.needs(e, body, true)
}

// Needs returns what the project's config, as vmhook would use it now, asks
// for beyond what a project may have on its own: each line is one access
// that needs the user's consent.
func (p *Project) Needs(e Env) ([]string, error) {
	if err := p.checkLimaDir(false); err != nil {
		return nil, err
	}
	st, err := p.configState(e)
	if err != nil {
		return nil, err
	}
	if st.result == ConfigWritten {
		return p.renderNeeds(e)
	}
	return st.needs, nil
}

// Allow records the user's consent to what p asks for now (as Needs lists
// it) and returns those lines; nil means nothing needed consent.
func Allow(e Env, p *Project) ([]string, error) {
	needs, err := p.Needs(e)
	if err != nil || len(needs) == 0 {
		return nil, err
	}
	rec := allowRecord{Project: p.Owner(), Hash: itemsHash(needs), Items: needs, Time: time.Now().UTC()}
	if err := writeJSON(p.allowPath(), rec); err != nil {
		return nil, fmt.Errorf("record consent: %w", err)
	}
	return needs, touchTrustStamp(e)
}

// Deny forgets the user's consent for p; it reports whether there was any.
func Deny(e Env, p *Project) (bool, error) {
	err := os.Remove(p.allowPath())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoke consent: %w", err)
	}
	return true, touchTrustStamp(e)
}

// touchTrustStamp marks a change of consent: `use vm` watches this file and
// does not reuse an answer older than it.
func touchTrustStamp(e Env) error {
	return writeJSON(e.TrustStamp(), time.Now().UTC().Format(time.RFC3339Nano))
}

// readNoFollow reads a file vmhook owns in a project, refusing a symbolic
// link or anything but a regular file there.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, linkError(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file; remove it (rm %s) and run the command again", path, quoteArg(path))
	}
	// The file is read before any consent, on every cd: it is capped like a
	// settings file.
	data, err := io.ReadAll(io.LimitReader(f, maxSettingsSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	if len(data) > maxSettingsSize {
		return nil, fmt.Errorf("%s is larger than 1 MiB, the most vmhook reads; remove it (rm %s) or shrink it and run the command again", path, quoteArg(path))
	}
	return data, nil
}

func linkError(path string) error {
	return fmt.Errorf("%s is a symbolic link and vmhook does not follow links in a project; remove it (rm %s) and run the command again", path, quoteArg(path))
}

// checkLimaDir makes sure the project's .lima directory is a real directory
// (creating it when create is set): a committed symbolic link there would
// make vmhook write wherever it points.
func (p *Project) checkLimaDir(create bool) error {
	dir := filepath.Dir(p.ConfigPath)
	if p.Named {
		if create {
			return os.MkdirAll(dir, 0o755)
		}
		return nil
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil
		}
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %q: %w", dir, err)
		}
		fi, err = os.Lstat(dir)
	}
	switch {
	case err != nil:
		return fmt.Errorf("inspect %q: %w", dir, err)
	case fi.Mode()&os.ModeSymlink != 0:
		return linkError(dir)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory; remove it (rm %s) and run the command again", dir, quoteArg(dir))
	}
	return nil
}

// asString is v when it is a string, else "".
func asString(v any) string { s, _ := v.(string); return s }

// mapItems returns the mappings in the YAML list v, skipping anything else.
func mapItems(v any) []map[string]any {
	l, _ := v.([]any)
	var ms []map[string]any
	for _, it := range l {
		if mm, ok := it.(map[string]any); ok {
			ms = append(ms, mm)
		}
	}
	return ms
}
