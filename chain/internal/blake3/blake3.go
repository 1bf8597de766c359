// Package blake3 is the BLAKE3 hash (unkeyed, 32-byte output) as the chain
// format uses it (docs/chain-format.md), in plain Go: one compression at a
// time, no SIMD and so no CPU detection at start-up. The SIMD library it
// replaces detected the CPU's features in its package initialisation, with
// CPUID instructions that trap to the hypervisor in a virtual machine: that
// cost every program linking package chain about 0.4 ms at start whether or
// not it ever hashed with BLAKE3, and brain-run exec, which wraps every
// command of a script, pays it per command (BENCHMARKS.md). Chain records
// are short, a chunk (1 KiB) or less, where SIMD across chunks has nothing
// to work on.
//
// A program that verifies long BLAKE3 chains and does not mind the start-up
// cost imports chain/blake3fast, which registers the SIMD library here; the
// chain then hashes through NewHash, which prefers it.
//
// The tests hold it to the reference vectors and to an independent
// implementation on every length up to several chunks, written in any
// pieces.
package blake3

import (
	"encoding/binary"
	"hash"
	"math/bits"
)

// fast is the implementation Register installed, if any.
var fast func() hash.Hash

// Register makes NewHash return f's hashes. It is meant for a package's
// init (chain/blake3fast), before any hashing; f must compute BLAKE3.
func Register(f func() hash.Hash) { fast = f }

// NewHash returns a BLAKE3 hash.Hash: the registered implementation's, else
// this package's plain one.
func NewHash() hash.Hash {
	if fast != nil {
		return fast()
	}
	return New()
}

// Size is the size of a digest in bytes.
const Size = 32

const (
	blockLen = 64
	chunkLen = 1024

	chunkStart = 1 << 0
	chunkEnd   = 1 << 1
	parent     = 1 << 2
	root       = 1 << 3
)

var iv = [8]uint32{0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19}

// g is the quarter-round, applied to the columns and then the diagonals
// of the state.
func g(a, b, c, d, mx, my uint32) (uint32, uint32, uint32, uint32) {
	a += b + mx
	d = bits.RotateLeft32(d^a, -16)
	c += d
	b = bits.RotateLeft32(b^c, -12)
	a += b + my
	d = bits.RotateLeft32(d^a, -8)
	c += d
	b = bits.RotateLeft32(b^c, -7)
	return a, b, c, d
}

// compress is the compression function: the 16 words of output, of which
// the first 8 are a chaining value.
func compress(cv *[8]uint32, m *[16]uint32, counter uint64, n uint32, flags uint32) [16]uint32 {
	s0, s1, s2, s3, s4, s5, s6, s7 := cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7]
	s8, s9, s10, s11 := iv[0], iv[1], iv[2], iv[3]
	s12, s13, s14, s15 := uint32(counter), uint32(counter>>32), n, flags
	// Seven rounds; each takes the message words in the order of the one
	// before, permuted by 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8.
	// round 1
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[0], m[1])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[2], m[3])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[4], m[5])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[6], m[7])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[8], m[9])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[10], m[11])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[12], m[13])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[14], m[15])
	// round 2
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[2], m[6])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[3], m[10])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[7], m[0])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[4], m[13])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[1], m[11])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[12], m[5])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[9], m[14])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[15], m[8])
	// round 3
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[3], m[4])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[10], m[12])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[13], m[2])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[7], m[14])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[6], m[5])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[9], m[0])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[11], m[15])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[8], m[1])
	// round 4
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[10], m[7])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[12], m[9])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[14], m[3])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[13], m[15])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[4], m[0])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[11], m[2])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[5], m[8])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[1], m[6])
	// round 5
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[12], m[13])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[9], m[11])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[15], m[10])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[14], m[8])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[7], m[2])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[5], m[3])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[0], m[1])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[6], m[4])
	// round 6
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[9], m[14])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[11], m[5])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[8], m[12])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[15], m[1])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[13], m[3])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[0], m[10])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[2], m[6])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[4], m[7])
	// round 7
	s0, s4, s8, s12 = g(s0, s4, s8, s12, m[11], m[15])
	s1, s5, s9, s13 = g(s1, s5, s9, s13, m[5], m[0])
	s2, s6, s10, s14 = g(s2, s6, s10, s14, m[1], m[9])
	s3, s7, s11, s15 = g(s3, s7, s11, s15, m[8], m[6])
	s0, s5, s10, s15 = g(s0, s5, s10, s15, m[14], m[10])
	s1, s6, s11, s12 = g(s1, s6, s11, s12, m[2], m[12])
	s2, s7, s8, s13 = g(s2, s7, s8, s13, m[3], m[4])
	s3, s4, s9, s14 = g(s3, s4, s9, s14, m[7], m[13])
	return [16]uint32{
		s0 ^ s8, s1 ^ s9, s2 ^ s10, s3 ^ s11, s4 ^ s12, s5 ^ s13, s6 ^ s14, s7 ^ s15,
		s8 ^ cv[0], s9 ^ cv[1], s10 ^ cv[2], s11 ^ cv[3], s12 ^ cv[4], s13 ^ cv[5], s14 ^ cv[6], s15 ^ cv[7],
	}
}

