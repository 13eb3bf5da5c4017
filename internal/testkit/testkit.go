// Package testkit is the setup vmhook's tests share: an isolated user (a
// home and the XDG directories under it), a LIMA_HOME short enough for
// Lima's socket paths, and environment lists built from them. Each test
// package adds what is its own (a fake limactl on PATH, a nix store, a
// terminal) to what this gives.
package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BuildTags are the tags every build of vmhook uses. urfave_cli_no_docs
// leaves out urfave/cli's man page and Markdown output, which vmhook does
// not offer, and with them the initialisation of a Markdown library that
// every run (entering a VM above all) would otherwise pay for.
const BuildTags = "urfave_cli_no_docs"

// UserEnv is the environment of a user whose home is home: HOME and the
// XDG base directories under it, as vmhook and direnv read them.
func UserEnv(home string) []string {
	return []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
	}
}

// ShortDir makes a directory under /tmp named prefix plus a few random
// characters, removed when the test ends. Lima's socket paths under
// LIMA_HOME must stay under 104 bytes, which a test's own temporary
// directory (named after the test) may not allow.
func ShortDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Environ is an isolated environment for one vmhook run: a fresh home, a
// short LIMA_HOME, no colour, and the test's PATH.
func Environ(t testing.TB) []string {
	t.Helper()
	env := UserEnv(t.TempDir())
	return append(env, "LIMA_HOME="+ShortDir(t, "vhl"), "NO_COLOR=1", "PATH="+os.Getenv("PATH"))
}

// Merge returns env with each NAME=VALUE of extra replacing NAME's value,
// or added when env has none.
func Merge(env, extra []string) []string {
	out := append([]string(nil), env...)
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if strings.HasPrefix(e, k+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// DockerSocket is /var/run/docker.sock as vmhook writes it into a config,
// resolved (/run/docker.sock where /var/run is a link to /run), and how a
// consent line names it: the resolved path, with the written one "through".
func DockerSocket() (resolved, shown string) {
	const written = "/var/run/docker.sock"
	dir, err := filepath.EvalSymlinks(filepath.Dir(written))
	if err != nil {
		return written, written
	}
	resolved = filepath.Join(dir, filepath.Base(written))
	if resolved == written {
		return written, written
	}
	return resolved, resolved + " (through " + written + ")"
}
