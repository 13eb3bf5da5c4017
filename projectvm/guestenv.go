package projectvm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vmhook/vmhook/internal/entry"
	"github.com/vmhook/vmhook/internal/safefile"
	"github.com/vmhook/vmhook/internal/shellquote"
)

// The project's environment in the guest. What crosses, at every entry
// (the interactive shell, vmhook shell -- CMD, sessions):
//   - the project's .env file (envFile), in dotenv's syntax, read by vmhook
//     on the host, never through a link out of the project;
//   - the variables the .envrc names with `use vm --env NAME`, with the
//     values the shell has (direnv exported them), listed in
//     VMHOOK_GUEST_ENV;
//
// and vmhook.yaml's env:, which Lima writes to the guest's /etc/environment
// at each boot. What never crosses: the host's own variables (PATH, HOME,
// SHELL, TMPDIR, SSH_AUTH_SOCK, direnv's, Nix's, vmhook's, Lima's, a
// virtualenv's), and values that are host paths: a Nix store path, a path
// under the project's .direnv (a `layout` of direnv), or an existing host
// path outside the project. Those are left out, each said in one line.
//
// vmhook writes what crosses to .lima/env in the project (which the guest
// has at the same path), and a script in the guest's /etc/profile.d reads
// it in every login shell; limactl starts every entry as one. .env and
// --env values are read after /etc/environment, so they win over env:.

// GuestEnvVar names, in the settings of an entry's shell, the variables of
// the .envrc that cross to the guest (use vm --env NAME).
const GuestEnvVar = "VMHOOK_GUEST_ENV"

// maxEnvFile is the largest .env vmhook reads.
const maxEnvFile = 1 << 20

// guestEnvFile is the file in the project the guest's login shells read.
func guestEnvFile(dir string) string { return filepath.Join(dir, ".lima", "env") }

// GuestEnvInputs are the files a decision to enter reads for the guest's
// environment: the project's .env and the file written from it.
func (p *Project) GuestEnvInputs() []string {
	if p.Named {
		return nil
	}
	out := []string{guestEnvFile(p.Dir)}
	if p.Settings.EnvFile != "" {
		out = append(out, filepath.Join(p.Dir, p.Settings.EnvFile))
	}
	return out
}

// hostOnly are the variables of the host that mean nothing in the guest
// (or would break it), and the prefixes of such families.
var (
	hostOnly = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TMPDIR", "TERM",
		"SSH_AUTH_SOCK", "SSH_AGENT_PID", "DISPLAY", "VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "CONDA_PREFIX",
		"GOPATH", "GOROOT", "CARGO_HOME", "RUSTUP_HOME", "PYTHONHOME", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH",
		"MANPATH", "INFOPATH", "SHLVL", "_"}
	hostOnlyPrefixes = []string{"DIRENV_", "NIX_", "VMHOOK_", "SYSINIT_", "LIMA_", "XDG_", "__"}
)

