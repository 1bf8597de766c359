package chain

import (
	"bytes"
	"crypto/sha256"
)

// TreeLeafHash returns SHA-256(0x00 || line), the RFC 6962 leaf hash of a
// record line (without its newline), and TreeNodeHash SHA-256(0x01 || left
// || right), an interior node's: the hashes of the Merkle tree package
// chain/checkpoint builds over a chain in the pass that verifies it. They
// use the SHA extensions as the verifier does, when the CPU has them; the
// tests hold them to crypto/sha256.
func TreeLeafHash(line []byte) [DigestSize]byte {
	if hasSHANI() {
		return sha256LeafNI(line)
	}
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(line)
	var d [DigestSize]byte
	h.Sum(d[:0])
	return d
}

// TreeLeafHashes appends to out the TreeLeafHash of every line of data,
// whole lines each ending in "\n", and returns it: on a CPU with the SHA
// extensions two lines are hashed at once, their rounds interleaved, which
// takes little more time than one.
func TreeLeafHashes(data []byte, out [][DigestSize]byte) [][DigestSize]byte {
	if hasSHANI() {
		return treeLeavesNI(data, out)
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		out = append(out, TreeLeafHash(data[:i]))
		data = data[i+1:]
	}
	return out
}

// TreeNodePairs appends to out the TreeNodeHash of each pair of leaves,
// leaves[0] and leaves[1], leaves[2] and leaves[3], ... (an odd last one is
// left out), and returns it: the nodes just above the leaves, two at a
// time on a CPU with the SHA extensions.
func TreeNodePairs(leaves [][DigestSize]byte, out [][DigestSize]byte) [][DigestSize]byte {
	if hasSHANI() {
		return treePairsNI(leaves, out)
	}
	for ; len(leaves) >= 2; leaves = leaves[2:] {
		out = append(out, TreeNodeHash(&leaves[0], &leaves[1]))
	}
	return out
}

// TreeNodeHash returns SHA-256(0x01 || left || right) (TreeLeafHash).
func TreeNodeHash(left, right *[DigestSize]byte) [DigestSize]byte {
	var b [1 + 2*DigestSize]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[1+DigestSize:], right[:])
	if hasSHANI() {
		return sha256NodeNI(&b)
	}
	return sha256.Sum256(b[:])
}
