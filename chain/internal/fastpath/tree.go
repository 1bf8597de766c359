package fastpath

import (
	"bytes"
	"crypto/sha256"
)

// The hashes of the RFC 6962 Merkle tree that package chain/checkpoint
// builds over a chain's records in the pass that verifies it: a leaf is
// SHA-256(0x00 || line), line being a record's line without its newline,
// an interior node SHA-256(0x01 || left || right).
//
// TreeLeaf and TreeNode hash one message with crypto/sha256; they are the
// reference. TreeLeaves and TreePairs hash many, two at a time on a CPU
// with the SHA extensions (tree_amd64.go), and are held to the reference
// by TestTreeKernels, TestTreeLeaves, TestTreePairs and FuzzTreeLeaves.

// TreeLeaf returns SHA-256(0x00 || line).
func TreeLeaf(line []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(line)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// TreeNode returns SHA-256(0x01 || left || right).
func TreeNode(left, right *[32]byte) [32]byte {
	var b [1 + 2*32]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// TreeLeaves appends to out the TreeLeaf of every line of data, whole lines
// each ending in "\n", and returns it: with the SHA extensions two lines
// are hashed at once, their rounds interleaved, in little more time than
// one.
func TreeLeaves(data []byte, out [][32]byte) [][32]byte {
	if hasSHANI() {
		return treeLeavesNI(data, out)
	}
	return treeLeavesGeneric(data, out)
}

// TreePairs appends to out the TreeNode of each pair of hashes, in[0] and
// in[1], in[2] and in[3], ... (an odd last one is left out), and returns
// it: the level above, two nodes at a time with the SHA extensions.
func TreePairs(in [][32]byte, out [][32]byte) [][32]byte {
	if hasSHANI() {
		return treePairsNI(in, out)
	}
	return treePairsGeneric(in, out)
}

// treeLeavesGeneric is TreeLeaves one line at a time: its reference.
func treeLeavesGeneric(data []byte, out [][32]byte) [][32]byte {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		out = append(out, TreeLeaf(data[:i]))
		data = data[i+1:]
	}
	return out
}

// treePairsGeneric is TreePairs one node at a time: its reference.
func treePairsGeneric(in [][32]byte, out [][32]byte) [][32]byte {
	for ; len(in) >= 2; in = in[2:] {
		out = append(out, TreeNode(&in[0], &in[1]))
	}
	return out
}