// HostOnlyName reports whether name is one of the host's own variables.
func HostOnlyName(name string) bool {
	if slices.Contains(hostOnly, name) {
		return true
	}
	for _, p := range hostOnlyPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// hostPathValue says why value names the host's file system rather than
// something the guest has, or "" when it does not: a Nix store path, a
// path in the project's .direnv, or an existing host path outside the
// project (each item of a colon-separated list is judged).
func hostPathValue(value, dir string) string {
	if strings.Contains(value, "/nix/store/") {
		return "it names a Nix store path of the host"
	}
	for _, item := range strings.Split(value, ":") {
		if !filepath.IsAbs(item) {
			continue
		}
		item = filepath.Clean(item)
		if item == filepath.Join(dir, ".direnv") || strings.HasPrefix(item, filepath.Join(dir, ".direnv")+"/") {
			return "it is a path in direnv's .direnv, built for the host"
		}
		if item == dir || strings.HasPrefix(item, dir+"/") {
			continue
		}
		if _, err := os.Lstat(item); err == nil {
			return fmt.Sprintf("%s is a host path outside the project", item)
		}
	}
	return ""
}

// guestVar is one variable that crosses, and where it came from.
type guestVar struct{ name, value, from string }

// GuestEnv is what crosses to p's guest from its .env and from environ
// (the entry's own environment, naming the .envrc's variables in
// VMHOOK_GUEST_ENV), in order, and a line for each variable left out. An
// env file vmhook cannot take is left out as a whole, said in its line:
// the entry goes on without it.
func (p *Project) GuestEnv(environ []string) (vars []guestVar, left []string) {
	if p.Named {
		return nil, nil
	}
	byName := map[string]int{}
	put := func(v guestVar) {
		if _, fixed := p.Settings.Env[v.name]; fixed {
			// env: is the VM's; say the clash rather than hide it.
			left = append(left, fmt.Sprintf("left %s (%s) out of the guest: vmhook.yaml's env: sets it", v.name, v.from))
			return
		}
		if HostOnlyName(v.name) {
			left = append(left, fmt.Sprintf("left %s (%s) out of the guest: it is the host's own variable", v.name, v.from))
			return
		}
		if why := hostPathValue(v.value, p.Dir); why != "" {
			left = append(left, fmt.Sprintf("left %s (%s) out of the guest: %s", v.name, v.from, why))
			return
		}
		if i, ok := byName[v.name]; ok {
			vars[i] = v
			return
		}
		byName[v.name] = len(vars)
		vars = append(vars, v)
	}
	if p.Settings.EnvFile != "" {
		file, err := p.readEnvFile()
		if err != nil {
			left = append(left, "left "+p.Settings.EnvFile+" out of the guest: "+err.Error())
		}
		for _, kv := range file {
			put(guestVar{kv[0], kv[1], p.Settings.EnvFile})
		}
	}
	for _, name := range strings.Fields(entry.Getenv(environ, GuestEnvVar)) {
		v, ok := entry.LookupEnv(environ, name)
		if !ok {
			left = append(left, fmt.Sprintf("left %s (use vm --env) out of the guest: the .envrc does not set it", name))
			continue
		}
		put(guestVar{name, v, "use vm --env"})
	}
	return vars, left
}

// readEnvFile reads the project's env file: a regular file in the project,
// judged resolved (a link that leads out of the project is refused: its
// content would reach the guest), bounded and never blocked on. A missing
// file is no variables.
func (p *Project) readEnvFile() ([][2]string, error) {
	path := filepath.Join(p.Dir, p.Settings.EnvFile)
	resolved, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w; fix it, or set envFile: \"\" in vmhook.yaml", err)
	}
	root := realPath(p.Dir)
	if !strings.HasPrefix(resolved, root+"/") {
		return nil, fmt.Errorf("it leads to %s, outside the project, which vmhook does not hand the guest; make it a file of the project, or set envFile: \"\" in vmhook.yaml", resolved)
	}
	data, err := safefile.Read(resolved, maxEnvFile)
	if err != nil {
		return nil, fmt.Errorf("%w; fix it, or set envFile: \"\" in vmhook.yaml", err)
	}
	kvs, err := parseDotenv(data)
	if err != nil {
		return nil, fmt.Errorf("%w; fix it, or set envFile: \"\" in vmhook.yaml", err)
	}
	return kvs, nil
}

