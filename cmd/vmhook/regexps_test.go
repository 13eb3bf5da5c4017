package main

import (
	"regexp"
	"testing"

	"github.com/vmhook/vmhook/internal/lazyre"
)

// TestRegexps compiles every expression vmhook's packages compile on first
// use, so that a bad one fails here and not in the one run that needs it.
func TestRegexps(t *testing.T) {
	exprs := lazyre.Exprs()
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions registered; are vmhook's packages linked?", len(exprs))
	}
	for _, e := range exprs {
		if _, err := regexp.Compile(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
}
