package main

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/nixtest"
)

// gitEnv keeps the user's and the system's git configuration out of a test.
func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
}

// runGit runs git in dir and returns its output; a failure ends the test.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gitRepo is a repository with files committed, as a project someone
// adopts vmhook in.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed: apt-get install git")
	}
	dir := filepath.Join(t.TempDir(), "myrepo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "init", "-q")
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "the project as it was")
	return dir
}

// checkIgnored has git confirm that what vmhook and direnv write into the
// project never shows up as a change: .lima/, .direnv/ and Nix's result
// links.
func checkIgnored(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{".lima/config.yaml", ".direnv/bash-profile"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/nix/store/x-shell", filepath.Join(dir, "result")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".lima/", ".lima/config.yaml", ".direnv/", ".direnv/bash-profile", "result"} {
		cmd := exec.Command("git", "-C", dir, "check-ignore", "-q", p)
		cmd.Env = gitEnv()
		if err := cmd.Run(); err != nil {
			t.Errorf("git check-ignore %s: %v\n.gitignore:\n%s", p, err, readFile(t, filepath.Join(dir, ".gitignore")))
		}
	}
	status := runGit(t, dir, "status", "--porcelain", "--untracked-files=all")
	for _, f := range []string{".lima", ".direnv", "result"} {
		if strings.Contains(status, " "+f) {
			t.Errorf("git status shows %s:\n%s", f, status)
		}
	}
	for _, f := range []string{".lima", ".direnv", "result"} {
		os.RemoveAll(filepath.Join(dir, f))
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// TestNewAdoptsRepos runs vmhook new --template vm-dev in real git
// repositories of the kinds people have: nothing they hold is lost (every
// file they had is unchanged or starts with its old bytes), every template
// file is there afterwards unless vmhook new said why it left it out, and
// git ignores what vmhook and direnv write.
func TestNewAdoptsRepos(t *testing.T) {
	t.Parallel()
	pkg := `{"name": "web", "scripts": {"dev": "vite"}}` + "\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		// want are lines of vmhook new's stderr, after "vmhook: " and the
		// project directory.
		want []string
	}{
		{
			name:  "no .gitignore and no .envrc",
			files: map[string]string{"package.json": pkg},
			want:  []string{"wrote /.envrc", "wrote /.gitignore"},
		},
		{
			name:  ".gitignore of its own",
			files: map[string]string{"package.json": pkg, ".gitignore": "node_modules/\n.env\n"},
			want:  []string{"added .direnv/, .lima/, result, result-* to /.gitignore", "wrote /.envrc"},
		},
		{
			name:  ".envrc of its own",
			files: map[string]string{".envrc": "use flake\ndotenv_if_exists\n", ".gitignore": "/.direnv\n"},
			want:  []string{"added use vm to /.envrc", "added .lima/, result, result-* to /.gitignore"},
		},
		{
			name:  "CRLF line endings",
			files: map[string]string{".gitignore": "node_modules/\r\nbin/\r\n", ".envrc": "export APP_ENV=dev\r\n"},
			want:  []string{"added .direnv/, .lima/, result, result-* to /.gitignore", "added use vm to /.envrc"},
		},
		{
			name:  "no newline at the end",
			files: map[string]string{".gitignore": "node_modules/", ".envrc": "export APP_ENV=dev"},
			want:  []string{"added .direnv/, .lima/, result, result-* to /.gitignore", "added use vm to /.envrc"},
		},
		{
			name:  "vmhook.yaml of its own",
			files: map[string]string{"vmhook.yaml": "cpus: 2\nports: [3000]\n", ".gitignore": ".lima\n"},
			want:  []string{"kept /vmhook.yaml, which differs from vm-dev's; yours is used as it is", "wrote /.envrc"},
		},
		{
			name:  "everything already there",
			files: map[string]string{".gitignore": ".direnv/\n.lima/\nresult\nresult-*\n", ".envrc": "use vm\n", "vmhook.yaml": "memory: 8GiB\n", "flake.nix": "{ outputs = _: { }; }\n"},
			want:  []string{"kept /flake.nix, the project's own; to have lima and just on the host", "left out shell.nix: the project's flake.nix is its dev shell"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := gitRepo(t, tc.files)
			code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", "vm-dev", dir)
			if code != 0 {
				t.Fatalf("vmhook new: exit %d\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if line := "vmhook: " + strings.Replace(w, " /", " "+dir+"/", 1); !strings.Contains(stderr, line) {
					t.Errorf("stderr lacks %q:\n%s", line, stderr)
				}
			}
			for f, data := range tc.files {
				if got := readFile(t, filepath.Join(dir, f)); !strings.HasPrefix(got, data) {
					t.Errorf("%s lost bytes:\n was %q\n now %q", f, data, got)
				}
			}
			for _, f := range []string{".envrc", ".gitignore", "vmhook.yaml", "flake.nix", "shell.nix", "justfile"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil && !strings.Contains(stderr, "vmhook: left out "+f+": ") {
					t.Errorf("%s missing after vmhook new: %v", f, err)
				}
			}
			if envrc := readFile(t, filepath.Join(dir, ".envrc")); strings.Count(envrc, "use vm\n") != 1 {
				t.Errorf(".envrc does not say use vm exactly once:\n%s", envrc)
			}
			checkIgnored(t, dir)

			// test that a second run changes nothing
			before := treeFiles(t, dir)
			if code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", "vm-dev", dir); code != 0 || strings.Contains(stderr, "wrote") || strings.Contains(stderr, "added") {
				t.Errorf("second vmhook new: exit %d\n%s", code, stderr)
			}
			if after := treeFiles(t, dir); !maps.Equal(after, before) {
				t.Error("a second vmhook new changed files")
			}
		})
	}
}

