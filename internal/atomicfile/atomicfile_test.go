package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStaleTempFilesCleaned leaves the temp files a killed writer would, and
// checks the next write in that directory removes the old ones only.
func TestStaleTempFilesCleaned(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	files := map[string]bool{ // name → removed
		".ports.json.tmp123456":   true,
		".config.yaml.tmp42":      true,
		".vmhook-owner.tmp7":      true,
		".ports.json.tmp999-new":  false, // not vmhook's pattern
		"ports.json.tmp1":         false, // not hidden: not vmhook's
		".ports.json.tmp55-fresh": false,
		"notes.txt":               false,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	fresh := filepath.Join(dir, ".ports.json.tmp55")
	os.WriteFile(fresh, []byte("x"), 0o644) // a writer that is still at work
	if err := Write(filepath.Join(dir, "ports.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: removed=%v, want %v", name, gone, removed)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("removed a temp file a running writer may still rename")
	}
}
