// Command linked runs its arguments as a program, linking everything
// brain-run links but using none of it (see package execfloor).
package main

import (
	"os"

	_ "github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/scripts/execfloor"
)

func main() { execfloor.Spawn(os.Args[1:]) }
