// Package nixtest gives tests an environment in which the real nix runs
// hermetically and offline.
package nixtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
)

// Env is an environment in which nix sees nothing of the machine or the user
// and needs no network: its own store under a temporary directory (a local
// store with its own store directory, so no daemon and no /nix; a chroot
// store would keep /nix/store as the logical path, which nix flake init then
// fails to read), no system or user configuration, no flake registry and no
// substituters. Commands of the new CLI also need --offline. The directory
// is removed when the test ends.
func Env(t testing.TB) []string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "vhn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeStore(t, dir) })
	for _, d := range []string{"home", "etc"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home, s := filepath.Join(dir, "home"), filepath.Join(dir, "nix")
	return append(testkit.UserEnv(home),
		"PATH="+os.Getenv("PATH"),
		"NIX_CONF_DIR="+filepath.Join(dir, "etc"),
		"NIX_CONFIG="+strings.Join([]string{
			"experimental-features = nix-command flakes",
			"store = local?store=" + s + "/store&state=" + s + "/var&log=" + s + "/log",
			"build-users-group =",
			"flake-registry =",
			"substituters =",
		}, "\n"),
	)
}

// removeStore deletes a temporary nix store, whose paths nix made read-only.
func removeStore(t testing.TB, dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("remove temporary nix store: %v", err)
	}
}
