package projectvm

import (
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/internal/lazyre"
)

// maxLimaNodes bounds the values a lima: block may expand to, aliases
// included, so an alias bomb costs no more than a large file.
const maxLimaNodes = 200000

// limaMapping converts the lima: block to plain values. It walks the nodes
// itself: the YAML library's check for repeated keys is quadratic in their
// number (checkTree has refused repeated keys already).
func limaMapping(v *yaml.Node) (map[string]any, error) {
	budget := maxLimaNodes
	out, err := limaValue(v, &budget, 0)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}

func limaValue(n *yaml.Node, budget *int, depth int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, &SettingsError{Line: n.Line, Msg: fmt.Sprintf("expands to more than %d values", maxLimaNodes)}
	}
	if depth > maxDepth {
		// checkTree saw the nodes as written; aliases can nest them deeper.
		return nil, &SettingsError{Line: n.Line, Msg: fmt.Sprintf("nests deeper than %d levels (through aliases)", maxDepth)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return limaValue(n.Alias, budget, depth)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, &SettingsError{Line: k.Line, Msg: "keys must be plain names"}
			}
			if k.ShortTag() == "!!merge" {
				return nil, &SettingsError{Line: k.Line, Msg: "merge keys (<<) are not supported; write the keys out"}
			}
			v, err := limaValue(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := limaValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &SettingsError{Line: n.Line, Msg: cleanYAMLError(err)}
		}
		return v, nil
	}
	return nil, &SettingsError{Line: n.Line, Msg: "is not a YAML value"}
}

// limaRule checks one value of the lima: block. path is the field's name
// below lima (ssh.localPort, images[0].digest); n is never nil.
type limaRule func(n *yaml.Node, path string) *SettingsError

// limaSchema covers the Lima fields people set most, with the rules of
// Lima's own loader and validator (pkg/limayaml in v1 and v2): values Lima
// would refuse at create are refused here, with the file and line. Fields
// it does not list pass through to Lima. It is built on first use: only
// commands that read a settings file's lima: block need it.
var limaSchema = sync.OnceValue(func() limaRule {
	return limaMap(map[string]limaRule{
		"minimumLimaVersion": limaString(false),
		"vmType":             limaEnum("qemu", "vz", "wsl2", "krunkit"),
		"os":                 limaEnum("Linux", "Darwin", "FreeBSD"),
		"arch":               limaEnum(limaArches...),
		"images": limaList(true, limaMap(map[string]limaRule{
			"location": limaString(true),
			"arch":     limaEnum(limaArches...),
			"digest":   limaDigest,
		}, "location")),
		"cpus":         limaInt(1, 1<<16),
		"memory":       limaSize,
		"disk":         limaSize,
		"mountType":    limaEnum("reverse-sshfs", "9p", "virtiofs", "wsl2"),
		"mountInotify": limaBool,
		"mounts": limaList(false, limaMap(map[string]limaRule{
			"location":   limaString(true),
			"mountPoint": limaString(false),
			"writable":   limaBool,
		}, "location")),
		"ssh": limaMap(map[string]limaRule{
			"localPort":         limaPort(true),
			"loadDotSSHPubKeys": limaBool,
			"forwardAgent":      limaBool,
			"forwardX11":        limaBool,
			"forwardX11Trusted": limaBool,
		}),
		"containerd": limaMap(map[string]limaRule{
			"system": limaBool,
			"user":   limaBool,
		}),
		"portForwards": limaList(false, limaMap(map[string]limaRule{
			"guestIPMustBeZero": limaBool,
			"guestIP":           limaString(false),
			"guestPort":         limaPort(false),
			"guestPortRange":    limaPortRange,
			"guestSocket":       limaAbsPath,
			"hostIP":            limaString(false),
			"hostPort":          limaPort(false),
			"hostPortRange":     limaPortRange,
			"hostSocket":        limaAbsPath,
			"proto":             limaEnum("tcp", "udp", "any"),
			"reverse":           limaBool,
			"ignore":            limaBool,
		})),
		"provision": limaList(false, limaMap(map[string]limaRule{
			"mode":   limaEnum("system", "user", "boot", "dependency", "data", "yq", "ansible"),
			"script": limaString(false),
		})),
		"user": limaMap(map[string]limaRule{
			"name":    limaString(false),
			"comment": limaString(false),
			"home":    limaAbsPath,
			"shell":   limaAbsPath,
			"uid":     limaInt(0, 1<<31-1),
		}),
		"env":               limaStringMap,
		"param":             limaStringMap,
		"plain":             limaBool,
		"propagateProxyEnv": limaBool,
		"upgradePackages":   limaBool,
		"timezone":          limaString(false),
		"dns":               limaList(false, limaString(true)),
	})
})

var limaArches = []string{"x86_64", "aarch64", "armv7l", "riscv64", "ppc64le", "s390x", "default"}

