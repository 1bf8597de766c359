// Command bare runs its arguments as a program, linking nothing but the Go
// runtime and execfloor (see package execfloor).
package main

import (
	"os"

	"github.com/brain-dev/brain/scripts/execfloor"
)

func main() { execfloor.Spawn(os.Args[1:]) }
