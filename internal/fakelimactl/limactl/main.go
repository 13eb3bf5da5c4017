// Command limactl is the fake limactl used by vmhook's hermetic tests.
package main

import (
	"os"

	"github.com/vmhook/vmhook/internal/fakelimactl"
)

func main() { os.Exit(fakelimactl.Main()) }
