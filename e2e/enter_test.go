package e2e

import (
	"strings"

	"github.com/vmhook/vmhook/internal/entry"
)

// checkRecordedEntry proves, on a running real VM, that entering again
// repeats the decision vmhook recorded: vmhook-enter leaves the record as
// it was (vmhook would have written it anew), checks the real host agent
// and QEMU, and the command runs in the guest with the guard set.
func (h *harness) checkRecordedEntry(dir, name string) {
	h.t.Helper()
	record := entry.Path(entry.Dir(h.env()), dir, true)
	identity := func() entry.File {
		f, err := entry.Stat(record, true)
		if err != nil {
			h.t.Fatal(err)
		}
		return f
	}
	// An entry just after a file vmhook reads changed records nothing;
	// the next one does.
	for i := 0; ; i++ {
		before := identity()
		out := h.run("vmhook-enter", "--project", dir, "--", "sh", "-c", `echo "guard=$SYSINIT_IN_VM:$VMHOOK_VM"`)
		if want := "guard=1:" + name; strings.TrimSpace(out) != want {
			h.t.Fatalf("vmhook-enter ran the command as %q, want %q", strings.TrimSpace(out), want)
		}
		if !before.Missing && identity() == before {
			return
		}
		if i == 5 {
			h.t.Fatalf("none of %d entries repeated the recorded decision (record %q)", i+1, record)
		}
	}
}
