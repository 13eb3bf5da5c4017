// Package shellquote quotes a string as one word of a shell's syntax, read
// back verbatim: every byte a file name may hold, including quotes, $,
// backslashes and newlines. It is a leaf: the packages that ship shell code
// (hook, stdlib) may import it and stay free of vmhook's core.
package shellquote

import (
	"fmt"
	"strings"
)

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

// BashLine quotes s for bash as POSIX does, but keeps the word on one line:
// a string with control characters (a newline in a path) is written in
// bash's $'…' form, with each of them escaped.
func BashLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return POSIX(s)
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
