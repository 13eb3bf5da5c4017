package hook

import (
	"os/exec"
	"strings"
	"testing"
)

// awkward are file names that break naive quoting.
var awkward = []string{
	"/usr/local/bin/vmhook",
	"/tmp/with space/vmhook",
	`/tmp/it's "quoted"/vmhook`,
	`/tmp/$HOME and $(echo no) and ` + "`no`" + `/vmhook`,
	`/tmp/back\slash\\/vmhook`,
	"/tmp/new\nline/vmhook",
	"/tmp/glob*?[a]/{x,y}/~/vmhook",
	"/tmp/semi;amp&pipe|/vmhook",
	"",
}

// TestQuoteRoundTrip has each real shell read the quoted word back.
func TestQuoteRoundTrip(t *testing.T) {
	for _, shell := range Shells {
		t.Run(shell, func(t *testing.T) {
			bin, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s not installed", shell)
			}
			for _, s := range awkward {
				q, err := Quote(shell, s)
				if err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(bin, "-c", "printf '%s|' "+q).Output()
				if err != nil {
					t.Fatalf("%s -c with %s: %v", shell, q, err)
				}
				if got := strings.TrimSuffix(string(out), "|"); got != s {
					t.Errorf("%s read %s back as %q, want %q", shell, q, got, s)
				}
			}
		})
	}
}

func TestRender(t *testing.T) {
	const path = `/opt/my tools/it's/vmhook`
	const enter = `/opt/my tools/it's/vmhook-enter`
	for _, shell := range Shells {
		t.Run(shell, func(t *testing.T) {
			out, err := Render(shell, path, enter)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := Quote(shell, path)
			if !strings.Contains(out, q) {
				t.Errorf("hook does not call %s", q)
			}
			qe, _ := Quote(shell, enter)
			if !strings.Contains(out, qe+` "$@"`) && !strings.Contains(out, qe+` $argv`) {
				t.Errorf("hook does not enter through %s", qe)
			}
			if strings.Contains(out, "@VMHOOK_BIN@") || strings.Contains(out, "@VMHOOK_ENTER@") {
				t.Error("placeholder left in the hook")
			}
			// Without vmhook-enter, entering is vmhook shell.
			out, err = Render(shell, path, "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, q+` shell "$@"`) && !strings.Contains(out, q+` shell $argv`) {
				t.Errorf("hook without vmhook-enter does not enter through %s shell", q)
			}
			for _, fn := range []string{"vm-shell", "vm-start", "vm-stop", "vm-status", "vm-destroy"} {
				if !strings.Contains(out, fn) {
					t.Errorf("hook does not define %s", fn)
				}
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		out, err := Completion(shell, "/x y/vmhook")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "'/x y/vmhook' ") || !strings.Contains(out, "--generate-bash-completion") {
			t.Errorf("%s completion does not ask vmhook for candidates:\n%s", shell, out)
		}
	}
	if _, err := Completion("fish", "vmhook"); err == nil {
		t.Error("Completion(fish) succeeded; fish completion comes from the CLI definition")
	}
}

func TestUnknownShell(t *testing.T) {
	for _, f := range []func() error{
		func() error { _, err := Render("tcsh", "vmhook", ""); return err },
		func() error { _, err := Quote("tcsh", "vmhook"); return err },
	} {
		err := f()
		if err == nil || !strings.Contains(err.Error(), `"tcsh"`) || !strings.Contains(err.Error(), "bash, zsh, fish") {
			t.Errorf("got %v, want an error naming tcsh and the valid shells", err)
		}
	}
}