func words(b *[blockLen]byte) (m [16]uint32) {
	for i := range m {
		m[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return m
}

func first8(s [16]uint32) (cv [8]uint32) {
	copy(cv[:], s[:8])
	return cv
}

// node is what the last compression of a chunk or a parent takes: the
// output is its chaining value, or with root the digest.
type node struct {
	cv      [8]uint32
	m       [16]uint32
	counter uint64
	n       uint32
	flags   uint32
}

func (n *node) chainingValue() [8]uint32 {
	return first8(compress(&n.cv, &n.m, n.counter, n.n, n.flags))
}

func parentNode(left, right [8]uint32) node {
	n := node{cv: iv, flags: parent, n: blockLen}
	copy(n.m[:8], left[:])
	copy(n.m[8:], right[:])
	return n
}

// Hasher is a BLAKE3 hash.Hash. Its zero value is not ready: use New.
type Hasher struct {
	// The chunk being filled: its chaining value so far, its index, the
	// blocks compressed and the block being filled (never compressed
	// before more input comes, as the last block ends the chunk).
	cv      [8]uint32
	chunk   uint64
	blocks  int
	buf     [blockLen]byte
	bufLen  int
	stack   [54][8]uint32 // chaining values of complete subtrees, enough for 2^64 bytes
	stackSz int
}

// New returns a new Hasher.
func New() *Hasher {
	h := new(Hasher)
	h.Reset()
	return h
}

// Reset returns h to its initial state.
func (h *Hasher) Reset() {
	h.cv, h.chunk, h.blocks, h.bufLen, h.stackSz = iv, 0, 0, 0, 0
}

// Size returns Size.
func (h *Hasher) Size() int { return Size }

// BlockSize returns the block size, 64.
func (h *Hasher) BlockSize() int { return blockLen }

func (h *Hasher) startFlag() uint32 {
	if h.blocks == 0 {
		return chunkStart
	}
	return 0
}

// Write adds p to the input; it never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if h.blocks*blockLen+h.bufLen == chunkLen {
			// The chunk is complete and more input follows: close it.
			last := h.chunkNode()
			h.push(last.chainingValue(), h.chunk+1)
			h.cv, h.chunk, h.blocks, h.bufLen = iv, h.chunk+1, 0, 0
		}
		if h.bufLen == blockLen {
			m := words(&h.buf)
			h.cv = first8(compress(&h.cv, &m, h.chunk, blockLen, h.startFlag()))
			h.blocks++
			h.bufLen = 0
		}
		k := copy(h.buf[h.bufLen:], p)
		h.bufLen += k
		p = p[k:]
	}
	return n, nil
}

// chunkNode is the last compression of the current chunk.
func (h *Hasher) chunkNode() node {
	var b [blockLen]byte
	copy(b[:], h.buf[:h.bufLen])
	return node{cv: h.cv, m: words(&b), counter: h.chunk, n: uint32(h.bufLen), flags: h.startFlag() | chunkEnd}
}

// push adds the chaining value of chunk total-1, merging every pair of
// complete subtrees it completes.
func (h *Hasher) push(cv [8]uint32, total uint64) {
	for total&1 == 0 {
		h.stackSz--
		p := parentNode(h.stack[h.stackSz], cv)
		cv = p.chainingValue()
		total >>= 1
	}
	h.stack[h.stackSz] = cv
	h.stackSz++
}

// Sum appends the digest of the input so far to b; h is unchanged.
func (h *Hasher) Sum(b []byte) []byte {
	n := h.chunkNode()
	for i := h.stackSz - 1; i >= 0; i-- {
		n = parentNode(h.stack[i], n.chainingValue())
	}
	out := compress(&n.cv, &n.m, 0, n.n, n.flags|root)
	for _, w := range out[:8] {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}