// parseDotenv reads dotenv's syntax as direnv's dotenv and the usual
// loaders do: KEY=VALUE lines, an optional leading `export `, comments
// and blank lines; a value in single quotes is literal, one in double
// quotes takes \n, \t, \", \\ and \$ escapes and may span lines, and an
// unquoted one ends at ` #`, trimmed. ${VAR} is not expanded: the value
// reaches the guest as written.
func parseDotenv(data []byte) ([][2]string, error) {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	var out [][2]string
	line := 1
	for len(s) > 0 {
		var l string
		l, s, _ = strings.Cut(s, "\n")
		start := line
		line++
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimPrefix(t, "export ")
		name, rest, ok := strings.Cut(t, "=")
		name = strings.TrimSpace(name)
		if !ok || !ValidEnvName(name) {
			return nil, fmt.Errorf("line %d is not NAME=VALUE", start)
		}
		rest = strings.TrimLeft(rest, " \t")
		var value string
		switch {
		case strings.HasPrefix(rest, "'"):
			end := strings.IndexByte(rest[1:], '\'')
			for end < 0 && len(s) > 0 {
				var more string
				more, s, _ = strings.Cut(s, "\n")
				line++
				rest += "\n" + more
				end = strings.IndexByte(rest[1:], '\'')
			}
			if end < 0 {
				return nil, fmt.Errorf("line %d: the quote is never closed", start)
			}
			value = rest[1 : 1+end]
		case strings.HasPrefix(rest, `"`):
			var b strings.Builder
			i, closed := 1, false
			for !closed {
				for ; i < len(rest); i++ {
					c := rest[i]
					if c == '"' {
						closed = true
						break
					}
					if c == '\\' && i+1 < len(rest) {
						i++
						switch rest[i] {
						case 'n':
							b.WriteByte('\n')
						case 't':
							b.WriteByte('\t')
						case '"', '\\', '$':
							b.WriteByte(rest[i])
						default:
							b.WriteByte('\\')
							b.WriteByte(rest[i])
						}
						continue
					}
					b.WriteByte(c)
				}
				if closed {
					break
				}
				if len(s) == 0 {
					return nil, fmt.Errorf("line %d: the quote is never closed", start)
				}
				var more string
				more, s, _ = strings.Cut(s, "\n")
				line++
				b.WriteByte('\n')
				rest, i = more, 0
			}
			value = b.String()
		default:
			value = rest
			if i := strings.Index(value, " #"); i >= 0 {
				value = value[:i]
			}
			value = strings.TrimSpace(value)
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// ValidEnvName reports whether name is a POSIX shell variable name.
func ValidEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// renderGuestEnv is the text of .lima/env for vars, with what was left
// out as comments: the file changes, and vmhook says so, when either does.
func renderGuestEnv(vars []guestVar, left []string) []byte {
	var b bytes.Buffer
	b.WriteString(guestEnvHeader)
	b.WriteString("# the guest's login shells read it. Change those instead: vmhook rewrites this file.\n")
	for _, l := range left {
		fmt.Fprintf(&b, "# %s\n", strings.ReplaceAll(l, "\n", " "))
	}
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s # %s\n", v.name, shellquote.POSIX(v.value), v.from)
	}
	return b.Bytes()
}

const guestEnvHeader = "# Written by vmhook at each entry from the project's env file and `use vm --env`;\n"

// WriteGuestEnv brings p's .lima/env up to date with its env file and
// environ before an entry. When that changed the file it returns a line for
// each variable left out; the same reasons are not said again at every
// entry. With nothing to say, a file vmhook wrote is removed.
func (m *Manager) WriteGuestEnv(p *Project, environ []string) (said []string, err error) {
	if p.Named {
		return nil, nil
	}
	vars, left := p.GuestEnv(environ)
	path := guestEnvFile(p.Dir)
	old, readErr := safefile.Read(path, maxEnvFile)
	if readErr != nil && !errors.Is(readErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; remove it (vmhook writes it at each entry)", path, readErr)
	}
	if readErr == nil && !bytes.HasPrefix(old, []byte(guestEnvHeader)) {
		return nil, fmt.Errorf("%s is not the file vmhook writes; move it away (vmhook writes the guest's environment there)", path)
	}
	if len(vars) == 0 && len(left) == 0 {
		if readErr == nil {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("remove %s: %w", path, err)
			}
		}
		return nil, nil
	}
	data := renderGuestEnv(vars, left)
	if readErr == nil && bytes.Equal(old, data) {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return left, nil
}

// guestEnvScript is the boot step that makes the guest's login shells read
// the project's .lima/env (see WriteGuestEnv).
func guestEnvScript(dir string) string {
	f := shellquote.POSIX(guestEnvFile(dir))
	return "#!/bin/sh\n# vmhook: login shells read the project's environment (.env, use vm --env).\n" +
		"cat >/etc/profile.d/vmhook-env.sh <<'VMHOOK_ENV'\n" +
		"# Written by vmhook: the project's environment, from " + f + ".\n" +
		"if [ -r " + f + " ]; then . " + f + "; fi\n" +
		"VMHOOK_ENV\n"
}
