// Package limatest gives tests the real limactl, isolated per test.
//
// Tests that need Lima's own answers (validate, create, list, delete) call
// Real. It skips the test with the command that would make it run when
// limactl or the unprivileged test user is missing. limactl refuses to run as
// root, so under root every command runs as the user vmhook-test (created by
// scripts/test-user.sh) through runuser.
//
// Each handle has its own short LIMA_HOME under /tmp: Lima puts UNIX sockets
// in LIMA_HOME/NAME and the path must stay under 104 bytes, which t.TempDir
// paths often exceed. The directory and every instance in it are deleted when
// the test ends.
//
// Lima v1 and v2 are both supported, so a test that asks Lima runs against
// every installed version: Each runs it once per limactl listed in
// VMHOOK_LIMACTLS (colon-separated paths; .ci/run installs v1.0.7 and v2.2.0
// and sets it), as subtests named by version. Without VMHOOK_LIMACTLS, the one
// limactl found as below is used.
//
// The decision whether limactl is installed is taken once per test binary,
// before any test can change PATH.
package limatest

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmhook/vmhook/internal/shellquote"
)

// TestUser is the unprivileged account that runs limactl when tests run as
// root.
const TestUser = "vmhook-test"

// fallbackLimactl is where scripts/install-lima.sh installs limactl; it is
// tried when limactl is not on PATH (e.g. a CI shell without /usr/local/bin).
const fallbackLimactl = "/usr/local/bin/limactl"

// setup is what the test binary found about its host, computed once.
type setup struct {
	limactl string // absolute path of limactl, or ""
	version string // its Lima version, e.g. "v2.2.0", or "unknown"
	// all is every limactl to test against, newest first; limactl and
	// version are all[0]'s.
	all  []installed
	root bool
	user string // TestUser when root
	uid  int
	gid  int
	skip string // reason to skip, or ""
}

var (
	detectOnce sync.Once
	detected   setup
)

func init() {
	// Decide at load time, before any test (or TestMain) can change PATH or
	// LIMACTL; Real only reads the cached result.
	detectOnce.Do(detect)
}

func detect() {
	detected = lookup()
}

// installed is one limactl binary and the Lima version it was built from.
type installed struct {
	path, version string
}

func lookup() setup {
	var s setup
	for _, p := range listedLimactls() {
		s.all = append(s.all, installed{p, limaVersion(p)})
	}
	if len(s.all) == 0 {
		if p := findLimactl(); p != "" {
			s.all = []installed{{p, limaVersion(p)}}
		}
	}
	if len(s.all) == 0 {
		s.skip = "real limactl not installed: run scripts/install-lima.sh v2"
		return s
	}
	// Newest first: Real, and so every test that needs only one, uses what
	// users install today.
	slices.SortStableFunc(s.all, func(a, b installed) int { return -compareVersions(a.version, b.version) })
	s.limactl, s.version = s.all[0].path, s.all[0].version
	if os.Geteuid() != 0 {
		return s
	}
	s.root = true
	u, err := user.Lookup(TestUser)
	if err != nil {
		s.skip = "running as root and user " + TestUser + " missing: run scripts/test-user.sh"
		return s
	}
	s.user = u.Username
	s.uid, _ = strconv.Atoi(u.Uid)
	s.gid, _ = strconv.Atoi(u.Gid)
	if _, err := exec.LookPath("runuser"); err != nil {
		s.skip = "running as root and runuser not found: install util-linux"
	}
	return s
}

// listedLimactls returns the executables named in VMHOOK_LIMACTLS.
func listedLimactls() []string {
	var out []string
	for _, p := range filepath.SplitList(os.Getenv("VMHOOK_LIMACTLS")) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 && filepath.IsAbs(p) {
			out = append(out, p)
		}
	}
	return out
}

// limaVersion reads the Lima release a limactl was built from out of its
// Go build information, without running it (limactl refuses root, and
// this runs before any test). Builds that do not record it are "unknown".
func limaVersion(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	isLima := func(path string) bool {
		return path == "github.com/lima-vm/lima" || path == "github.com/lima-vm/lima/v2"
	}
	if isLima(bi.Main.Path) && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if isLima(d.Path) {
			return d.Version
		}
	}
	return "unknown"
}

// compareVersions orders "vMAJOR.MINOR.PATCH" strings; "unknown" is oldest.
func compareVersions(a, b string) int {
	parse := func(v string) [3]int {
		var n [3]int
		for i, f := range strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3) {
			n[i], _ = strconv.Atoi(strings.TrimRightFunc(f, func(r rune) bool { return r < '0' || r > '9' }))
		}
		return n
	}
	pa, pb := parse(a), parse(b)
	for i := range pa {
		if c := pa[i] - pb[i]; c != 0 {
			return c
		}
	}
	return 0
}

