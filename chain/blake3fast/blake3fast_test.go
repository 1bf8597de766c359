package blake3fast_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/brain-dev/brain/chain"
	_ "github.com/brain-dev/brain/chain/blake3fast"
	"github.com/brain-dev/brain/chain/internal/blake3"
)

// TestRegistered: with the package imported, the chain hashes BLAKE3 with
// the library, and its digests are the plain implementation's on every
// length across several chunks, written in random pieces.
func TestRegistered(t *testing.T) {
	if _, plain := chain.BLAKE3.New().(*blake3.Hasher); plain {
		t.Fatal("chain.BLAKE3.New() is still the plain implementation")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]byte, 5*1024+17)
	for i := range in {
		in[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(in); n += 1 + n/64 {
		fast, plain := chain.BLAKE3.New(), blake3.New()
		for rest := in[:n]; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(300))
			fast.Write(rest[:k])
			plain.Write(rest[:k])
			rest = rest[k:]
		}
		if got, want := fast.Sum(nil), plain.Sum(nil); !bytes.Equal(got, want) {
			t.Fatalf("length %d: library %x, plain %x", n, got, want)
		}
	}
}
