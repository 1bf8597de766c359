// Package blake3fast makes package chain hash BLAKE3 with the SIMD kernels
// of github.com/zeebo/blake3 instead of its own plain Go code. Import it for
// its side effect:
//
//	import _ "github.com/brain-dev/brain/chain/blake3fast"
//
// Hashing a record is then about 3.5 times faster, which matters to a
// program verifying a long BLAKE3 chain. The price is paid at every start,
// whether or not a chain uses BLAKE3: the library detects the CPU in its
// package initialisation with CPUID instructions, which a hypervisor traps
// (about 0.4 ms). brain-audit, brain-trace-lint, brain-drill and
// brain-run-full import it; brain-run, whose exec wraps every command of a
// script and writes a handful of records, does not (docs/chain-format.md).
package blake3fast

import (
	"hash"

	"github.com/brain-dev/brain/chain/internal/blake3"
	zeebo "github.com/zeebo/blake3"
)

func init() {
	blake3.Register(func() hash.Hash { return zeebo.New() })
}
