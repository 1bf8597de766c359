//go:build !amd64

package fastpath

// hasSIMD is false where there is no vector kernel: the parser does not run
// (Available) and the chain's general parser takes every line.
func hasSIMD() bool { return false }

func classifyBlocks(data []byte, quotes, dirty []uint64) {
	classifyBlocksGeneric(data, quotes, dirty)
}

// HexEqual reports whether h is the lowercase hex of d.
func HexEqual(d *[32]byte, h []byte) bool { return len(h) == 64 && hexEqualGeneric(d, h) }
