// Package hook holds vmhook's shell integration for bash, zsh and fish: the
// prompt hooks that enter a project's VM, and the completion scripts. They
// are real shell files, embedded in the binary, so that linters and editors
// see them as they run; Render and Completion fill in the path of the vmhook
// binary, quoted for the target shell.
package hook

import (
	"cmp"
	"embed"
	"fmt"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
)

//go:embed hook.bash hook.zsh hook.fish completion.bash completion.zsh
var files embed.FS

// Shells are the shells Render supports, in the order help texts list them.
var Shells = []string{"bash", "zsh", "fish"}

// placeholder stands for the quoted vmhook path in the embedded files, and
// enterPlaceholder for how to enter a project's VM. Each is a complete
// single-quoted word, so the files stay valid shell as they are.
const (
	placeholder      = "'@VMHOOK_BIN@'"
	enterPlaceholder = "'@VMHOOK_ENTER@'"
)

// Render returns the prompt hook for shell, calling the vmhook binary at
// selfPath, and entering VMs through the vmhook-enter binary at enterPath:
// `vmhook shell` when enterPath is "".
func Render(shell, selfPath, enterPath string) (string, error) {
	out, err := render("hook."+shell, shell, selfPath)
	if err != nil {
		return "", err
	}
	enter, err := Quote(shell, cmp.Or(enterPath, selfPath))
	if err != nil {
		return "", err
	}
	if enterPath == "" {
		enter += " shell"
	}
	if !strings.Contains(out, enterPlaceholder) {
		return "", fmt.Errorf("render hook.%s: no %s placeholder", shell, enterPlaceholder)
	}
	return strings.ReplaceAll(out, enterPlaceholder, enter), nil
}

// Completion returns the completion script for shell ("bash" or "zsh"),
// asking the vmhook binary at selfPath for candidates.
func Completion(shell, selfPath string) (string, error) {
	if shell != "bash" && shell != "zsh" {
		return "", unknownShell(shell, []string{"bash", "zsh"})
	}
	return render("completion."+shell, shell, selfPath)
}

func render(file, shell, selfPath string) (string, error) {
	quoted, err := Quote(shell, selfPath)
	if err != nil {
		return "", err
	}
	b, err := files.ReadFile(file)
	if err != nil {
		return "", unknownShell(shell, Shells)
	}
	s := string(b)
	if !strings.Contains(s, placeholder) {
		return "", fmt.Errorf("render %s: no %s placeholder", file, placeholder)
	}
	return strings.ReplaceAll(s, placeholder, quoted), nil
}

func unknownShell(shell string, valid []string) error {
	return fmt.Errorf("unknown shell %q; use one of: %s", shell, strings.Join(valid, ", "))
}

// Quote returns s as one word of shell's syntax, read back verbatim: every
// byte a file name may hold, including quotes, $, backslashes and newlines.
func Quote(shell, s string) (string, error) {
	switch shell {
	case "bash", "zsh":
		return shellquote.POSIX(s), nil
	case "fish":
		return shellquote.Fish(s), nil
	}
	return "", unknownShell(shell, Shells)
}