// TestNewForceInRepo replaces the files vmhook new kept, and git sees each
// old one in its backup.
func TestNewForceInRepo(t *testing.T) {
	t.Parallel()
	mine := map[string]string{"vmhook.yaml": "cpus: 2\n", "justfile": "test:\n    go test ./...\n", ".gitignore": "bin/\n"}
	dir := gitRepo(t, mine)
	if err := os.WriteFile(filepath.Join(dir, "justfile.vmhook-backup"), []byte("older\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runVmhook(t, newTestEnv(t), "new", "--template", "vm-dev", "--force", dir)
	if code != 0 {
		t.Fatalf("vmhook new --force: exit %d\n%s", code, stderr)
	}
	for f, backup := range map[string]string{"vmhook.yaml": "vmhook.yaml.vmhook-backup", "justfile": "justfile.vmhook-backup.1"} {
		if want := "vmhook: replaced " + filepath.Join(dir, f) + " with vm-dev's; yours is now " + filepath.Join(dir, backup) + "\n"; !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
		if got := readFile(t, filepath.Join(dir, backup)); got != mine[f] {
			t.Errorf("%s holds %q, want %q", backup, got, mine[f])
		}
	}
	if got := readFile(t, filepath.Join(dir, "justfile.vmhook-backup")); got != "older\n" {
		t.Errorf("an earlier backup was overwritten: %q", got)
	}
	if got := readFile(t, filepath.Join(dir, ".gitignore")); !strings.HasPrefix(got, mine[".gitignore"]+"\n# direnv") {
		t.Errorf(".gitignore was not merged under --force: %q", got)
	}
	// git sees the backups as new files, so nothing is lost silently.
	status := runGit(t, dir, "status", "--porcelain")
	for _, b := range []string{"vmhook.yaml.vmhook-backup", "justfile.vmhook-backup.1"} {
		if !strings.Contains(status, "?? "+b+"\n") {
			t.Errorf("git status does not show %s:\n%s", b, status)
		}
	}
	checkIgnored(t, dir)
}

// TestNewReadOnlyInRepo refuses in one line, before writing anything, when
// a file it must change or the directory is read-only.
func TestNewReadOnlyInRepo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ro   string // made read-only, relative to the repo
		want string
	}{
		{"read-only .envrc", ".envrc", "the file is read-only; make it writable (chmod u+w)"},
		{"read-only directory", ".", "the directory is read-only; make it writable (chmod u+w)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := gitRepo(t, map[string]string{".envrc": "use nix\n", ".gitignore": "node_modules/\n"})
			p := filepath.Join(dir, tc.ro)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, fi.Mode().Perm()&^0o222); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(p, fi.Mode().Perm()) })
			before := treeFiles(t, dir)
			code, _, stderr := runVmhook(t, newTestEnv(t), "new", dir)
			if code != 1 || !strings.HasPrefix(stderr, "vmhook: ") || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line with %q", code, stderr, tc.want)
			}
			if after := treeFiles(t, dir); !maps.Equal(after, before) {
				t.Error("a refusal changed files")
			}
			if status := runGit(t, dir, "status", "--porcelain", "--untracked-files=all"); status != "" {
				t.Errorf("git sees changes after a refusal:\n%s", status)
			}
		})
	}
}

