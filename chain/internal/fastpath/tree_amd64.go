package fastpath

//go:generate go run tree_gen.go

import (
	"bytes"
	"encoding/binary"
)

// sha256x2BlocksNI runs the SHA-256 compression function over n 64-byte
// blocks at pa and at pb, updating ha and hb, the rounds of the two
// interleaved (tree_amd64.s, written by tree_gen.go). Requires hasSHANI().
//
//go:noescape
func sha256x2BlocksNI(ha, hb *[8]uint32, pa, pb *byte, n int)

// sha256BlocksNI runs the compression function over the whole blocks of p
// alone: the two-message kernel with p for both, which costs little more
// than one, its second state thrown away.
func sha256BlocksNI(h *[8]uint32, p []byte) {
	if len(p) < 64 {
		return
	}
	spare := *h
	sha256x2BlocksNI(h, &spare, &p[0], &p[0], len(p)/64)
}

// treeLeavesNI is TreeLeaves with the SHA extensions: two lines at a time,
// each copied with its prefix and padding into a buffer of whole blocks,
// their common blocks hashed together, the rest of the longer one alone.
func treeLeavesNI(data []byte, out [][32]byte) [][32]byte {
	var bufA, bufB []byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		a := data[:i]
		data = data[i+1:]
		if len(data) == 0 {
			out = append(out, TreeLeaf(a))
			break
		}
		j := bytes.IndexByte(data, '\n')
		b := data[:j]
		data = data[j+1:]
		bufA, bufB = padLeaf(bufA, a), padLeaf(bufB, b)
		ha, hb := sha256IV, sha256IV
		n := min(len(bufA), len(bufB)) / 64
		sha256x2BlocksNI(&ha, &hb, &bufA[0], &bufB[0], n)
		sha256BlocksNI(&ha, bufA[n*64:])
		sha256BlocksNI(&hb, bufB[n*64:])
		out = append(out, digestOf(&ha), digestOf(&hb))
	}
	return out
}

// padLeaf returns buf holding 0x00, line and SHA-256's padding: whole
// blocks.
func padLeaf(buf, line []byte) []byte {
	total := uint64(len(line) + 1)
	n := (int(total) + 1 + 8 + 63) &^ 63
	if cap(buf) < n {
		buf = make([]byte, n, n+n/4)
	}
	buf = buf[:n]
	buf[0] = 0
	k := 1 + copy(buf[1:], line)
	buf[k] = 0x80
	clear(buf[k+1 : n-8])
	binary.BigEndian.PutUint64(buf[n-8:], total*8)
	return buf
}

// treePairsNI is TreePairs with the SHA extensions: two nodes at a time,
// each 65 bytes and the padding in two blocks.
func treePairsNI(in [][32]byte, out [][32]byte) [][32]byte {
	var a, b [128]byte
	pad := func(buf *[128]byte, l, r *[32]byte) {
		buf[0] = 1
		copy(buf[1:], l[:])
		copy(buf[33:], r[:])
		buf[65] = 0x80
		binary.BigEndian.PutUint64(buf[120:], 65*8)
	}
	for len(in) >= 4 {
		pad(&a, &in[0], &in[1])
		pad(&b, &in[2], &in[3])
		ha, hb := sha256IV, sha256IV
		sha256x2BlocksNI(&ha, &hb, &a[0], &b[0], 2)
		out = append(out, digestOf(&ha), digestOf(&hb))
		in = in[4:]
	}
	if len(in) >= 2 {
		out = append(out, TreeNode(&in[0], &in[1]))
	}
	return out
}
