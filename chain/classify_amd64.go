package chain

import (
	"math/bits"

	"golang.org/x/sys/cpu"
)

// hasSIMD reports whether the fast path's AVX2 kernel can run here; without
// it the verifier uses the general parser for every line.
var hasSIMD = cpu.X86.HasAVX2

//go:noescape
func classifyBlocksAVX2(p *byte, blocks int, quotes, dirty *uint64)

func classifyBlocks(data []byte, quotes, dirty []uint64) {
	if len(quotes) == 0 {
		return
	}
	if !hasSIMD {
		classifyBlocksGeneric(data, quotes, dirty)
		return
	}
	_ = data[len(quotes)*64-1]
	_ = dirty[len(quotes)-1]
	classifyBlocksAVX2(&data[0], len(quotes), &quotes[0], &dirty[0])
}

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

//go:noescape
func hexEqualSSE(d *Digest, h *byte) bool

// hexEqual reports whether h is the lowercase hex of d.
func hexEqual(d *Digest, h []byte) bool {
	if len(h) != 2*DigestSize {
		return false
	}
	if hasSIMD {
		return hexEqualSSE(d, &h[0])
	}
	return hexEqualGeneric(d, h)
}
