package shelltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLint checks the shell code vmhook prints, as rendered for a binary at
// an awkward path: shellcheck for bash, zsh -n and fish --no-execute for the
// others.
func TestLint(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		linter []string
	}{
		{"stdlib", []string{"stdlib"}, []string{"shellcheck", "--shell=bash", "--severity=style"}},
		{"bash hook", []string{"init", "bash"}, []string{"shellcheck", "--shell=bash", "--severity=style"}},
		{"bash completion", []string{"completion", "bash"}, []string{"shellcheck", "--shell=bash", "--severity=style"}},
		{"zsh hook", []string{"init", "zsh"}, []string{"zsh", "-n"}},
		{"zsh completion", []string{"completion", "zsh"}, []string{"zsh", "-n"}},
		{"fish hook", []string{"init", "fish"}, []string{"fish", "--no-execute"}},
		{"fish completion", []string{"completion", "fish"}, []string{"fish", "--no-execute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			need(t, tt.linter[0])
			out, err := exec.Command(vmhookBin, tt.args...).Output()
			if err != nil {
				t.Fatalf("vmhook %v: %v", tt.args, err)
			}
			file := filepath.Join(t.TempDir(), "script")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			lint := exec.Command(tt.linter[0], append(tt.linter[1:], file)...)
			if msg, err := lint.CombinedOutput(); err != nil {
				t.Errorf("%v: %v\n%s", tt.linter, err, msg)
			}
		})
	}
}
