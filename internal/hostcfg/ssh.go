package hostcfg

import (
	"fmt"
	"strings"

	"github.com/vmhook/vmhook/internal/lazyre"
	"github.com/vmhook/vmhook/internal/shellquote"
)

// SSHHost is what an ssh client needs to reach a VM through Lima's own ssh
// settings.
type SSHHost struct {
	Alias        string // host (and WezTerm domain) name to print
	Name         string // Lima instance
	User         string // guest user (Lima's default: the host user)
	IdentityFile string // Lima's key, $LIMA_HOME/_config/user
	LimaSSHConf  string // $LIMA_HOME/NAME/ssh.config
}

// aliasRE is a plain host name: ssh reads "*", "?", "!" and "," in a Host
// line as patterns, and WezTerm and shells see the name too.
var aliasRE = lazyre.New(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// ValidateAlias refuses a name that ssh would read as a pattern or split.
func ValidateAlias(alias string) error {
	if !aliasRE().MatchString(alias) || len(alias) > 253 {
		return fmt.Errorf("alias %q is not a plain host name; use letters, digits, '.', '_' and '-' (e.g. --alias nostromo)", alias)
	}
	return nil
}

// check refuses values no format here can carry.
func (h SSHHost) check() error {
	if err := ValidateAlias(h.Alias); err != nil {
		return err
	}
	if !aliasRE().MatchString(h.Name) {
		return fmt.Errorf("VM name %q is not a plain host name", h.Name)
	}
	for _, v := range []struct{ what, s string }{{"user", h.User}, {"identity file", h.IdentityFile}, {"Lima ssh config", h.LimaSSHConf}} {
		if v.s == "" {
			return fmt.Errorf("%s is empty", v.what)
		}
		if err := plainText(v.what, v.s); err != nil {
			return err
		}
	}
	// ssh expands ${NAME} in IdentityFile, with no way to escape it.
	if strings.Contains(h.IdentityFile, "${") {
		return fmt.Errorf("identity file %q holds \"${\", which ssh expands as a variable; use a LIMA_HOME without it", h.IdentityFile)
	}
	return nil
}

// ProxyCommand reaches the guest's sshd through Lima's ssh.config; some
// clients (WezTerm, IDEs) ignore Include, so the host block carries it.
func (h SSHHost) ProxyCommand() string {
	return fmt.Sprintf("ssh -F %s lima-%s -W 127.0.0.1:22", shellquote.POSIX(h.LimaSSHConf), h.Name)
}

// sshConfigValue quotes a value for ssh_config: ssh expands "%" tokens in
// IdentityFile and ProxyCommand, and splits unquoted values at spaces.
func sshConfigValue(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if strings.ContainsAny(s, " \t\"'\\#=") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// SSHConfig is an ssh_config host block for the VM.
func (h SSHHost) SSHConfig() (string, error) {
	if err := h.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# vmhook: VM %s as host %s (append to ~/.ssh/config)\n", h.Name, h.Alias)
	fmt.Fprintf(&b, "Host %s\n", h.Alias)
	fmt.Fprintf(&b, "  User %s\n", sshConfigValue(h.User))
	fmt.Fprintf(&b, "  IdentityFile %s\n", sshConfigValue(h.IdentityFile))
	b.WriteString("  IdentitiesOnly yes\n")
	b.WriteString("  StrictHostKeyChecking no\n")
	b.WriteString("  UserKnownHostsFile /dev/null\n")
	b.WriteString("  LogLevel ERROR\n")
	// ProxyCommand takes the rest of the line as it is, for sh -c; only
	// ssh's own "%" tokens need escaping.
	fmt.Fprintf(&b, "  ProxyCommand %s\n", strings.ReplaceAll(h.ProxyCommand(), "%", "%%"))
	return b.String(), nil
}
