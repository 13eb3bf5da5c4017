package shelltest

import (
	"strings"
	"testing"
)

// promptScript loads both hooks, enters the project and runs the prompt
// hooks the way each shell does before a prompt, then prints VMHOOK_VM.
var promptScript = map[string]string{
	"bash": `eval "$(direnv hook bash)"; eval "$("$VMHOOK_TEST_BIN" init bash)"; cd "$1" || exit
for c in "${PROMPT_COMMAND[@]}"; do eval "$c"; done
echo "VM=$VMHOOK_VM"`,
	"zsh": `eval "$(direnv hook zsh)"; eval "$("$VMHOOK_TEST_BIN" init zsh)"; cd "$1" || exit
for f in $chpwd_functions; do $f; done
for f in $precmd_functions; do $f; done
echo "VM=$VMHOOK_VM"`,
	"fish": `direnv hook fish | source; $VMHOOK_TEST_BIN init fish | source; cd $argv[1]; or exit
emit fish_prompt
echo "VM=$VMHOOK_VM"`,
}

// TestNonInteractive: without a terminal, the hook never enters, even when
// its prompt functions run; `use vm` under direnv exec starts nothing. Had
// the hook called vmhook shell, vmhook would have refused with a line of its
// own, so no vmhook line may appear either.
func TestNonInteractive(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		w.allow()
		check := func(what, stdout, stderr string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v\n%s", what, err, stderr)
			}
			if !strings.Contains(stdout, "VM="+w.vm+"\n") {
				t.Errorf("%s: direnv did not load the project; stdout:\n%s\nstderr:\n%s", what, stdout, stderr)
			}
			for _, l := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(l, "vmhook: ") {
					t.Errorf("%s: vmhook printed %q", what, l)
				}
			}
			w.noVMCalls()
		}

		// test that the prompt hooks, run from a script, enter nothing
		args := []string{"-c", promptScript[sh.name], sh.name, w.project}
		if sh.name == "fish" {
			args = []string{"-c", promptScript[sh.name], w.project}
		}
		stdout, stderr, err := w.run(sh.name, args...)
		check("prompt hooks in a script", stdout, stderr, err)

		// test that an interactive shell reading a pipe enters nothing
		// (fish shows no prompt when reading a pipe, so it has no case)
		if sh.name != "fish" {
			w.write(sh.rcFile(w), sh.rc(false, ""))
			in := strings.NewReader("cd " + w.project + "\necho \"VM=$VMHOOK_VM\"\nexit\n")
			stdout, stderr, err = w.runIn(w.root, in, sh.args[0], sh.args[1:]...)
			check("interactive shell on a pipe", stdout, stderr, err)
		}

		// test that direnv exec loads the project and starts nothing
		stdout, stderr, err = w.run("direnv", "exec", w.project, "sh", "-c", `echo "VM=$VMHOOK_VM"`)
		check("direnv exec", stdout, stderr, err)
	})
}

// TestInitTwice: evaluating the init line again, before or after direnv's
// hook, registers vmhook's hook once, and it runs after direnv's.
func TestInitTwice(t *testing.T) {
	show := map[string]string{
		"bash": `printf '%s\n' "${PROMPT_COMMAND[@]}"`,
		"zsh":  `print -l $precmd_functions`,
		// fish puts vmhook's handler last at the first prompt, when direnv's
		// hook was loaded after it.
		"fish": "emit fish_prompt\nfunctions --handlers-type generic | string match 'fish_prompt *'",
	}
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		direnv, vmhook := sh.direnvHook, sh.vmhookHook
		for _, order := range [][]string{
			{direnv, vmhook, vmhook},
			{vmhook, direnv, vmhook},
			{vmhook, vmhook, direnv},
		} {
			script := strings.Join(append(order, show[sh.name]), "\n")
			stdout, stderr, err := w.run(sh.name, "-c", script)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			// Positions in the output; bash keeps PROMPT_COMMAND as one
			// string, so count words within lines.
			var ours, oursAt, direnvAt int
			pos := 0
			for _, f := range strings.FieldsFunc(stdout, func(r rune) bool { return strings.ContainsRune(";\n ", r) }) {
				pos++
				switch f {
				case "_vmhook_hook", "__vmhook_prompt":
					ours, oursAt = ours+1, pos
				case "_direnv_hook", "__direnv_export_eval":
					direnvAt = pos
				}
			}
			if ours != 1 || direnvAt == 0 || oursAt < direnvAt {
				t.Errorf("after\n%s\nthe prompt runs:\n%s\nwant vmhook's hook once, after direnv's", strings.Join(order, "\n"), stdout)
			}
		}
	})
}
