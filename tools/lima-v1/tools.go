//go:build tools

// Package tools pins the Lima v1 release that vmhook is tested against,
// beside v2 in ../lima-v2. Lima is built from source through the Go module
// proxy (see scripts/install-lima.sh), so this module exists only to record
// the exact version and its go.sum.
package tools

import (
	_ "github.com/lima-vm/lima/cmd/lima-guestagent"
	_ "github.com/lima-vm/lima/cmd/limactl"
)
