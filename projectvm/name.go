// Package projectvm is the core of vmhook: it turns a project directory into a
// Lima instance name, layered settings, a generated Lima config, a status read
// from the instance directory, and a lifecycle run under file locks.
package projectvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// limaIdentifier reports whether name follows Lima's rule for instance
// names (pkg/identifiers): ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$. It is
// written out rather than compiled: every entry into a VM checks a name.
func limaIdentifier(name string) bool {
	sep := true // at the start, as after a separator: a letter or digit must come
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			sep = false
		case c == '.' || c == '_' || c == '-':
			if sep {
				return false
			}
			sep = true
		default:
			return false
		}
	}
	return !sep
}

const (
	// nameSuffix is appended to every derived project VM name.
	nameSuffix = "-dev"
	// maxBaseLen caps the basename part so the guest hostname (lima-NAME)
	// stays a valid DNS label (63 bytes) with room for the suffix and hash.
	maxBaseLen = 32
	// sockProbe is the longest socket Lima creates in an instance directory
	// (ssh.sock plus ssh's 16-character ControlPath suffix).
	sockProbe = "/ssh.sock.1234567890123456"
	// sockBudget is the smallest UNIX socket path limit among supported hosts
	// (104 on macOS; Linux allows 108).
	sockBudget = 104
	hashLen    = 8
)

// ValidName reports whether name is a Lima instance name vmhook may use.
func ValidName(name string) error {
	if !limaIdentifier(name) {
		return fmt.Errorf("invalid VM name %q: use letters, digits and single '.', '_' or '-' between them", name)
	}
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		return fmt.Errorf("invalid VM name %q: must not end in .yaml or .yml", name)
	}
	return nil
}

// CheckSocketBudget reports whether Lima's sockets for name fit the UNIX socket
// path limit under limaHome.
func CheckSocketBudget(limaHome, name string) error {
	if n := len(filepath.Join(limaHome, name)) + len(sockProbe); n >= sockBudget {
		return fmt.Errorf("VM name %q under LIMA_HOME %q makes socket paths of %d bytes (limit %d); set LIMA_HOME to a shorter directory", name, limaHome, n, sockBudget)
	}
	return nil
}

