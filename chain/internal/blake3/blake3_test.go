package blake3

import (
	"bytes"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"testing"

	zeebo "github.com/zeebo/blake3"
)

var _ hash.Hash = (*Hasher)(nil)

// TestVectors: the digests the BLAKE3 authors publish for these inputs.
func TestVectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
	} {
		h := New()
		h.Write([]byte(tc.in))
		if got := hex.EncodeToString(h.Sum(nil)); got != tc.want {
			t.Errorf("BLAKE3(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestAgainstReference holds the digest to an independent implementation
// (the SIMD library this package replaces) on every length up to past two
// chunks, on the edges of blocks and chunks further on, and on inputs of
// many chunks, written whole, byte by byte and in random pieces; Sum leaves
// the state as it was, and Reset starts again.
func TestAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{}
	for n := 0; n <= 2*chunkLen+2*blockLen; n++ {
		lengths = append(lengths, n)
	}
	for _, c := range []int{3, 4, 7, 8, 9, 16, 31, 32, 33, 64, 100} {
		for _, d := range []int{-blockLen - 1, -blockLen, -1, 0, 1, blockLen, blockLen + 1} {
			lengths = append(lengths, c*chunkLen+d)
		}
	}
	input := make([]byte, 100*chunkLen+blockLen+1)
	for i := range input {
		input[i] = byte(r.Uint32())
	}
	h := New()
	for _, n := range lengths {
		in := input[:n]
		want := zeebo.Sum256(in)
		h.Reset()
		h.Write(in)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("length %d, written whole: %x, want %x", n, got, want)
		}
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("length %d: a second Sum gives %x, want %x", n, got, want)
		}
		h.Reset()
		for rest := in; len(rest) > 0; {
			k := min(len(rest), r.IntN(2*chunkLen)+1)
			if r.IntN(4) == 0 {
				k = 1
			}
			h.Write(rest[:k])
			rest = rest[k:]
		}
		if got := h.Sum([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want[:]...)) {
			t.Fatalf("length %d, written in pieces: %x, want prefix and %x", n, got, want)
		}
	}
}

// BenchmarkRecord hashes a chain record's size of input: H(entry || prev).
func BenchmarkRecord(b *testing.B) {
	entry := bytes.Repeat([]byte{'x'}, 400)
	var prev [32]byte
	for _, bc := range []struct {
		name string
		h    hash.Hash
	}{{"plain", New()}, {"simd-library", zeebo.New()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(entry) + len(prev)))
			sum := make([]byte, 0, Size)
			for b.Loop() {
				bc.h.Reset()
				bc.h.Write(entry)
				bc.h.Write(prev[:])
				sum = bc.h.Sum(sum[:0])
			}
		})
	}
}

// FuzzAgainstReference: any input, written in two pieces split anywhere,
// has the digest of the independent implementation.
func FuzzAgainstReference(f *testing.F) {
	f.Add([]byte("abc"), uint16(1))
	f.Add(bytes.Repeat([]byte{0xff}, 3*chunkLen+1), uint16(chunkLen))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		k := int(split) % (len(in) + 1)
		h := New()
		h.Write(in[:k])
		h.Write(in[k:])
		want := zeebo.Sum256(in)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("%d bytes split at %d: %x, want %x", len(in), k, got, want)
		}
	})
}
