package fastpath

//go:noescape
func classifyBlocksAVX2(p *byte, blocks int, quotes, dirty *uint64)

func classifyBlocks(data []byte, quotes, dirty []uint64) {
	if len(quotes) == 0 {
		return
	}
	if !hasSIMD() {
		classifyBlocksGeneric(data, quotes, dirty)
		return
	}
	_ = data[len(quotes)*64-1]
	_ = dirty[len(quotes)-1]
	classifyBlocksAVX2(&data[0], len(quotes), &quotes[0], &dirty[0])
}

//go:noescape
func hexEqualSSE(d *[32]byte, h *byte) bool

// HexEqual reports whether h is the lowercase hex of d.
func HexEqual(d *[32]byte, h []byte) bool {
	if len(h) != 64 {
		return false
	}
	if hasSIMD() {
		return hexEqualSSE(d, &h[0])
	}
	return hexEqualGeneric(d, h)
}