// pathHash is a short, stable hash of an absolute project path.
func pathHash(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// sanitize lowercases s and turns each run of characters outside [a-z0-9]
// into a single '-', trimming dashes at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// Names are the two names a project directory may own: Base, derived from the
// basename, and Hashed, which adds a hash of the absolute path. They are equal
// when the basename could not be used as it is.
type Names struct {
	Base, Hashed string
}

// DeriveNames computes the candidate VM names of the absolute directory dir,
// fitted to the socket-path budget under limaHome.
func DeriveNames(dir, limaHome string) (Names, error) {
	if !filepath.IsAbs(dir) {
		return Names{}, fmt.Errorf("derive VM name: %q is not an absolute path", dir)
	}
	raw := filepath.Base(filepath.Clean(dir))
	base := sanitize(raw)
	h := pathHash(filepath.Clean(dir))
	// The room left for the basename part by the socket budget.
	room := sockBudget - 1 - len(filepath.Clean(limaHome)) - 1 - len(sockProbe) - len(nameSuffix) - 1 - hashLen
	if room < 1 {
		return Names{}, fmt.Errorf("LIMA_HOME %q is too long for Lima's socket paths (limit %d bytes); set LIMA_HOME to a shorter directory", limaHome, sockBudget)
	}
	limit := min(maxBaseLen, room)
	hashed := func(b string) string {
		if len(b) > limit {
			b = strings.TrimRight(b[:limit], "-")
		}
		if b == "" {
			return "vm-" + h + nameSuffix
		}
		return b + nameSuffix + "-" + h
	}
	n := Names{Hashed: hashed(base)}
	if base != "" && base == raw && len(base) <= limit {
		n.Base = base + nameSuffix
	} else {
		n.Base = n.Hashed
	}
	for _, name := range []string{n.Base, n.Hashed} {
		if err := ValidName(name); err != nil {
			return Names{}, err
		}
		if err := CheckSocketBudget(limaHome, name); err != nil {
			return Names{}, err
		}
	}
	return n, nil
}

// ErrNotOwned is what errors.Is finds in a refusal to touch a VM that is not
// the caller's. Its own text is never shown: each refusal says whose the VM
// is (notOwned), which a fixed text could not say truly for a Lima VM, a
// project's and a named VM's alike.
var ErrNotOwned = errors.New("the VM is not this project's")

// notOwnedError is a refusal that is ErrNotOwned and says only its message.
type notOwnedError struct{ msg string }

func (e *notOwnedError) Error() string        { return e.msg }
func (e *notOwnedError) Is(target error) bool { return target == ErrNotOwned }

// notOwned is a refusal to touch a VM that is not the caller's.
func notOwned(format string, args ...any) error {
	return &notOwnedError{msg: fmt.Sprintf(format, args...)}
}

// Owner is who a VM belongs to: a project directory, or the definition of
// a named VM. It is recorded in the instance directory (ownerFile) and in
// vmhook's name reservations, and read back exactly.
type Owner struct {
	// Dir is the project's real directory; empty for a named VM.
	Dir string
	// Definition is the named VM's definition file; empty for a project.
	Definition string
}

// ProjectOwner is the owner of a project directory's VM.
func ProjectOwner(dir string) Owner { return Owner{Dir: dir} }

// NamedOwner is the owner of the VM defined in the file definition.
func NamedOwner(definition string) Owner {
	return Owner{Definition: canonicalDefinition(definition)}
}

// canonicalDefinition is a named VM's definition path with its directory
// resolved: a linked XDG_CONFIG_HOME (as dotfile managers make), or the
// same directory named another way, is one owner. The file itself may be a
// link that changes (home-manager points it into the Nix store at every
// generation), so its own name is kept.
func canonicalDefinition(def string) string {
	if def == "" || !filepath.IsAbs(def) {
		return def
	}
	return filepath.Join(realPath(filepath.Dir(def)), filepath.Base(def))
}

// IsZero reports whether o names nobody (no record).
func (o Owner) IsZero() bool { return o == Owner{} }

// Named reports whether o is a named VM's definition.
func (o Owner) Named() bool { return o.Definition != "" }

// String is the directory or definition, for people.
func (o Owner) String() string {
	if o.Named() {
		return o.Definition
	}
	return o.Dir
}

// describe says what a VM held by o is, for people: its owner is all that
// makes a VM vmhook's, so one without is Lima's alone (never created or
// adopted by vmhook, or released).
func (o Owner) describe() string {
	switch {
	case o.IsZero():
		return "a Lima VM vmhook does not manage"
	case o.Named():
		return fmt.Sprintf("the named VM defined in %q", o.Definition)
	}
	return fmt.Sprintf("the VM of the project %q", o.Dir)
}

// reserver says who holds a name reservation, for people.
func (o Owner) reserver() string {
	if o.Named() {
		return fmt.Sprintf("the named VM defined in %q", o.Definition)
	}
	return fmt.Sprintf("the project %q", o.Dir)
}

// namedPrefix marks a named VM's definition in a record.
const namedPrefix = "vm:"

// MarshalText is the record form: the directory, or "vm:" and the
// definition.
func (o Owner) MarshalText() ([]byte, error) {
	if o.Named() {
		return []byte(namedPrefix + o.Definition), nil
	}
	return []byte(o.Dir), nil
}

// UnmarshalText reads what MarshalText wrote.
func (o *Owner) UnmarshalText(b []byte) error {
	s := string(b)
	if def, ok := strings.CutPrefix(s, namedPrefix); ok {
		*o = NamedOwner(def)
	} else {
		*o = ProjectOwner(s)
	}
	return nil
}

// config is the generated Lima config of the owner's VM name.
func (o Owner) config(e Env, name string) string {
	if o.Named() {
		return e.namedConfig(name)
	}
	return ProjectConfig(o.Dir)
}

// gone reports whether o is a project directory that no longer exists: its
// reservation of a name (held with no instance behind it) holds nothing.
func (o Owner) gone() bool {
	if o.Named() || o.Dir == "" {
		return false
	}
	_, err := os.Lstat(o.Dir)
	return errors.Is(err, os.ErrNotExist)
}

// ownerHeader starts an owner record. The owner follows, byte for byte
// to the end of the file (no newline), so trailing blanks, newlines and
// invalid UTF-8 survive; the file is replaced atomically, never cut short.
const ownerHeader = "vmhook-owner 2\n"

// encodeOwner is the content of an owner record or a name reservation.
func encodeOwner(o Owner) []byte {
	text, _ := o.MarshalText()
	return append([]byte(ownerHeader), text...)
}

// decodeOwner reads what encodeOwner wrote. A record without the header is
// from an earlier version, which wrote the owner and one newline.
func decodeOwner(b []byte) (Owner, error) {
	s := string(b)
	text, ok := strings.CutPrefix(s, ownerHeader)
	if !ok {
		if strings.HasPrefix(s, "vmhook-owner ") {
			return Owner{}, errors.New("unknown record version; a newer vmhook wrote it")
		}
		text = strings.TrimSuffix(s, "\n")
	} else if text == "" {
		return Owner{}, errors.New("empty record")
	}
	var o Owner
	err := o.UnmarshalText([]byte(text))
	return o, err
}

// ReadOwner returns the owner recorded in the instance directory instDir,
// or the zero Owner when there is none.
func ReadOwner(instDir string) (Owner, error) {
	path := filepath.Join(instDir, ownerFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Owner{}, nil
	}
	if err != nil {
		return Owner{}, fmt.Errorf("read owner of %q: %w", instDir, err)
	}
	owner, err := decodeOwner(b)
	if err != nil {
		return Owner{}, fmt.Errorf("read owner of %q: %w; delete %q if the VM is yours", instDir, err, path)
	}
	return owner, nil
}

// WriteOwner records o as the owner of the instance directory instDir.
func WriteOwner(instDir string, o Owner) error {
	return writeFileAtomic(filepath.Join(instDir, ownerFile), encodeOwner(o), 0o644)
}

// ownerOf returns who holds name: the instance's owner record, else vmhook's
// reservation, else nobody (and whether an instance directory exists at all).
func ownerOf(e Env, name string) (owner Owner, exists bool, err error) {
	inst := e.InstanceDir(name)
	if _, err := os.Stat(inst); err == nil {
		exists = true
	}
	owner, err = ReadOwner(inst)
	if err != nil || !owner.IsZero() {
		return owner, exists, err
	}
	b, err := os.ReadFile(e.nameClaim(name))
	if errors.Is(err, os.ErrNotExist) {
		return Owner{}, exists, nil
	}
	if err != nil {
		return Owner{}, exists, fmt.Errorf("read claim on %q: %w", name, err)
	}
	owner, err = decodeOwner(b)
	if err != nil {
		return Owner{}, exists, fmt.Errorf("read claim on %q: %w", name, err)
	}
	return owner, exists, nil
}

// ResolveName picks the VM name of the project dir: the base name unless it
// is held by another directory (or by an instance vmhook did not create), in
// which case the hashed name. A name already held by dir wins, so a project
// keeps its VM when the other project goes away. A reservation left by a
// directory that no longer exists holds nothing.
func ResolveName(e Env, dir string) (string, error) {
	n, err := DeriveNames(dir, e.LimaHome)
	if err != nil {
		return "", err
	}
	if n.Base == n.Hashed {
		return n.Base, nil
	}
	me := ProjectOwner(dir)
	owner, exists, err := ownerOf(e, n.Base)
	if err != nil {
		return "", err
	}
	if owner == me || (!exists && (owner.IsZero() || owner.gone())) {
		if o, _, _ := ownerOf(e, n.Hashed); o == me {
			return n.Hashed, nil
		}
		return n.Base, nil
	}
	return n.Hashed, nil
}

// namesLockWait bounds the wait for the names lock, which is only held for
// the few file operations that reserve a name.
const namesLockWait = 10 * time.Second

func withNamesLock(e Env, fn func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), namesLockWait)
	defer cancel()
	return withLock(ctx, e.namesLock(), nil, fn)
}

// claimName reserves name for owner before the instance is created. It fails
// when another owner holds it.
func claimName(e Env, name string, owner Owner) error {
	return withNamesLock(e, func() error {
		held, exists, err := ownerOf(e, name)
		if err != nil {
			return err
		}
		if held == owner {
			return nil
		}
		if !held.IsZero() && (exists || !held.gone()) {
			return notOwned("VM name %q is reserved by %s; run the command again to pick another name", name, held.reserver())
		}
		return writeClaim(e, name, owner)
	})
}

func writeClaim(e Env, name string, owner Owner) error {
	path := e.nameClaim(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("claim VM name: %w", err)
	}
	return writeFileAtomic(path, encodeOwner(owner), 0o644)
}

// releaseName drops vmhook's reservation of name.
func releaseName(e Env, name string) {
	os.Remove(e.nameClaim(name))
}
