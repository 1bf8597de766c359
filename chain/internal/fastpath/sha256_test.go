package fastpath

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// reference is SHA-256(entry || prev) through the standard API, as the
// chain's reference digester computes it.
func reference(entry []byte, prev *[32]byte) [32]byte {
	return sha256.Sum256(append(bytes.Clone(entry), prev[:]...))
}

// TestSHA256Entry holds SHA256 to crypto/sha256 at every entry length up
// to a few blocks (so that the padding falls at every place of a block and
// of two), at random larger ones, and at random offsets of its buffer.
func TestSHA256Entry(t *testing.T) {
	s := NewSHA256()
	if s == nil {
		t.Fatal("NewSHA256: the standard library's hash state is not laid out as expected")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 8192)
	for i := range buf {
		buf[i] = byte(rng.IntN(256))
	}
	check := func(n int) {
		entry := buf[rng.IntN(64):][:n]
		prev := (*[32]byte)(buf[len(buf)-32-rng.IntN(64):])
		if got, want := s.Entry(entry, prev), reference(entry, prev); got != want {
			t.Fatalf("Entry of %d bytes: %x, want %x", n, got, want)
		}
	}
	for n := 0; n <= 300; n++ {
		check(n)
	}
	for range 2000 {
		check(rng.IntN(len(buf) - 200))
	}
}

// FuzzSHA256Entry holds SHA256 to crypto/sha256.
func FuzzSHA256Entry(f *testing.F) {
	f.Add([]byte("entry"), []byte("prev"))
	f.Add(bytes.Repeat([]byte("x"), 23), []byte{})
	f.Add(bytes.Repeat([]byte("x"), 87), []byte{1, 2})
	s := NewSHA256()
	if s == nil {
		f.Fatal("NewSHA256: the standard library's hash state is not laid out as expected")
	}
	f.Fuzz(func(t *testing.T, entry, p []byte) {
		var prev [32]byte
		copy(prev[:], p)
		if got, want := s.Entry(entry, &prev), reference(entry, &prev); got != want {
			t.Fatalf("Entry(%x, %x) = %x, want %x", entry, prev, got, want)
		}
	})
}

// BenchmarkSHA256Entry is what a record hash costs through the standard
// API used plainly (Reset, Write, Write, Sum, as the chain's reference
// digester does), against SHA256's use of it; entry is as long as that of
// a 438-byte record.
func BenchmarkSHA256Entry(b *testing.B) {
	entry, prev := make([]byte, 362), [32]byte{1}
	b.Run("fast", func(b *testing.B) {
		s := NewSHA256()
		for b.Loop() {
			s.Entry(entry, &prev)
		}
	})
	b.Run("reference", func(b *testing.B) {
		h, sum := sha256.New(), make([]byte, 0, 32)
		for b.Loop() {
			h.Reset()
			h.Write(entry)
			h.Write(prev[:])
			sum = h.Sum(sum[:0])
		}
	})
}

// TestSHA256Pair holds SHA256Pair to crypto/sha256 on pairs of messages of
// every length up to 300 bytes against lengths around each block boundary,
// and on random pairs, at random alignments.
func TestSHA256Pair(t *testing.T) {
	s := NewSHA256Pair()
	if s == nil {
		t.Skip("no SHA256Pair on this machine")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	buf := make([]byte, 8192)
	for i := range buf {
		buf[i] = byte(rng.IntN(256))
	}
	check := func(na, nb int) {
		ea, eb := buf[rng.IntN(64):][:na], buf[rng.IntN(64):][:nb]
		pa := (*[32]byte)(buf[len(buf)-32-rng.IntN(64):])
		pb := (*[32]byte)(buf[len(buf)-32-rng.IntN(64):])
		da, db := s.Entries(ea, pa, eb, pb)
		if want := reference(ea, pa); da != want {
			t.Fatalf("Entries of %d and %d bytes: first %x, want %x", na, nb, da, want)
		}
		if want := reference(eb, pb); db != want {
			t.Fatalf("Entries of %d and %d bytes: second %x, want %x", na, nb, db, want)
		}
	}
	for na := 0; na <= 300; na++ {
		for _, nb := range []int{0, 1, 22, 23, 24, 55, 63, 64, 65, 87, 88, 150, 300, 363, 1000} {
			check(na, nb)
			check(nb, na)
		}
	}
	for range 2000 {
		check(rng.IntN(len(buf)-200), rng.IntN(len(buf)-200))
	}
}

// FuzzSHA256Pair holds SHA256Pair to crypto/sha256.
func FuzzSHA256Pair(f *testing.F) {
	f.Add([]byte("entry"), []byte("prev"), []byte("other entry"), []byte{9})
	f.Add(bytes.Repeat([]byte("x"), 23), []byte{}, bytes.Repeat([]byte("y"), 300), []byte{1})
	s := NewSHA256Pair()
	if s == nil {
		f.Skip("no SHA256Pair on this machine")
	}
	f.Fuzz(func(t *testing.T, ea, p, eb, q []byte) {
		var pa, pb [32]byte
		copy(pa[:], p)
		copy(pb[:], q)
		da, db := s.Entries(ea, &pa, eb, &pb)
		if want := reference(ea, &pa); da != want {
			t.Fatalf("Entries(%x, %x, ...) first = %x, want %x", ea, pa, da, want)
		}
		if want := reference(eb, &pb); db != want {
			t.Fatalf("Entries(..., %x, %x) second = %x, want %x", eb, pb, db, want)
		}
	})
}

// BenchmarkSHA256Pair is what two record hashes cost hashed together,
// against SHA256 (one record at a time through crypto/sha256); entry is as
// long as that of a 438-byte record. Compare ns/op with twice SHA256Entry's.
func BenchmarkSHA256Pair(b *testing.B) {
	entry, prev := make([]byte, 362), [32]byte{1}
	s := NewSHA256Pair()
	if s == nil {
		b.Skip("no SHA256Pair on this machine")
	}
	for b.Loop() {
		s.Entries(entry, &prev, entry, &prev)
	}
}
