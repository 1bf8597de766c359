package fastpath

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// SHA256Pair computes two record hashes, SHA-256(entry || prev), at once
// with the two-message kernel of the checkpoint tree (sha256x2BlocksNI:
// SHA extensions, amd64), which runs the rounds of the two messages
// interleaved: one message's rounds wait on the latency of the round
// instruction, and the other's fill the wait, so a pair costs little more
// than one record hashed through crypto/sha256. The messages are laid out
// as SHA256 lays them out (the entry's whole blocks where they lie, the
// rest with prev and the padding in a buffer). NewSHA256Pair checks it
// against sha256.Sum256 once per process and gives nil when the machine
// lacks the instructions or the check fails; the caller then hashes one
// record at a time. A SHA256Pair is for one goroutine.
type SHA256Pair struct {
	ta, tb [2 * sha256.BlockSize]byte
}

// NewSHA256Pair returns a SHA256Pair, or nil when it cannot run here.
func NewSHA256Pair() *SHA256Pair {
	if !pairHolds() {
		return nil
	}
	return &SHA256Pair{}
}

// sha256IV is SHA-256's initial state.
var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// digestOf returns the digest of the final state h.
func digestOf(h *[8]uint32) [32]byte {
	var d [32]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}

// pairHolds checks SHA256Pair against sha256.Sum256, once per process, on
// pairs of messages of equal and of different lengths, ending in one and in
// two padded blocks.
var pairHolds = sync.OnceValue(func() bool {
	if !hasSHANI() {
		return false
	}
	var s SHA256Pair
	var msg [400]byte
	for i := range msg {
		msg[i] = byte(i*7 + 1)
	}
	prev := (*[32]byte)(msg[300:332])
	lens := []int{0, 20, 23, 24, 64, 150, 279}
	for _, a := range lens {
		for _, b := range lens {
			da, db := s.Entries(msg[:a], prev, msg[1:1+b], prev)
			if da != sha256.Sum256(append(msg[:a:a], prev[:]...)) || db != sha256.Sum256(append(msg[1:1+b:1+b], prev[:]...)) {
				return false
			}
		}
	}
	return true
})

// Entries returns SHA-256(ea || pa) and SHA-256(eb || pb).
func (s *SHA256Pair) Entries(ea []byte, pa *[32]byte, eb []byte, pb *[32]byte) (da, db [32]byte) {
	wa, ta := pad(&s.ta, ea, pa)
	wb, tb := pad(&s.tb, eb, pb)
	a := lane{seg: [2][]byte{ea[:wa], s.ta[:ta]}}
	b := lane{seg: [2][]byte{eb[:wb], s.tb[:tb]}}
	sa, sb := sha256IV, sha256IV
	for {
		pa, na := a.next()
		pb, nb := b.next()
		if na == 0 || nb == 0 {
			break
		}
		n := min(na, nb)
		sha256x2BlocksNI(&sa, &sb, pa, pb, n)
		a.advance(n)
		b.advance(n)
	}
	// The longer message's last blocks, alone.
	a.rest(&sa)
	b.rest(&sb)
	return digestOf(&sa), digestOf(&sb)
}

// lane is the blocks of one message still to hash: two runs of whole
// blocks.
type lane struct {
	seg [2][]byte
	i   int
}

// next returns the start of the current run and its number of blocks, or
// 0 when the message is done.
func (l *lane) next() (*byte, int) {
	for l.i < len(l.seg) && len(l.seg[l.i]) == 0 {
		l.i++
	}
	if l.i == len(l.seg) {
		return nil, 0
	}
	return &l.seg[l.i][0], len(l.seg[l.i]) / sha256.BlockSize
}

// advance skips n blocks of the current run.
func (l *lane) advance(n int) { l.seg[l.i] = l.seg[l.i][n*sha256.BlockSize:] }

// rest hashes the blocks left into h, alone.
func (l *lane) rest(h *[8]uint32) {
	for ; l.i < len(l.seg); l.i++ {
		sha256BlocksNI(h, l.seg[l.i])
	}
}

// pad lays out the end of the message entry || prev in t: the bytes of
// entry after its whole blocks, prev, and SHA-256's padding (0x80, zeros,
// and the message's length in bits as the last 8 bytes of a block). It
// returns the length of entry's whole blocks and that of the padded end,
// one or two blocks.
func pad(t *[2 * sha256.BlockSize]byte, entry []byte, prev *[32]byte) (whole, end int) {
	whole = len(entry) &^ (sha256.BlockSize - 1)
	k := copy(t[:], entry[whole:])
	k += copy(t[k:], prev[:])
	t[k] = 0x80
	end = sha256.BlockSize
	if k+1+8 > end {
		end = 2 * sha256.BlockSize
	}
	clear(t[k+1 : end-8])
	binary.BigEndian.PutUint64(t[end-8:end], uint64(len(entry)+len(prev))*8)
	return whole, end
}
