package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/internal/testkit"
)

// TestBuildsUseBuildTags checks that every command the repository gives
// for building or installing vmhook (docs, recipes, scripts, scaffolds)
// passes testkit.BuildTags; the Go harnesses use the constant itself.
func TestBuildsUseBuildTags(t *testing.T) {
	repo := filepath.Join("..", "..")
	var files []string
	for _, pattern := range []string{"README.md", "justfile", ".ci/run", "scripts/*.sh", "bench/*.sh", "bench/*/*.sh", "e2e/*.sh", "e2e/setup/*.sh", "templates/scaffold/*/.envrc"} {
		m, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	build := regexp.MustCompile(`go (build|install)\b.*cmd/(vmhook|\.\.\.)`)
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if !build.MatchString(line) {
				continue
			}
			found++
			if !strings.Contains(line, "-tags "+testkit.BuildTags) {
				t.Errorf("%s:%d builds vmhook without -tags %s: %s", f, i+1, testkit.BuildTags, strings.TrimSpace(line))
			}
		}
	}
	if found < 5 {
		t.Errorf("found only %d build commands; has the layout changed?", found)
	}
}
