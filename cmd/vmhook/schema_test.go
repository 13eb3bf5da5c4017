package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/projectvm"
	"github.com/vmhook/vmhook/stdlib"
)

// TestSettingsTableInStep keeps what people read of the settings in step
// with the one table that defines them: the `use vm` usage comment in
// stdlib.sh, the settings flags of the commands, and the README's list of
// fields and variables.
func TestSettingsTableInStep(t *testing.T) {
	// test that stdlib.sh's usage block is the table's synopsis
	var want []string
	for i, l := range projectvm.UseUsage(80 - len("# Usage: ")) {
		if i == 0 {
			want = append(want, "# Usage: "+l)
		} else {
			want = append(want, "#        "+l)
		}
	}
	lib := stdlib.Render("/bin/vmhook")
	if !strings.Contains(lib, "\n"+strings.Join(want, "\n")+"\n") {
		t.Errorf("stdlib.sh's usage of use vm is not\n%s", strings.Join(want, "\n"))
	}

	// test that use, config and up take exactly the table's flags
	var flags []string
	for _, f := range projectvm.SettingsFlags() {
		flags = append(flags, f.Name)
	}
	for _, c := range newApp(&rt{}).Commands {
		if !slices.Contains([]string{"use", "config", "up"}, c.Name) {
			continue
		}
		var got []string
		for _, f := range c.Flags {
			if n := f.Names()[0]; slices.Contains(flags, n) {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, flags) {
			t.Errorf("vmhook %s takes settings flags %v, want %v", c.Name, got, flags)
		}
	}

	// test that the README lists the fields and variables of the table
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := regexp.MustCompile(`\s+`).ReplaceAllString(string(data), " ")
	fields := "Fields: `" + strings.Join(projectvm.ProjectFields(), " ") + "`"
	if !strings.Contains(readme, fields) {
		t.Errorf("README does not say %s", fields)
	}
	var vars []string
	for _, v := range projectvm.SettingsEnv() {
		vars = append(vars, "`"+v+"`")
	}
	if s := strings.Join(vars, ", "); !strings.Contains(readme, s) {
		t.Errorf("README does not list the variables %s", s)
	}
}

// TestUseCachePathAgrees: stdlib.sh computes the path of the `use vm`
// cache with builtins; vmhook names the same file.
func TestUseCachePathAgrees(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	e := projectvm.Env{StateHome: "/s"}
	dirs := []string{
		"/p/api",
		"/p/100% sure/a b",
		"/p/" + strings.Repeat("x", 200),
		"/p/" + strings.Repeat("y", 240),
		"/p/" + strings.Repeat("é", 110), // 220 bytes, 110 characters
		"/p/" + strings.Repeat("é", 120), // 240 bytes and more
	}
	lib := filepath.Join(t.TempDir(), "vmhook.sh")
	if err := os.WriteFile(lib, []byte(stdlib.Render("/bin/vmhook")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		cmd := exec.Command(bash, "--noprofile", "--norc", "-c", `source "$1"; PWD=$2; _vmhook_cache_path /s/vmhook; printf %s "$REPLY"`, "bash", lib, d)
		cmd.Env = []string{"LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		if got, want := string(out), e.UseCache(d); got != want {
			t.Errorf("cache of %q: stdlib.sh says %q, vmhook %q", d, got, want)
		}
	}
}
