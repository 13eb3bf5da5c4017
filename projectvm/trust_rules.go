package projectvm

// Rules of the trust model that look inside Lima's list entries: which
// provision and probe entries run on the host, which mount options widen
// what a mount reaches, mounts a guest can redirect, and the characters a
// path may hold so that what the user reads is what they grant.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hasControl reports whether s holds a control character (C0, DEL or C1),
// which a terminal would act on instead of showing.
func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// controlError is the error for a path holding a control character.
func controlError(where, p string) error {
	return fmt.Errorf("%s %q holds a control character, which would garble what vmhook shows; rename it or leave it out", where, p)
}

// shown is a path (or any user value) as an access line shows it: as it is
// when it holds only letters, digits and /._-+,:=@%~, else Go-quoted, so
// that blanks, quotes or a "; " cannot pass for more of the line.
func shown(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("/._-+,:=@%~", r)
	}) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// printable escapes what a terminal would act on in s (control and format
// characters, invalid UTF-8), as Go would in a quoted string.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// checkControl refuses a control character in the host and guest paths of
// s, which vmhook writes into the Lima config and shows when asking for
// consent.
func (s *Settings) checkControl(source string) error {
	bad := func(field, p string) error {
		return &SettingsError{Source: source, Field: field, Msg: fmt.Sprintf("%q holds a control character, which would garble what vmhook shows; rename it or leave it out", p)}
	}
	for i, m := range s.Mounts {
		if hasControl(m.Location) {
			return bad(fmt.Sprintf("mounts[%d]", i), m.Location)
		}
	}
	for i, so := range s.Sockets {
		for _, p := range []string{so.Host, so.Guest} {
			if hasControl(p) {
				return bad(fmt.Sprintf("sockets[%d]", i), p)
			}
		}
	}
	if hasControl(s.Image.Location) {
		return bad("image", s.Image.Location)
	}
	return nil
}

// guestProvisionKeys are the keys of a provision entry whose effect stays in
// the guest, by mode ("" is Lima's default, system). Lima writes scripts,
// data and yq expressions into the cloud-init disk the guest runs; a file:
// is judged as a host file elsewhere.
var guestProvisionKeys = map[string][]string{
	"":           {"mode", "script", "file", "skipDefaultDependencyResolution"},
	"system":     {"mode", "script", "file", "skipDefaultDependencyResolution"},
	"user":       {"mode", "script", "file", "skipDefaultDependencyResolution"},
	"boot":       {"mode", "script", "file", "skipDefaultDependencyResolution"},
	"dependency": {"mode", "script", "file", "skipDefaultDependencyResolution"},
	"data":       {"mode", "content", "overwrite", "owner", "path", "permissions", "file"},
	"yq":         {"mode", "expression", "format", "owner", "path", "permissions", "file"},
}

// guestProbeKeys are the keys of a readiness probe, which runs in the guest.
var guestProbeKeys = []string{"mode", "description", "script", "file", "hint"}

// guestMountKeys are the mount options that do not widen what the host side
// of a mount serves; sshfs.followSymlinks false is allowed as well.
var guestMountKeys = map[string][]string{
	"":         {"location", "mountPoint", "writable", "sshfs", "9p", "virtiofs"},
	"sshfs":    {"cache"},
	"9p":       {"protocolVersion", "msize", "cache"},
	"virtiofs": {"queueSize"},
}

