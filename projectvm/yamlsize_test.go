package projectvm

import (
	"strings"
	"testing"
)

func TestCheckExpandedYAML(t *testing.T) {
	big := strings.Repeat("x", 8000)
	bomb := "a: &a \"" + big + "\"\nb: [" + strings.TrimSuffix(strings.Repeat("*a, ", 200), ", ") + "]\n"
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		laughs += n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = n
	}
	for _, tt := range []struct {
		name, doc string
		ok        bool
	}{
		{"plain", "a: [1, 2, 3]\n", true},
		{"few aliases", "a: &a {forwardAgent: true}\nb: *a\n", true},
		{"alias bomb", bomb, false},
		{"billion laughs", laughs, false},
	} {
		err := checkExpandedYAML("f.yaml", []byte(tt.doc), maxSettingsSize)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
