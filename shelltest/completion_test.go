package shelltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completeScript has each shell complete the line $2 with vmhook's
// completion script $1 loaded, as the shell would on Tab, printing one
// candidate per line.
var completeScript = map[string][]string{
	// readline splits the line into words and calls the function for the
	// last one.
	"bash": {"bash", "--norc", "--noprofile", "-c", `source "$1"
read -ra COMP_WORDS <<<"$2"
[[ $2 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_vmhook_complete
printf '%s\n' "${COMPREPLY[@]}"`, "bash"},
	// Outside the completion system, words and CURRENT are plain
	// parameters, and compadd and _files are stand-ins that print.
	"zsh": {"zsh", "-f", "-c", `compdef() { :; }
compadd() { [[ $1 == -- ]] && shift; print -l -- "$@" | grep -- "^${words[CURRENT]}"; }
_files() { print FILES; }
source "$1"
words=(${(z)2})
[[ $2 == *" " ]] && words+=("")
CURRENT=$#words
_vmhook`, "zsh"},
	"fish": {"fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`},
}

// TestCompletion asks bash, zsh and fish, with vmhook's completion loaded,
// what completes a partly typed command line, in a project and with the
// fake limactl: completing must never run a command.
func TestCompletion(t *testing.T) {
	tests := []struct {
		line      string
		want, not []string
	}{
		{"vmhook st", []string{"start", "status", "stop", "stdlib"}, []string{"shell", "doctor"}},
		{"vmhook status --", []string{"--json", "--project", "--vm"}, []string{"--cpus", "-h"}},
		{"vmhook status --p", []string{"--project"}, []string{"--json"}},
		{"vmhook init ", nil, []string{"status"}},
		// After "--" come the operands of the command: file names.
		{"vmhook up -- ", nil, []string{"status", "--apply"}},
		{"vmhook shell -- ls ", nil, []string{"status"}},
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			need(t, shell)
			root, err := os.MkdirTemp("/tmp", "vh")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				killDaemons(filepath.Join(root, "l"))
				os.RemoveAll(root)
			})
			project := filepath.Join(root, "p")
			log := filepath.Join(root, "calls")
			if err := os.MkdirAll(project, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(project, "vmhook.yaml"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			script, err := exec.Command(vmhookBin, "completion", shell).Output()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(root, "completion")
			if err := os.WriteFile(file, script, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				args := append(append([]string(nil), completeScript[shell][1:]...), file, tt.line)
				cmd := exec.Command(completeScript[shell][0], args...)
				cmd.Dir = project
				cmd.Env = []string{"HOME=" + root, "LIMA_HOME=" + filepath.Join(root, "l"),
					"FAKE_LIMACTL_LOG=" + log, "PATH=" + fakeDir + ":/usr/bin:/bin"}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%q: %v\n%s", tt.line, err, out)
				}
				got := map[string]bool{}
				for _, l := range strings.Split(string(out), "\n") {
					// fish appends a tab and the description.
					word, _, _ := strings.Cut(l, "\t")
					got[word] = true
				}
				for _, w := range tt.want {
					if !got[w] {
						t.Errorf("%q does not complete to %q; got:\n%s", tt.line, w, out)
					}
				}
				for _, w := range tt.not {
					if got[w] {
						t.Errorf("%q completes to %q; got:\n%s", tt.line, w, out)
					}
				}
			}
			// test that completing ran no command
			if calls, err := os.ReadFile(log); err == nil {
				t.Errorf("completing called limactl:\n%s", calls)
			}
			if _, err := os.Stat(filepath.Join(project, ".lima")); err == nil {
				t.Error("completing wrote the project's config")
			}
		})
	}
}
