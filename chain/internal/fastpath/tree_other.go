//go:build !amd64

package fastpath

// hasSHANI is false where there is no two-message kernel: TreeLeaves and
// TreePairs hash one message at a time with crypto/sha256.
func hasSHANI() bool { return false }

func treeLeavesNI(data []byte, out [][32]byte) [][32]byte { return treeLeavesGeneric(data, out) }

func treePairsNI(in [][32]byte, out [][32]byte) [][32]byte { return treePairsGeneric(in, out) }
