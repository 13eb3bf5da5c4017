package shelltest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAttackFINDINGSettingsTTY: a repository commits vmhook.yaml as a link to
// /dev/tty (git keeps links). On cd, direnv's use vm runs vmhook, which opens
// the settings file with a plain open(2) and reads the terminal: the prompt
// does not come back and what the user types next is taken as settings,
// until Ctrl-D or Ctrl-C. vmhook should refuse a settings file that is not
// a regular file, at once, in one line. This test fails on today's code.
func TestAttackFINDINGSettingsTTY(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		if err := os.Symlink("/dev/tty", filepath.Join(w.project, "vmhook.yaml")); err != nil {
			t.Fatal(err)
		}
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		time.Sleep(time.Second)
		// test that the prompt is back: a command typed now runs as a command
		tm.typeLine(`echo al""ive=ok`)
		deadline := time.Now().Add(30 * time.Second)
		for !tm.hasLine("alive=ok") {
			if time.Now().After(deadline) {
				tm.key("C-c")
				t.Fatalf("the prompt did not come back after cd into a project whose vmhook.yaml links to /dev/tty\n%s", tm.report())
			}
			time.Sleep(100 * time.Millisecond)
		}
		tm.sync()
		// direnv watches vmhook.yaml, whose target (the terminal) changes
		// its time whenever the terminal is written to, so direnv may load
		// the .envrc again at a later prompt and say it again: at least once.
		if n := tm.vmhookLines("not a regular file"); n < 1 {
			t.Errorf("no line says the settings file is not a regular file\n%s", tm.report())
		}
		w.noVMCalls()
	})
}
