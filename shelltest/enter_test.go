package shelltest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/entry"
)

// TestRecordedEntry: at a terminal, in each shell, entering a running VM
// again goes through vmhook-enter's record of vmhook's decision (the record
// stays as it was: vmhook would have written it anew) and opens the same
// login shell at the project as vmhook did.
func TestRecordedEntry(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("shell", 1)
		record := entry.Path(entry.Dir(w.env), w.project, false)
		identity := func() entry.File {
			f, err := entry.Stat(record, true)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		want := fmt.Sprintf("fake-limactl shell %s workdir=%s cmd=%s", w.vm, w.project, guestCmd(w.vm))
		// An entry right after the start finds the VM's files too fresh to
		// record; a later one records, and the one after repeats it.
		for n := 2; ; n++ {
			before := identity()
			tm.typeLine("cd ..; cd " + w.project)
			tm.waitCalls("shell", n)
			tm.sync()
			if !before.Missing && identity() == before {
				break
			}
			if n == 8 {
				t.Fatalf("no entry in %d went through the recorded decision\n%s", n, tm.report())
			}
		}
		if got := tm.countLines(func(l string) bool { return strings.Contains(l, want) }); got < 2 {
			t.Errorf("the recorded entry did not open the login shell at the project (%d lines)\n%s", got, tm.report())
		}
		tm.expectCalls(map[string]int{"create": 1, "start": 1})
	})
}
