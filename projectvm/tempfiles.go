package projectvm

import (
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// tempFileName matches the temporary files writeFileAtomic creates
// (".NAME.tmp" and random digits). One is left behind only when its writer
// was killed between creating and renaming it.
var tempFileName = regexp.MustCompile(`^\..+\.tmp[0-9]+$`)

// staleTempAge is how old a temporary file must be before it is taken for a
// dead writer's: a live writer renames its file within moments.
const staleTempAge = time.Minute

func isTempFile(name string) bool { return tempFileName.MatchString(name) }

// removeStaleTemps deletes the temporary files of dead writers in dir. It is
// best effort: a file it cannot remove is tried again at the next write.
func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleTempAge)
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempFile(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
