// Package shellquote quotes a string as one word of a shell's syntax, read
// back verbatim: every byte a file name may hold, including quotes, $,
// backslashes and newlines. It is a leaf: the packages that ship shell code
// (hook, stdlib) may import it and stay free of vmhook's core.
package shellquote

import "strings"

// POSIX quotes s for sh, bash and zsh: nothing is special inside single
// quotes; a quote ends them, is escaped, and they start again.
func POSIX(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishEscapes are the only escapes inside fish's single quotes.
var fishEscapes = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// Fish quotes s for fish.
func Fish(s string) string {
	return "'" + fishEscapes.Replace(s) + "'"
}
