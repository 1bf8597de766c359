package fastpath

import (
	"crypto/sha256"
	"encoding"
	"hash"
	"sync"
)

// SHA256 computes record hashes, SHA-256(entry || prev), through
// crypto/sha256 (which uses the CPU's SHA extensions where it has them) with
// less work than hash.Hash's Reset, Write, Write and Sum per record:
//
//   - the entry's whole 64-byte blocks are written where they lie: with no
//     partial block buffered, Write hashes them in place and copies
//     nothing;
//   - the rest — the entry's last partial block, prev and the SHA-256
//     padding with the message's length — is laid out in a buffer of one or
//     two whole blocks that the hash also takes without copying;
//   - the message being complete, padding included, the digest is the
//     hash's state, which AppendBinary reads out: Sum would copy the state
//     and hash one more padding block.
//
// So a record of n bytes costs its ceil((n+9)/64) block computations in two
// calls, one copy of under 128 bytes and one read of the state. The layout
// of the state AppendBinary writes ("sha\x03", then the eight state words
// big-endian) is the standard library's; NewSHA256 checks it against
// sha256.Sum256 once per process and gives nil when it does not hold, and
// the caller then uses the hash.Hash as it is. A SHA256 is for one
// goroutine; it keeps its state and buffers from record to record.
type SHA256 struct {
	h     hash.Hash
	state encoding.BinaryAppender
	tail  [2 * sha256.BlockSize]byte
	buf   [stateSize]byte
}

// stateSize is the size of the state AppendBinary writes: a 4-byte magic,
// eight 4-byte words, a block and a 64-bit length.
const stateSize = 4 + 8*4 + sha256.BlockSize + 8

// NewSHA256 returns a SHA256, or nil when the standard library's hash state
// is not laid out as SHA256 reads it.
func NewSHA256() *SHA256 {
	if !stateLayoutHolds() {
		return nil
	}
	return newSHA256()
}

func newSHA256() *SHA256 {
	h := sha256.New()
	a, ok := h.(encoding.BinaryAppender)
	if !ok {
		return nil
	}
	return &SHA256{h: h, state: a}
}

// stateLayoutHolds checks SHA256 against sha256.Sum256 on messages that end
// in one and in two padded blocks, once per process.
var stateLayoutHolds = sync.OnceValue(func() bool {
	s := newSHA256()
	if s == nil {
		return false
	}
	var msg [200]byte
	for i := range msg {
		msg[i] = byte(i*7 + 1)
	}
	prev := (*[32]byte)(msg[100:132])
	for _, n := range []int{0, 20, 23, 24, 64, 150} {
		if s.Entry(msg[:n], prev) != sha256.Sum256(append(msg[:n:n], prev[:]...)) {
			return false
		}
	}
	return true
})

// Entry returns SHA-256(entry || prev).
func (s *SHA256) Entry(entry []byte, prev *[32]byte) [32]byte {
	s.h.Reset()
	whole, end := pad(&s.tail, entry, prev)
	if whole > 0 {
		s.h.Write(entry[:whole])
	}
	s.h.Write(s.tail[:end])
	st, _ := s.state.AppendBinary(s.buf[:0])
	return [32]byte(st[4:36])
}