// findLimactl honours LIMACTL (Lima's own convention for naming the binary),
// then PATH, then the install script's default location.
func findLimactl() string {
	candidates := []string{os.Getenv("LIMACTL")}
	if p, err := exec.LookPath("limactl"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, fallbackLimactl)
	for _, c := range candidates {
		if c == "" {
			continue
		}
		abs, err := filepath.Abs(c)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return abs
		}
	}
	return ""
}

// Lima runs the real limactl for one test with its own LIMA_HOME. (The type
// cannot share the name of the function Real that returns it.)
type Lima struct {
	t        testing.TB
	s        setup
	limaHome string

	mu       sync.Mutex
	validate int // counter for Validate's copies
}

// Real returns a handle on the real limactl (the newest installed) with a
// fresh LIMA_HOME, or skips t with the command that would make the test
// runnable. Tests of what Lima accepts or does use Each instead.
func Real(t testing.TB) *Lima {
	t.Helper()
	detectOnce.Do(detect)
	return newLima(t, detected)
}

// Each runs f as a subtest once per installed Lima version (named by it,
// e.g. "v1.0.7"), each with its own handle; it skips t when none is
// installed.
func Each(t *testing.T, f func(t *testing.T, lima *Lima)) {
	t.Helper()
	detectOnce.Do(detect)
	if detected.skip != "" {
		t.Skip(detected.skip)
	}
	for _, in := range detected.all {
		s := detected
		s.limactl, s.version = in.path, in.version
		s.all = []installed{in}
		t.Run(in.version, func(t *testing.T) {
			f(t, newLima(t, s))
		})
	}
}

// Binary is one installed limactl.
type Binary struct {
	Path    string
	Version string // e.g. "v2.2.0", or "unknown"
}

// Installed lists the limactl binaries tests run against, newest first, for
// tests that drive limactl through their own harness (the end-to-end tests).
func Installed() []Binary {
	detectOnce.Do(detect)
	var out []Binary
	for _, in := range detected.all {
		out = append(out, Binary{in.path, in.version})
	}
	return out
}

func newLima(t testing.TB, s setup) *Lima {
	t.Helper()
	if s.skip != "" {
		t.Skip(s.skip)
	}
	home, err := os.MkdirTemp("/tmp", "vl-")
	if err != nil {
		t.Fatalf("create LIMA_HOME: %v", err)
	}
	r := &Lima{t: t, s: s, limaHome: home}
	if s.root {
		if err := os.Chown(home, s.uid, s.gid); err != nil {
			os.RemoveAll(home)
			t.Fatalf("chown LIMA_HOME %q to %s: %v", home, s.user, err)
		}
	}
	t.Cleanup(r.cleanup)
	return r
}

// LimaHome is the LIMA_HOME every command of this handle runs with.
func (r *Lima) LimaHome() string { return r.limaHome }

// User is the account limactl runs as: TestUser under root, "" otherwise
// (the current user).
func (r *Lima) User() string { return r.s.user }

// Path is the absolute path of the real limactl.
func (r *Lima) Path() string { return r.s.limactl }

// Version is the Lima release of Path, e.g. "v2.2.0", or "unknown".
func (r *Lima) Version() string { return r.s.version }

// Major is Version's major number (0 when unknown).
func (r *Lima) Major() int {
	n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(r.s.version, "v"), ".", 2)[0])
	return n
}

// Command returns an unstarted command running limactl with args as the
// right user and with this handle's LIMA_HOME, for tests that need to attach
// their own stdin or read output as it comes.
func (r *Lima) Command(args ...string) *exec.Cmd {
	return r.commandWith(r.s.limactl, args...)
}

// commandWith is Command for another installed limactl.
func (r *Lima) commandWith(limactl string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	env := r.env()
	if r.s.root {
		// runuser keeps the environment but for HOME, SHELL, USER and
		// LOGNAME; env puts LIMA_HOME back in after runuser's own filtering.
		argv := append([]string{"-u", r.s.user, "--", "env", "LIMA_HOME=" + r.limaHome, limactl}, args...)
		cmd = exec.Command("runuser", argv...)
	} else {
		cmd = exec.Command(limactl, args...)
	}
	cmd.Env = env
	return cmd
}

