package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
)

// nixFlood is what a Nix that cannot build the dev shell prints: thirty
// lines, as Nix without a nixpkgs channel does.
const nixFlood = `for i in $(seq 30); do echo "error: file 'nixpkgs' was not found in the Nix search path (add it using \$NIX_PATH or -I) ($i)" >&2; done; exit 1`

// TestVmDevEnvrcNeverFailsCd loads the vm-dev .envrc in the real direnv
// where Nix cannot give the dev shell: a flake git does not track, a flake
// that fails to evaluate, no nixpkgs channel for shell.nix, a shell.nix
// that fails. Each time the project's VM is still set up and Nix's part is
// one line saying why and what to do. Nix is a stub on PATH, so nothing is
// built or fetched.
func TestVmDevEnvrcNeverFailsCd(t *testing.T) {
	t.Parallel()
	direnv, err := exec.LookPath("direnv")
	if err != nil {
		t.Skip("direnv not installed: apt-get install direnv")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed: apt-get install git")
	}
	vmhookDir := vmhookBinary(t)
	noNix := pathWithout(t, func(n string) bool { return strings.HasPrefix(n, "nix") })
	root := testkit.ShortDir(t, "vhe")
	home := filepath.Join(root, "home")
	base := append(testkit.UserEnv(home), "LIMA_HOME="+filepath.Join(root, "lima"), "NO_COLOR=1", "NIX_PATH=")
	base = append(base, gitEnv()...)
	lib := filepath.Join(home, ".config", "direnv", "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("vmhook", "stdlib")
	cmd.Env = append(slices.Clone(base), "PATH="+vmhookDir+":"+noNix)
	stdlib, err := cmd.Output()
	if err != nil {
		t.Fatalf("vmhook stdlib: %v", err)
	}
	if err := os.WriteFile(filepath.Join(lib, "vmhook.sh"), stdlib, 0o644); err != nil {
		t.Fatal(err)
	}

	_, nixErr := exec.LookPath("nix")
	flakesOn := `[ "$1" = show-config ] && { echo "experimental-features = nix-command flakes"; exit 0; }`
	for i, tc := range []struct {
		name string
		git  bool              // the project is a git repository, its files untracked
		real []string          // run the installed Nix, with this environment
		stub map[string]string // programs on PATH: name → sh script body
		want string            // the one line about Nix
	}{
		{
			name: "flake untracked by git",
			git:  true,
			stub: map[string]string{"nix": flakesOn + "\necho 'nix should not have been run' >&2; exit 1", "nix-shell": "exit 1"},
			want: "use flake: Nix sees only files git tracks; run: git add flake.nix shell.nix",
		},
		{
			name: "flake fails to evaluate",
			stub: map[string]string{"nix": flakesOn + "\n" + nixFlood, "nix-shell": "exit 1"},
			want: "use flake: the Nix dev shell did not load (error: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I) (1)); run nix develop for the rest",
		},
		{
			name: "no nixpkgs channel",
			stub: map[string]string{"nix": "exit 0", "nix-shell": nixFlood, "nix-instantiate": nixFlood},
			want: "use nix: shell.nix needs a nixpkgs channel and there is none; run: nix-channel --add",
		},
		{
			name: "shell.nix fails",
			stub: map[string]string{"nix": "exit 0", "nix-shell": nixFlood, "nix-instantiate": "echo /nix/store/x-nixpkgs"},
			want: "use nix: the Nix dev shell did not load (error: file 'nixpkgs' was not found",
		},
		{
			name: "installed nix, flakes on, flake untracked",
			git:  true,
			real: []string{"NIX_CONFIG=experimental-features = nix-command flakes"},
			want: "use flake: Nix sees only files git tracks; run: git add flake.nix shell.nix",
		},
		{
			name: "installed nix, flakes off, no channel",
			real: []string{"NIX_CONFIG=experimental-features ="},
			want: "use nix: shell.nix needs a nixpkgs channel and there is none",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.real != nil && nixErr != nil {
				t.Skip("nix not installed: apt-get install nix-bin")
			}
			stubs := filepath.Join(root, "stub"+string(rune('a'+i)))
			if err := os.MkdirAll(stubs, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range tc.stub {
				if err := os.WriteFile(filepath.Join(stubs, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := append(slices.Clone(base), "PATH="+stubs+":"+vmhookDir+":"+noNix)
			if tc.real != nil {
				env = append(append(slices.Clone(base), tc.real...), "PATH="+vmhookDir+":"+os.Getenv("PATH"), "NIX_CONF_DIR="+filepath.Join(root, "etc"))
			}
			project := filepath.Join(root, "p"+string(rune('a'+i)), "myapp")
			if code, _, stderr := runVmhook(t, env, "new", "--template", "vm-dev", project); code != 0 {
				t.Fatalf("vmhook new: exit %d\n%s", code, stderr)
			}
			if tc.git {
				runGit(t, project, "init", "-q")
			}
			run := func(args ...string) (string, string) {
				t.Helper()
				cmd := exec.Command(args[0], args[1:]...)
				cmd.Env, cmd.Dir = env, project
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
				}
				return stdout.String(), stderr.String()
			}
			run(direnv, "allow", ".")
			out, stderr := run("bash", "-c", `eval "$("$1" export bash)"; printf '%s\n' "$VMHOOK_VM"`, "bash", direnv)
			if out != "myapp-dev\n" {
				t.Errorf("VMHOOK_VM = %q, want myapp-dev; direnv said:\n%s", out, stderr)
			}
			var nixLines []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "nix") || strings.Contains(l, "error") {
					nixLines = append(nixLines, l)
				}
			}
			if len(nixLines) != 1 || !strings.Contains(nixLines[0], tc.want) {
				t.Errorf("want one line about Nix saying %q, got %d:\n%s", tc.want, len(nixLines), stderr)
			}
		})
	}
}
