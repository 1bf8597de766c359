//go:build !amd64

package chain

import "math/bits"

// hasSIMD is false where there is no vector kernel: the verifier then uses
// the general parser for every line.
const hasSIMD = false

func classifyBlocks(data []byte, quotes, dirty []uint64) {
	classifyBlocksGeneric(data, quotes, dirty)
}

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

// hexEqual reports whether h is the lowercase hex of d.
func hexEqual(d *Digest, h []byte) bool { return len(h) == 2*DigestSize && hexEqualGeneric(d, h) }
