package projectvm

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// The status of an instance is read from its directory; `limactl list
// --json` is only the cross-check of the tests, which parse it here.

// ListEntry is one instance as `limactl list --json` reports it.
type ListEntry struct {
	Name   string
	Status string
	Dir    string
	VMType string
	Arch   string
}

// ParseList parses `limactl list --json` output: one JSON object per line
// (Lima's format), or a JSON array (accepted for robustness).
func ParseList(out []byte) []ListEntry {
	var entries []ListEntry
	add := func(v gjson.Result) {
		if !v.IsObject() {
			return
		}
		entries = append(entries, ListEntry{
			Name:   v.Get("name").String(),
			Status: v.Get("status").String(),
			Dir:    v.Get("dir").String(),
			VMType: v.Get("vmType").String(),
			Arch:   v.Get("arch").String(),
		})
	}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		gjson.ParseBytes(trimmed).ForEach(func(_, v gjson.Result) bool { add(v); return true })
		return entries
	}
	gjson.ForEachLine(string(out), func(line gjson.Result) bool { add(line); return true })
	return entries
}
