// Package version holds vmhook's version: one variable that every build
// stamps (go build -ldflags "-X github.com/vmhook/vmhook/internal/version.Version=…")
// and that the CLI, the generated Lima configs and the packages read.
// It imports nothing.
package version

// Version is vmhook's version; release builds replace it through -ldflags.
var Version = "0.1.0"
