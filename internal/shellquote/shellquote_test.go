package shellquote

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRoundTrip has each shell read the quoted word back.
func TestRoundTrip(t *testing.T) {
	words := []string{"", "plain", "it's", `a "b" \c $d`, "new\nline", "\xff\xfe", `'\''`, `\`}
	for _, sh := range []struct {
		name  string
		quote func(string) string
		args  func(word string) []string
	}{
		{"bash", POSIX, func(w string) []string { return []string{"--norc", "-c", "printf %s " + w} }},
		{"zsh", POSIX, func(w string) []string { return []string{"-f", "-c", "printf %s " + w} }},
		{"fish", Fish, func(w string) []string { return []string{"--no-config", "-c", "printf %s " + w} }},
	} {
		path, err := exec.LookPath(sh.name)
		if err != nil {
			continue
		}
		for _, w := range words {
			out, err := exec.Command(path, sh.args(sh.quote(w))...).Output()
			if err != nil {
				t.Errorf("%s: %q: %v", sh.name, w, err)
				continue
			}
			if string(out) != w {
				t.Errorf("%s read %q back as %q", sh.name, w, out)
			}
		}
	}
}

// TestBashLine has bash read back words quoted on one line.
func TestBashLine(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, w := range []string{"plain", "it's", "new\nline", "tab\there", "\x7f\x01'\\", "\xff\xfe\n"} {
		q := BashLine(w)
		if strings.ContainsAny(q, "\n\r") {
			t.Errorf("%q quoted over more than one line: %s", w, q)
		}
		out, err := exec.Command(bash, "--norc", "-c", "printf %s "+q).Output()
		if err != nil {
			t.Errorf("%q: %v", w, err)
			continue
		}
		if string(out) != w {
			t.Errorf("bash read %q back as %q", w, out)
		}
	}
}
