package shelltest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSessionEntry: with session: tmux or zellij, cd into the project runs
// the multiplexer in the guest instead of a shell, attaching to the
// project's session or creating it, and both build the same shape of
// command: the guard variables, then the tool, then the VM's name.
func TestSessionEntry(t *testing.T) {
	sh := shells[0]
	need(t, sh.name)
	for tool, cmd := range map[string]string{
		"tmux":   `"tmux" "new-session" "-A" "-s" "%s"`,
		"zellij": `"zellij" "attach" "--create" "%s"`,
	} {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.write(filepath.Join(w.project, "vmhook.yaml"), "session: "+tool+"\n")
			w.allow()
			tm := w.startShell(sh, termOpts{})
			tm.sync()
			tm.typeLine("cd " + w.project)
			tm.waitCalls("shell", 1)
			want := fmt.Sprintf(`fake-limactl shell %s workdir=%s cmd=["SYSINIT_IN_VM=1" "VMHOOK_VM=%s" `+cmd+`]`, w.vm, w.project, w.vm, w.vm)
			if !tm.hasLine(want) {
				t.Errorf("entry did not attach to the %s session: want %s\n%s", tool, want, tm.report())
			}
			// test that leaving and coming back attaches to the same session
			tm.typeLine("cd ..")
			tm.sync()
			tm.typeLine("cd " + w.project)
			tm.waitCalls("shell", 2)
			if n := tm.countLines(func(l string) bool { return strings.Contains(l, want) }); n != 2 {
				t.Errorf("%d entries into the %s session, want 2\n%s", n, tool, tm.report())
			}
		})
	}
}