// Wrapper writes an executable script that runs this handle's limactl as
// the right user, with its LIMA_HOME and the extra NAME=VALUE variables, and
// returns its path: for code under test that runs limactl itself (vmhook's
// Manager, vmhook as a process) through LIMACTL or projectvm.Command.
func (r *Lima) Wrapper(extraEnv ...string) string {
	r.t.Helper()
	dir, err := os.MkdirTemp("", "limactl-wrapper")
	if err != nil {
		r.t.Fatalf("limactl wrapper: %v", err)
	}
	r.t.Cleanup(func() { os.RemoveAll(dir) })
	q := shellquote.POSIX
	words := []string{"exec"}
	if r.s.root {
		words = append(words, "runuser", "-u", q(r.s.user), "--")
	}
	words = append(words, "env", q("LIMA_HOME="+r.limaHome))
	for _, kv := range extraEnv {
		words = append(words, q(kv))
	}
	words = append(words, q(r.s.limactl), `"$@"`)
	path := filepath.Join(dir, "limactl")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+strings.Join(words, " ")+"\n"), 0o755); err != nil {
		r.t.Fatalf("limactl wrapper: %v", err)
	}
	return path
}

// env is the test process's environment with LIMA_HOME replaced and, under
// root, root's XDG directories removed so Lima uses the test user's.
func (r *Lima) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LIMA_HOME" || (r.s.root && strings.HasPrefix(k, "XDG_")) {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LIMA_HOME="+r.limaHome)
}

// Run runs limactl with args and returns its output. A non-nil error names
// the arguments and ends with the last lines of stderr; it wraps the
// *exec.ExitError when limactl ran and failed.
func (r *Lima) Run(args ...string) (stdout, stderr string, err error) {
	cmd := r.Command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	stdout, stderr = out.String(), errb.String()
	if err != nil {
		err = fmt.Errorf("limactl %s: %w%s", strings.Join(args, " "), err, tail(stderr, 5))
	}
	return stdout, stderr, err
}

// tail formats the last n non-empty lines of s for an error message.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	joined := strings.TrimSpace(strings.Join(lines, "\n"))
	if joined == "" {
		return ""
	}
	return "\n" + joined
}

// Chown gives path, recursively, to the test user when running as root, so
// limactl can read (and mount) project directories the test created. Parent
// directories inside the temp dir (t.TempDir makes them 0700) are opened for
// traversal. Without root it does nothing.
func (r *Lima) Chown(path string) {
	r.t.Helper()
	if !r.s.root {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		r.t.Fatalf("chown %q: %v", path, err)
	}
	err = filepath.WalkDir(abs, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, r.s.uid, r.s.gid)
	})
	if err != nil {
		r.t.Fatalf("chown %q to %s: %v", abs, r.s.user, err)
	}
	tmp := filepath.Clean(os.TempDir())
	for dir := filepath.Dir(abs); strings.HasPrefix(dir, tmp+string(filepath.Separator)); dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			r.t.Fatalf("open %q for %s: %v", dir, r.s.user, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
				r.t.Fatalf("open %q for %s: %v", dir, r.s.user, err)
			}
		}
	}
}

// Validate runs `limactl validate` on file with every installed Lima
// version (a config vmhook generates must be valid for all of them). Under
// root the file is first copied (same base name) into this handle's
// LIMA_HOME, where the test user can read it. The error names the version
// and includes limactl's stderr.
func (r *Lima) Validate(file string) error {
	r.t.Helper()
	target := file
	if r.s.root {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("validate %q: %w", file, err)
		}
		r.mu.Lock()
		r.validate++
		n := r.validate
		r.mu.Unlock()
		// A directory starting with "_" is never taken for an instance.
		dir := filepath.Join(r.limaHome, fmt.Sprintf("_validate%d", n))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("validate %q: %w", file, err)
		}
		target = filepath.Join(dir, filepath.Base(file))
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return fmt.Errorf("validate %q: %w", file, err)
		}
	}
	var errs []error
	for _, in := range r.s.all {
		cmd := r.commandWith(in.path, "validate", target)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			errs = append(errs, fmt.Errorf("Lima %s: limactl validate %q: %w\n%s", in.version, file, err, strings.TrimSpace(errb.String())))
		}
	}
	return errors.Join(errs...)
}

// cleanup deletes every instance in LIMA_HOME (stopping any that run), then
// LIMA_HOME itself.
func (r *Lima) cleanup() {
	entries, err := os.ReadDir(r.limaHome)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.t.Errorf("clean up LIMA_HOME: %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		if _, _, err := r.Run(append([]string{"delete", "-f"}, names...)...); err != nil {
			r.t.Errorf("delete instances %v: %v", names, err)
		}
	}
	if err := os.RemoveAll(r.limaHome); err != nil {
		r.t.Errorf("remove LIMA_HOME: %v", err)
	}
}
