package chain

//go:generate go run treehash_gen.go

import (
	"bytes"
	"encoding/binary"
)

var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// sha256LeafNI is TreeLeafHash with the SHA extensions: the first block
// (0x00 and 63 bytes of the line) and the tail from stack buffers, the
// whole blocks between where they lie. Requires hasSHANI().
func sha256LeafNI(line []byte) [DigestSize]byte {
	h := sha256IV
	var first [64]byte
	k := copy(first[1:], line) + 1
	total := uint64(len(line) + 1)
	if k < 64 {
		return sha256Final(&h, first[:k], total)
	}
	sha256BlocksNI(&h, first[:])
	rest := line[63:]
	n := len(rest) &^ 63
	sha256BlocksNI(&h, rest[:n])
	return sha256Final(&h, rest[n:], total)
}

// sha256NodeNI is SHA-256 of the 65 bytes of an interior node. Requires
// hasSHANI().
func sha256NodeNI(b *[1 + 2*DigestSize]byte) [DigestSize]byte {
	h := sha256IV
	sha256BlocksNI(&h, b[:64])
	return sha256Final(&h, b[64:], uint64(len(b)))
}

// sha256Final hashes the last bytes of a message (fewer than 64) with the
// padding, total being the message's length, and returns the digest.
func sha256Final(h *[8]uint32, tail []byte, total uint64) [DigestSize]byte {
	var buf [128]byte
	k := copy(buf[:], tail)
	buf[k] = 0x80
	end := 64
	if k+1+8 > 64 {
		end = 128
	}
	binary.BigEndian.PutUint64(buf[end-8:end], total*8)
	sha256BlocksNI(h, buf[:end])
	return digestOf(h)
}

// sha256x2BlocksNI runs the SHA-256 compression function over n 64-byte
// blocks at pa and at pb, updating ha and hb, the rounds of the two
// interleaved (treehash_amd64.s). Requires hasSHANI().
//
//go:noescape
func sha256x2BlocksNI(ha, hb *[8]uint32, pa, pb *byte, n int)

// treeLeavesNI is TreeLeafHashes with the SHA extensions: two lines at a
// time, each copied with its prefix and padding into a buffer of whole
// blocks, their common blocks hashed together.
func treeLeavesNI(data []byte, out [][DigestSize]byte) [][DigestSize]byte {
	var bufA, bufB []byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		a := data[:i]
		data = data[i+1:]
		if len(data) == 0 {
			out = append(out, sha256LeafNI(a))
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

func digestOf(h *[8]uint32) [DigestSize]byte {
	var d [DigestSize]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}

// treePairsNI is TreeNodePairs with the SHA extensions: two nodes at a
// time, each 65 bytes and the padding in two blocks.
func treePairsNI(leaves [][DigestSize]byte, out [][DigestSize]byte) [][DigestSize]byte {
	var a, b [128]byte
	pad := func(buf *[128]byte, l, r *[DigestSize]byte) {
		buf[0] = 1
		copy(buf[1:], l[:])
		copy(buf[1+DigestSize:], r[:])
		buf[65] = 0x80
		binary.BigEndian.PutUint64(buf[120:], 65*8)
	}
	for len(leaves) >= 4 {
		pad(&a, &leaves[0], &leaves[1])
		pad(&b, &leaves[2], &leaves[3])
		ha, hb := sha256IV, sha256IV
		sha256x2BlocksNI(&ha, &hb, &a[0], &b[0], 2)
		out = append(out, digestOf(&ha), digestOf(&hb))
		leaves = leaves[4:]
	}
	if len(leaves) >= 2 {
		out = append(out, TreeNodeHash(&leaves[0], &leaves[1]))
	}
	return out
}
