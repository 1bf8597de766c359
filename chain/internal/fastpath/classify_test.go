package fastpath

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClassifyKernels checks the vector kernel against the portable one on
// random bytes of every value, at every length and alignment up to a few
// blocks.
func TestClassifyKernels(t *testing.T) {
	if !hasSIMD() {
		t.Skip("no vector kernel on this machine")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64*9)
	for round := range 2000 {
		for i := range buf {
			switch rng.IntN(4) {
			case 0:
				buf[i] = byte(rng.IntN(256))
			case 1:
				buf[i] = '"'
			case 2:
				buf[i] = `\ \n\x1f\x20\x7f\x80\xff`[rng.IntN(8)]
			default:
				buf[i] = 'a' + byte(rng.IntN(26))
			}
		}
		off, n := rng.IntN(64), rng.IntN(len(buf)-64)
		data := buf[off : off+n]
		words := (n + 63) / 64
		q1, d1 := make([]uint64, words), make([]uint64, words)
		q2, d2 := make([]uint64, words), make([]uint64, words)
		classify(data, q1, d1)
		full := n / 64 * 64
		classifyBlocksGeneric(data[:full], q2[:n/64], d2[:n/64])
		if rest := data[full:]; len(rest) > 0 {
			pad := bytes.Repeat([]byte("a"), 64)
			copy(pad, rest)
			classifyBlocksGeneric(pad, q2[n/64:], d2[n/64:])
		}
		if diff := cmp.Diff(q2, q1); diff != "" {
			t.Fatalf("round %d: quote bits (-generic +simd):\n%s", round, diff)
		}
		if diff := cmp.Diff(d2, d1); diff != "" {
			t.Fatalf("round %d: dirty bits (-generic +simd):\n%s", round, diff)
		}
	}
}

// TestNextQuoteNextDirty checks the bit walks against byte loops.
func TestNextQuoteNextDirty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 300)
	for i := range data {
		data[i] = `ab"\x01`[rng.IntN(4)]
		if rng.IntN(3) > 0 {
			data[i] = 'a'
		}
	}
	words := (len(data) + 63) / 64
	q, d := make([]uint64, words), make([]uint64, words)
	classify(data, q, d)
	var p Parser
	for s := 0; s <= len(data); s++ {
		p.Reset(data, 0)
		wantD := len(data)
		if k := bytes.IndexAny(data[s:], "\\\x01"); k >= 0 {
			wantD = s + k
		}
		if got := p.NextDirty(s); got != wantD {
			t.Fatalf("NextDirty(%d) = %d, want %d", s, got, wantD)
		}
		for e := s; e <= len(data); e++ {
			wantQ := -1
			if k := bytes.IndexByte(data[s:e], '"'); k >= 0 {
				wantQ = s + k
			}
			if got := nextQuote(q, s, e); got != wantQ {
				t.Fatalf("nextQuote(%d, %d) = %d, want %d", s, e, got, wantQ)
			}
		}
	}
}

// TestCleanTSWords derives cleanTS's constants from the shape, and checks
// cleanTS against a byte-by-byte reading of the shape on every one-byte
// change of a good timestamp.
func TestCleanTSWords(t *testing.T) {
	const shape = "dddd-dd-ddTdd:dd:dd.dddddddddZ"
	want := [4][3]uint64{}
	for k, off := range [4]int{0, 8, 16, 22} {
		for i := 0; i < 8; i++ {
			if c := shape[off+i]; c == 'd' {
				want[k][0] |= 0x80 << (8 * i)
			} else {
				want[k][1] |= uint64(c) << (8 * i)
				want[k][2] |= 0xff << (8 * i)
			}
		}
	}
	got := [4][3]uint64{
		{0x0080800080808080, 0x2d00002d00000000, 0xff0000ff00000000},
		{0x8080008080008080, 0x00003a0000540000, 0x0000ff0000ff0000},
		{0x8080808000808000, 0x000000002e00003a, 0x00000000ff0000ff},
		{0x0080808080808080, 0x5a00000000000000, 0xff00000000000000},
	}
	if got != want {
		t.Fatalf("cleanTS constants %#x, want %#x", got, want)
	}
	shaped := func(b []byte) bool {
		for i := range shape {
			if shape[i] == 'd' && (b[i] < '0' || b[i] > '9') || shape[i] != 'd' && b[i] != shape[i] {
				return false
			}
		}
		return true
	}
	ts := []byte("2025-11-24T16:00:00.123456789Z")
	for i := range ts {
		for c := 0x20; c < 0x80; c++ {
			b := bytes.Clone(ts)
			b[i] = byte(c)
			if cleanTS(b) != shaped(b) {
				t.Fatalf("cleanTS(%q) = %v, the shape says %v", b, cleanTS(b), shaped(b))
			}
		}
	}
}

// TestHexEqual checks HexEqual, vector and portable, against hex encoding,
// on matches and on one-byte changes at every position.
func TestHexEqual(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		var d [32]byte
		for i := range d {
			d[i] = byte(rng.IntN(256))
		}
		h := []byte(hex.EncodeToString(d[:]))
		if !HexEqual(&d, h) || !hexEqualGeneric(&d, h) {
			t.Fatalf("HexEqual(%x, %s) is false", d, h)
		}
		for i := range h {
			bad := bytes.Clone(h)
			bad[i] = "0123456789abcdefABCDEF/:`g"[rng.IntN(26)]
			if bad[i] == h[i] {
				continue
			}
			if HexEqual(&d, bad) || hexEqualGeneric(&d, bad) {
				t.Fatalf("HexEqual(%x, %s) is true", d, bad)
			}
		}
	}
}

// TestRepeatsManyKeys checks the sorted repeated-key check of a wide object
// against the pairwise one.
func TestRepeatsManyKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	seen := map[bool]int{}
	for range 500 {
		n := 17 + rng.IntN(40)
		var b []byte
		var keys []keyRef
		for range n {
			s := len(b)
			// Keys alike in their first 8 bytes, and short ones.
			k := []byte("prefix__")[:rng.IntN(9)]
			k = append(k, "xyz"[:rng.IntN(4)]...)
			k = append(k, byte('a'+rng.IntN(26)), byte('a'+rng.IntN(26)))
			b = append(b, k...)
			keys = append(keys, keyRef{s: int32(s), e: int32(len(b))})
		}
		b = append(b, "padding!"...) // a fingerprint reads 8 bytes
		want := false
		for i := range keys {
			keys[i] = newKeyRef(b, int(keys[i].s), int(keys[i].e))
			for j := range i {
				if string(b[keys[i].s:keys[i].e]) == string(b[keys[j].s:keys[j].e]) {
					want = true
				}
			}
		}
		if got := repeats(b, keys); got != want {
			t.Fatalf("repeats of %d keys = %v, want %v", n, got, want)
		}
		seen[want]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("objects with and without a repeated key: %v, want both", seen)
	}
}
