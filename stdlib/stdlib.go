// Package stdlib holds vmhook's direnv extension, which defines `use vm`. It
// is a real shell file, embedded in the binary; Render fills in the path of
// the vmhook binary that `use vm` runs.
package stdlib

import (
	_ "embed"
	"strings"

	"github.com/vmhook/vmhook/internal/shellquote"
)

//go:embed stdlib.sh
var script string

// placeholder stands for the quoted vmhook path in stdlib.sh. It is a
// complete single-quoted word, so the file stays valid bash as it is.
const placeholder = "'@VMHOOK_BIN@'"

// Render returns the direnv extension, which runs the vmhook binary at
// selfPath unless $VMHOOK_BIN names another, and falls back to vmhook on PATH
// when selfPath is gone.
func Render(selfPath string) string {
	// direnv evaluates extensions with bash.
	return strings.ReplaceAll(script, placeholder, shellquote.POSIX(selfPath))
}