// ruleAccess applies the rules of this file to the Lima document m. What
// they find is listed as an Access; a path holding a control character, or
// a mount inside a writable mount, is an error in a generated document and
// listed, for the user to judge, in one written by hand.
func ruleAccess(m map[string]any, c accessCtx, hostPath func(string) string) ([]Access, error) {
	var out []Access
	add := func(kind, format string, args ...any) {
		out = append(out, Access{Kind: kind, Text: printable(fmt.Sprintf(format, args...))})
	}
	refuse := func(err error, kind, text string) error {
		if c.generated {
			return fmt.Errorf("%s: Lima config %w", c.source, err)
		}
		add(kind, "%s", text)
		return nil
	}
	str, list := asString, mapItems
	keys := func(mm map[string]any) []string {
		ks := make([]string, 0, len(mm))
		for k := range mm {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}

	// Paths vmhook shows or Lima reads must read as they are.
	paths := func(field string, ps ...string) error {
		for _, p := range ps {
			// The project directory may be named anything: it is quoted
			// wherever it is shown.
			if hasControl(p) && (c.dir == "" || p != c.dir) {
				return refuse(controlError(field, p), "path", fmt.Sprintf("%s %s (holds a control character)", field, shown(p)))
			}
		}
		return nil
	}
	for i, mt := range list(m["mounts"]) {
		if err := paths(fmt.Sprintf("mounts[%d]", i), str(mt["location"]), str(mt["mountPoint"])); err != nil {
			return nil, err
		}
	}
	for i, pf := range list(m["portForwards"]) {
		if err := paths(fmt.Sprintf("portForwards[%d]", i), str(pf["hostSocket"]), str(pf["guestSocket"])); err != nil {
			return nil, err
		}
	}
	for i, cp := range list(m["copyToHost"]) {
		if err := paths(fmt.Sprintf("copyToHost[%d]", i), str(cp["host"]), str(cp["guest"])); err != nil {
			return nil, err
		}
	}
	for i, im := range list(m["images"]) {
		if err := paths(fmt.Sprintf("images[%d]", i), str(im["location"])); err != nil {
			return nil, err
		}
	}

	// Provision and probes: Ansible runs on the host, as the user.
	for i, pr := range list(m["provision"]) {
		field := fmt.Sprintf("provision[%d]", i)
		mode := str(pr["mode"])
		if pb, ok := pr["playbook"]; ok {
			add("lima", "run the Ansible playbook %s on the host (%s), which can run any command there", shown(fmt.Sprint(pb)), field)
		}
		known, ok := guestProvisionKeys[mode]
		if !ok {
			if mode == "ansible" {
				add("lima", "%s mode ansible, which runs on the host", field)
			} else {
				add("lima", "%s mode %s, which vmhook does not know to stay in the guest", field, shown(mode))
			}
			continue
		}
		for _, k := range keys(pr) {
			if k != "playbook" && !slices.Contains(known, k) {
				add("lima", "%s.%s, which vmhook does not know to stay in the guest", field, shown(k))
			}
		}
	}
	for i, pr := range list(m["probes"]) {
		field := fmt.Sprintf("probes[%d]", i)
		if mode := str(pr["mode"]); mode != "" && mode != "readiness" {
			add("lima", "%s mode %s, which vmhook does not know to stay in the guest", field, shown(mode))
		}
		for _, k := range keys(pr) {
			if !slices.Contains(guestProbeKeys, k) {
				add("lima", "%s.%s, which vmhook does not know to stay in the guest", field, shown(k))
			}
		}
	}

	// Mount options that widen what the host serves.
	type mnt struct {
		real     string
		writable bool
	}
	var mounts []mnt
	for i, mt := range list(m["mounts"]) {
		field := fmt.Sprintf("mounts[%d]", i)
		loc := str(mt["location"])
		for _, k := range keys(mt) {
			if !slices.Contains(guestMountKeys[""], k) {
				add("lima", "%s.%s on the mount of %s, which vmhook does not know to stay in the guest", field, shown(k), shown(loc))
				continue
			}
			sub, isMap := mt[k].(map[string]any)
			if _, nested := guestMountKeys[k]; !nested || !isMap {
				continue
			}
			for _, sk := range keys(sub) {
				switch {
				case k == "sshfs" && sk == "followSymlinks":
					if on, _ := sub[sk].(bool); on {
						add("mount", "mount %s with sshfs.followSymlinks, which resolves links on the host, out of the mount", shown(loc))
					}
				case !slices.Contains(guestMountKeys[k], sk):
					add("mount", "mount %s with %s.%s, which vmhook does not know to stay in the mount", shown(loc), k, shown(sk))
				}
			}
		}
		w, _ := mt["writable"].(bool)
		mounts = append(mounts, mnt{real: hostPath(loc), writable: w})
	}
	// A mount inside a writable mount: the guest can replace its directory
	// with a link, and the host side of the inner mount follows it.
	for i, in := range mounts {
		for _, outer := range mounts {
			if outer.writable && in.real != outer.real && within(in.real, outer.real) {
				err := fmt.Errorf("mounts[%d] %q is inside the writable mount %q, which shows it already; through a mount inside a writable one the guest can reach any host path by turning it into a link, so remove it", i, in.real, outer.real)
				if err := refuse(err, "mount", fmt.Sprintf("mount %s inside the writable mount %s, which the guest can turn into a link to any host path", shown(in.real), shown(outer.real))); err != nil {
					return nil, err
				}
				break
			}
		}
	}

	return out, nil
}

// normalize turns numbers of any Go type into int64, so a YAML-decoded value
// compares equal to a literal.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = normalize(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalize(x)
		}
		return l
	case int:
		return int64(t)
	case uint64:
		return int64(t)
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}