// TestNixFlakeInitInRepo documents what `nix flake init -t` does in an
// existing repository and that `vmhook new .` after it always completes the
// project. The flake templates hold no .envrc or .gitignore, so a repository
// with those two initialises cleanly; a file that nix would have to
// overwrite (here the project's own flake.nix) makes nix refuse and exit
// non-zero (Nix 2.8 stops at the first such file, newer Nix writes the
// others first), and vmhook new then writes whatever is missing and keeps
// the project's file.
func TestNixFlakeInitInRepo(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nix"); err != nil {
		t.Skip("nix not installed: apt-get install nix-bin")
	}
	flake := copyRootFlake(t)
	for _, tc := range []struct {
		name   string
		files  map[string]string
		nixErr string // what nix flake init fails with, if it does
	}{
		{"a repo with .gitignore and .envrc", map[string]string{".gitignore": "node_modules/\n", ".envrc": "dotenv\n", "package.json": "{}\n"}, ""},
		{"a repo with its own flake.nix", map[string]string{".gitignore": "target/\n", "flake.nix": "{ outputs = _: { }; }\n"}, "refusing to overwrite existing file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := gitRepo(t, tc.files)
			out, err := nixFlakeInit(t, nixtest.Env(t), flake, "vm-dev", dir)
			if tc.nixErr == "" && err != nil {
				t.Fatalf("nix flake init: %v\n%s", err, out)
			}
			if tc.nixErr != "" && (err == nil || !strings.Contains(out, tc.nixErr)) {
				t.Fatalf("nix flake init: %v, want a failure with %q\n%s", err, tc.nixErr, out)
			}
			for f, data := range tc.files {
				if got := readFile(t, filepath.Join(dir, f)); got != data {
					t.Errorf("nix flake init changed %s to %q", f, got)
				}
			}
			code, _, stderr := runVmhook(t, newTestEnv(t), "new", dir)
			if code != 0 {
				t.Fatalf("vmhook new after nix flake init: exit %d\n%s", code, stderr)
			}
			for f, data := range tc.files {
				if got := readFile(t, filepath.Join(dir, f)); !strings.HasPrefix(got, data) {
					t.Errorf("%s lost bytes: %q", f, got)
				}
			}
			for _, f := range []string{".envrc", ".gitignore", "vmhook.yaml", "flake.nix", "shell.nix", "justfile"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil && !strings.Contains(stderr, "vmhook: left out "+f+": ") {
					t.Errorf("%s missing after nix flake init and vmhook new: %v", f, err)
				}
			}
			if !strings.Contains(readFile(t, filepath.Join(dir, ".envrc")), "\n  use vm\n") {
				t.Error(".envrc has no use vm")
			}
			checkIgnored(t, dir)
		})
	}
}
