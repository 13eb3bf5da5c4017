package entry

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWorkdir checks where an entry lands: the directory you stand in when
// the project has it, the project otherwise.
func TestWorkdir(t *testing.T) {
	base := t.TempDir()
	proj := filepath.Join(base, "repo")
	deep := filepath.Join(proj, "basics", "demo")
	outside := filepath.Join(base, "elsewhere")
	for _, d := range []string{deep, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(proj, "out")))
	must(os.Symlink(proj, filepath.Join(base, "alias")))
	must(os.Symlink("basics", filepath.Join(proj, "b")))
	for _, c := range []struct{ cwd, want string }{
		{proj, proj},
		{deep, deep},
		{filepath.Join(proj, "basics"), filepath.Join(proj, "basics")},
		{filepath.Join(base, "alias", "basics", "demo"), deep}, // through a link to the project
		{filepath.Join(proj, "b", "demo"), deep},               // a link inside it, judged resolved
		{filepath.Join(proj, "out"), proj},                     // a link out of it is not mounted
		{outside, proj},                                        // vmhook shell --project from elsewhere
		{base, proj},                                           // above it
		{filepath.Join(proj, "gone"), proj},                    // a directory removed meanwhile
		{proj + "-other", proj},                                // a sibling sharing the prefix
	} {
		if got := Workdir(proj, c.cwd); got != c.want {
			t.Errorf("Workdir(%s) = %s, want %s", c.cwd, got, c.want)
		}
	}
}
