// Package lazyre compiles regular expressions on first use. Every vmhook
// run pays for the package-level expressions of every package it links,
// and most runs (entering a running VM above all) use few of them.
package lazyre

import (
	"regexp"
	"sync"
)

var (
	mu    sync.Mutex
	exprs []string
)

// New returns a function that compiles expr the first time it is called
// and returns that one *regexp.Regexp ever after. Like regexp.MustCompile,
// it panics on a bad expression; Exprs lets a test compile every one.
func New(expr string) func() *regexp.Regexp {
	mu.Lock()
	exprs = append(exprs, expr)
	mu.Unlock()
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Exprs returns the expressions given to New so far: in a test binary,
// those of every package it links.
func Exprs() []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), exprs...)
}
