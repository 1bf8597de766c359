package chain

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// TestSHA256Entry holds the verifier's own SHA-256 to crypto/sha256 at every
// entry length up to a few blocks, and at random larger ones.
func TestSHA256Entry(t *testing.T) {
	if !hasSHANI() {
		t.Skip("no SHA extensions on this machine")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(rng.IntN(256))
	}
	check := func(n int) {
		entry := buf[rng.IntN(64):][:n]
		var prev Digest
		copy(prev[:], buf[n%1000:])
		want := sha256.Sum256(append(bytes.Clone(entry), prev[:]...))
		if got := sha256Entry(entry, &prev); got != Digest(want) {
			t.Fatalf("sha256Entry of %d bytes: %x, want %x", n, got, want)
		}
	}
	for n := 0; n <= 300; n++ {
		check(n)
	}
	for range 2000 {
		check(rng.IntN(len(buf) - 64))
	}
}

// FuzzSHA256Entry holds the verifier's own SHA-256 to crypto/sha256.
func FuzzSHA256Entry(f *testing.F) {
	if !hasSHANI() {
		f.Skip("no SHA extensions on this machine")
	}
	f.Add([]byte("entry"), []byte("prev"))
	f.Fuzz(func(t *testing.T, entry, p []byte) {
		var prev Digest
		copy(prev[:], p)
		want := sha256.Sum256(append(bytes.Clone(entry), prev[:]...))
		if got := sha256Entry(entry, &prev); got != Digest(want) {
			t.Fatalf("sha256Entry(%x, %x) = %x, want %x", entry, prev, got, want)
		}
	})
}

func BenchmarkSHA256Entry(b *testing.B) {
	entry, prev := make([]byte, 362), Digest{1}
	b.Run("ni", func(b *testing.B) {
		for b.Loop() {
			sha256Entry(entry, &prev)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		h := newDigester(SHA256)
		for b.Loop() {
			h.entry(entry, &prev)
		}
	})
}
