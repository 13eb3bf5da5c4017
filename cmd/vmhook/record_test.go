package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/vmhook/vmhook/internal/entry"
)

// TestUnsettled holds the rule that keeps a change racing with a decision
// out of its record, for fine and for whole-second file times: on a file
// system with one-second times, an edit of the same size within the
// recorded second would leave the file looking as recorded.
func TestUnsettled(t *testing.T) {
	start := time.Unix(1000, 500_000_000)
	file := func(ctime time.Time) entry.File {
		return entry.File{Path: "/f", Mode: syscall.S_IFREG, Ctime: ctime.UnixNano()}
	}
	for _, tt := range []struct {
		name string
		f    entry.File
		want bool
	}{
		{"fine time long before", file(start.Add(-time.Second)), false},
		{"fine time just before", file(start.Add(-50 * time.Millisecond)), true},
		{"whole second of the start", file(time.Unix(1000, 0)), true},
		{"whole second before the start", file(time.Unix(999, 0)), true},
		{"whole seconds long before", file(time.Unix(997, 0)), false},
		{"missing", entry.File{Path: "/f", Missing: true}, false},
		{"directory by what it is", entry.File{Path: "/d", Mode: syscall.S_IFDIR, Ctime: start.UnixNano()}, false},
		{"listed directory", entry.File{Path: "/d", Mode: syscall.S_IFDIR, List: true, Ctime: time.Unix(1000, 0).UnixNano()}, true},
	} {
		if got := unsettled(tt.f, start); got != tt.want {
			t.Errorf("%s: unsettled = %v, want %v", tt.name, got, tt.want)
		}
	}
}
