//go:build !amd64

package fastpath

// hasSHANI is false where there is no two-message kernel: TreeLeaves and
// TreePairs hash one message at a time with crypto/sha256.
func hasSHANI() bool { return false }

func treeLeavesNI(data []byte, out [][32]byte) [][32]byte { return treeLeavesGeneric(data, out) }

func treePairsNI(in [][32]byte, out [][32]byte) [][32]byte { return treePairsGeneric(in, out) }

// sha256x2BlocksNI and sha256BlocksNI are never called here: hasSHANI is
// false.
func sha256x2BlocksNI(ha, hb *[8]uint32, pa, pb *byte, n int) {
	panic("fastpath: no two-message kernel on this machine")
}

func sha256BlocksNI(h *[8]uint32, p []byte) {
	panic("fastpath: no two-message kernel on this machine")
}