// checkLima applies limaSchema to the lima: block v.
func checkLima(v *yaml.Node) *SettingsError {
	return limaSchema()(v, "")
}

func limaErr(n *yaml.Node, path, format string, args ...any) *SettingsError {
	return &SettingsError{Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// limaMap checks a mapping's known keys; required keys must be present.
func limaMap(fields map[string]limaRule, required ...string) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		n = deref(n)
		if isNull(n) && path != "" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return limaErr(n, path, "must be a mapping")
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], deref(n.Content[i+1])
			seen[k.Value] = true
			rule, ok := fields[k.Value]
			if !ok || isNull(v) {
				continue // Lima takes null as "use the default"
			}
			if err := rule(v, join(path, k.Value)); err != nil {
				return err
			}
		}
		for _, r := range required {
			if !seen[r] {
				return limaErr(n, join(path, r), "must be set")
			}
		}
		return nil
	}
}

func limaList(nonEmpty bool, item limaRule) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		if n.Kind != yaml.SequenceNode {
			return limaErr(n, path, "must be a list")
		}
		if nonEmpty && len(n.Content) == 0 {
			return limaErr(n, path, "must list at least one entry (Lima refuses an empty list)")
		}
		for i, c := range n.Content {
			c = deref(c)
			if err := item(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
}

func scalarString(n *yaml.Node, path string) (string, *SettingsError) {
	if n.Kind != yaml.ScalarNode {
		return "", limaErr(n, path, "must be a single value")
	}
	return n.Value, nil
}

func limaString(nonEmpty bool) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		s, err := scalarString(n, path)
		if err == nil && nonEmpty && s == "" {
			return limaErr(n, path, "must not be empty")
		}
		return err
	}
}

func limaEnum(vals ...string) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		s, err := scalarString(n, path)
		if err != nil {
			return err
		}
		for _, v := range vals {
			if s == v {
				return nil
			}
		}
		return limaErr(n, path, "%q is not one of %s", s, strings.Join(vals, ", "))
	}
}

func limaBool(n *yaml.Node, path string) *SettingsError {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return limaErr(n, path, "must be true or false, got %q", n.Value)
	}
	return nil
}

func limaInt(lo, hi int) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		v, err := decodeInt(n)
		if err != nil {
			err.Field = path
			return err
		}
		if v < lo || v > hi {
			return limaErr(n, path, "must be from %d to %d, got %d", lo, hi, v)
		}
		return nil
	}
}

// limaPort is Lima's validatePort: 1-65535 and not 22, the guest's ssh
// port; zero means "unset" where Lima allows that (ssh.localPort).
func limaPort(zeroOK bool) limaRule {
	return func(n *yaml.Node, path string) *SettingsError {
		v, err := decodeInt(n)
		if err != nil {
			err.Field = path
			return err
		}
		switch {
		case v == 0 && zeroOK:
		case v < 1 || v > 65535:
			return limaErr(n, path, "%d is not a port number (1-65535)", v)
		case v == 22:
			return limaErr(n, path, "must not be 22 (Lima keeps it for ssh)")
		}
		return nil
	}
}

func limaPortRange(n *yaml.Node, path string) *SettingsError {
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		return limaErr(n, path, "must be a list of two ports [first, last]")
	}
	for i, c := range n.Content {
		if err := limaPort(false)(deref(c), fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func limaAbsPath(n *yaml.Node, path string) *SettingsError {
	s, err := scalarString(n, path)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(s, "/") {
		return limaErr(n, path, "%q must be an absolute path", s)
	}
	return nil
}

func limaStringMap(n *yaml.Node, path string) *SettingsError {
	if n.Kind != yaml.MappingNode {
		return limaErr(n, path, "must be a mapping of names to values")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := deref(n.Content[i+1]); v.Kind != yaml.ScalarNode {
			return limaErr(v, join(path, n.Content[i].Value), "must be a single value")
		}
	}
	return nil
}

// limaSizeRE is what Lima's size parser (docker/go-units RAMInBytes)
// accepts: a number, one optional space, an optional unit.
var limaSizeRE = lazyre.New(`^[0-9]+(\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$`)

func limaSize(n *yaml.Node, path string) *SettingsError {
	s, err := scalarString(n, path)
	if err != nil {
		return err
	}
	if !limaSizeRE().MatchString(s) {
		return limaErr(n, path, "%q is not a size such as 4GiB", s)
	}
	return nil
}

func limaDigest(n *yaml.Node, path string) *SettingsError {
	s, err := scalarString(n, path)
	if err != nil {
		return err
	}
	if !limaDigestRE().MatchString(s) {
		return limaErr(n, path, "%q must look like sha256:<hex> (64 hex digits; sha384: 96, sha512: 128)", s)
	}
	return nil
}

var limaDigestRE = lazyre.New(`^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$`)
