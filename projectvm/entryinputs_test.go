package projectvm

import (
	"testing"

	"github.com/vmhook/vmhook/internal/entry"
)

// TestEntryRecordsPath: vmhook-enter finds the records where vmhook keeps
// its state, under every way the environment can place it.
func TestEntryRecordsPath(t *testing.T) {
	for _, environ := range [][]string{
		{"HOME=/h"},
		{"HOME=/h", "XDG_STATE_HOME=/s"},
		{"HOME=/h", "XDG_STATE_HOME="},
		{"XDG_STATE_HOME=/s", "HOME=/h", "XDG_STATE_HOME=/t"},
	} {
		e, err := NewEnv(environ, Host{OS: "linux"})
		if err != nil {
			t.Fatal(err)
		}
		if got := entry.Dir(environ); got != e.EntryRecords() {
			t.Errorf("%q: vmhook-enter reads %s, vmhook keeps %s", environ, got, e.EntryRecords())
		}
	}
}
