// Command vmhook gives each project its own Lima VM and enters it when you cd
// into the project.
package main

import "os"

func main() {
	os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}
