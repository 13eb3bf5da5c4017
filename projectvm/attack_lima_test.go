package projectvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

// TestAttackFINDINGLima renders the project settings of
// four findings the way vmhook would use them, and shows that each Lima
// version accepts the result (limactl validate) while vmhook asks no consent
// for it:
//   - provision mode ansible: Lima runs ansible-playbook on the host;
//   - sshfs.followSymlinks on a mount inside the project: links resolve on
//     the host, so a committed ../../.ssh link reaches the keys;
//   - a mount nested in the writable project mount: the guest can turn its
//     base into a link, which the host's sftp server follows;
//   - a raw port rule forwarding every guest port to 127.0.0.1: it comes
//     before vmhook's catch-all and bypasses the port registry.
//
// It fails until vmhook holds these back (or refuses them, with the error
// named in refused); a case Lima refuses would not be a finding and fails
// with that instead.
func TestAttackFINDINGLima(t *testing.T) {
	cases := []struct {
		name     string
		settings string // PROJ stands for the project's directory
		files    []string
		refused  string // vmhook refuses the case with this error
	}{
		{"ansible", "lima:\n  provision:\n  - mode: ansible\n    playbook: PROJ/playbook.yml\n", []string{"playbook.yml"}, ""},
		{"follow", "lima:\n  mounts:\n  - location: PROJ\n    writable: true\n    sshfs: {followSymlinks: true}\n", nil, ""},
		{"nested", "mounts: [{location: data, writable: true}]\n", []string{"data/.keep"}, "is inside the writable mount"},
		{"ports", "lima:\n  portForwards:\n  - {guestPortRange: [1, 65535], hostIP: 127.0.0.1}\n", nil, ""},
	}
	limatest.Each(t, func(t *testing.T, lima *limatest.Lima) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e, p := consentProject(t, "", "")
				for _, f := range c.files {
					path := filepath.Join(p.Dir, f)
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte("- hosts: all\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				settings := strings.ReplaceAll(c.settings, "PROJ", p.Dir)
				if err := os.WriteFile(filepath.Join(p.Dir, ProjectFile), []byte(settings), 0o644); err != nil {
					t.Fatal(err)
				}
				p, err := OpenProject(e, p.Dir, Flags{})
				if err != nil {
					t.Fatal(err)
				}
				body, err := p.Render(nil)
				if err != nil {
					t.Fatal(err)
				}
				cfg := filepath.Join(p.Dir, "rendered.yaml")
				if err := os.WriteFile(cfg, body, 0o644); err != nil {
					t.Fatal(err)
				}
				lima.Chown(filepath.Dir(p.Dir))
				if err := lima.Validate(cfg); err != nil {
					t.Fatalf("Lima refuses it, so this is no finding: %v", err)
				}
				needs, err := p.Needs(e)
				if c.refused != "" && err != nil && strings.Contains(err.Error(), c.refused) {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(needs) == 0 {
					t.Errorf("vmhook asks no consent for %s, and Lima %s accepts the config", c.name, lima.Version())
				}
			})
		}
	})
}
