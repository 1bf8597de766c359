package chain

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTreeHashes holds TreeLeafHash and TreeNodeHash to crypto/sha256 for
// lines of every length around the block boundaries.
func TestTreeHashes(t *testing.T) {
	buf := make([]byte, 600)
	for i := range buf {
		buf[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(buf); n++ {
		line := buf[:n]
		if got, want := TreeLeafHash(line), sha256.Sum256(append([]byte{0}, line...)); got != want {
			t.Fatalf("TreeLeafHash of %d bytes: %x, want %x", n, got, want)
		}
	}
	l, r := sha256.Sum256([]byte("l")), sha256.Sum256([]byte("r"))
	if got, want := TreeNodeHash(&l, &r), sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...)); got != want {
		t.Fatalf("TreeNodeHash: %x, want %x", got, want)
	}
}

// FuzzTreeLeafHash holds TreeLeafHash, and TreeLeafHashes of two lines
// hashed together, to crypto/sha256 on any lines.
func FuzzTreeLeafHash(f *testing.F) {
	f.Add([]byte(`{"seq":0}`), []byte(`{"seq":1,"data":{}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		a, b = bytes.ReplaceAll(a, []byte{'\n'}, nil), bytes.ReplaceAll(b, []byte{'\n'}, nil)
		wa, wb := sha256.Sum256(append([]byte{0}, a...)), sha256.Sum256(append([]byte{0}, b...))
		if got := TreeLeafHash(a); got != wa {
			t.Fatalf("TreeLeafHash(%q) = %x, want %x", a, got, wa)
		}
		got := TreeLeafHashes(append(append(append(append([]byte(nil), a...), '\n'), b...), '\n'), nil)
		if len(got) != 2 || got[0] != wa || got[1] != wb {
			t.Fatalf("TreeLeafHashes(%q, %q) = %x, want %x %x", a, b, got, wa, wb)
		}
	})
}

// TestTreeHashGenerated checks that treehash_amd64.s is what its generator
// writes.
func TestTreeHashGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "treehash_amd64.s")
	if b, err := exec.Command("go", "run", "treehash_gen.go", out).CombinedOutput(); err != nil {
		t.Fatalf("go run treehash_gen.go: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("treehash_amd64.s")
	if !bytes.Equal(got, want) {
		t.Fatal("treehash_amd64.s is not what treehash_gen.go writes: run go generate ./chain")
	}
}

// TestTreeLeafHashes holds TreeLeafHashes to crypto/sha256 for pairs of
// lines of all lengths around the block boundaries, and an odd last line.
func TestTreeLeafHashes(t *testing.T) {
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	var data []byte
	var want [][DigestSize]byte
	for a := 0; a < 200; a += 3 {
		for b := 0; b < 200; b += 7 {
			for _, n := range []int{a, b} {
				data = append(append(data, buf[:n]...), '\n')
				want = append(want, sha256.Sum256(append([]byte{0}, buf[:n]...)))
			}
		}
	}
	data = append(append(data, buf[:130]...), '\n')
	want = append(want, sha256.Sum256(append([]byte{0}, buf[:130]...)))
	got := TreeLeafHashes(data, nil)
	if len(got) != len(want) {
		t.Fatalf("%d hashes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: %x, want %x", i, got[i], want[i])
		}
	}
}

// TestTreeNodePairs holds TreeNodePairs to TreeNodeHash, hence to
// crypto/sha256, for every number of leaves up to 9.
func TestTreeNodePairs(t *testing.T) {
	var leaves [][DigestSize]byte
	for i := range 9 {
		leaves = append(leaves, sha256.Sum256([]byte{byte(i)}))
	}
	for n := 0; n <= len(leaves); n++ {
		got := TreeNodePairs(leaves[:n], nil)
		if len(got) != n/2 {
			t.Fatalf("%d leaves: %d nodes", n, len(got))
		}
		for i := range got {
			want := sha256.Sum256(append(append([]byte{1}, leaves[2*i][:]...), leaves[2*i+1][:]...))
			if got[i] != want {
				t.Fatalf("%d leaves, node %d: %x, want %x", n, i, got[i], want)
			}
		}
	}
}

// BenchmarkTreeLeafHashes compares the leaf hashes of 1,000 lines of 438
// bytes (a record of the bench chain) one at a time and two at a time.
func BenchmarkTreeLeafHashes(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 438)
	var data []byte
	for range 1000 {
		data = append(append(data, line...), '\n')
	}
	b.Run("one", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for d := data; len(d) > 0; d = d[439:] {
				TreeLeafHash(d[:438])
			}
		}
	})
	b.Run("two", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		out := make([][DigestSize]byte, 0, 1000)
		for b.Loop() {
			out = TreeLeafHashes(data, out[:0])
		}
	})
}
