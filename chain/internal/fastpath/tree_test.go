package fastpath

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// leafRef and nodeRef are the tree's hashes written out with
// crypto/sha256: what TreeLeaf and TreeNode, the reference, must give.
func leafRef(line []byte) [32]byte { return sha256.Sum256(append([]byte{0}, line...)) }

func nodeRef(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// kernels are the ways to hash many leaves and nodes: the dispatching
// functions, the portable references and, on a CPU with the SHA
// extensions, the two-message kernels called directly.
func kernels(t *testing.T) map[string]struct {
	leaves func([]byte, [][32]byte) [][32]byte
	pairs  func([][32]byte, [][32]byte) [][32]byte
} {
	k := map[string]struct {
		leaves func([]byte, [][32]byte) [][32]byte
		pairs  func([][32]byte, [][32]byte) [][32]byte
	}{
		"dispatch": {TreeLeaves, TreePairs},
		"generic":  {treeLeavesGeneric, treePairsGeneric},
	}
	if hasSHANI() {
		k["ni"] = struct {
			leaves func([]byte, [][32]byte) [][32]byte
			pairs  func([][32]byte, [][32]byte) [][32]byte
		}{treeLeavesNI, treePairsNI}
	} else {
		t.Log("no SHA extensions here: the two-message kernel is not tested")
	}
	return k
}

// TestTreeHashes holds TreeLeaf and TreeNode to crypto/sha256 for lines of
// every length around the block boundaries.
func TestTreeHashes(t *testing.T) {
	buf := make([]byte, 600)
	for i := range buf {
		buf[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(buf); n++ {
		if got, want := TreeLeaf(buf[:n]), leafRef(buf[:n]); got != want {
			t.Fatalf("TreeLeaf of %d bytes: %x, want %x", n, got, want)
		}
	}
	l, r := sha256.Sum256([]byte("l")), sha256.Sum256([]byte("r"))
	if got, want := TreeNode(&l, &r), nodeRef(l, r); got != want {
		t.Fatalf("TreeNode: %x, want %x", got, want)
	}
}

// TestTreeLeaves holds every kernel's leaves to crypto/sha256 for pairs of
// lines of all lengths around the block boundaries (the two of a pair of
// different numbers of blocks, either the longer), and an odd last line.
func TestTreeLeaves(t *testing.T) {
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	var data []byte
	var want [][32]byte
	for a := 0; a < 200; a += 3 {
		for b := 0; b < 200; b += 7 {
			for _, n := range []int{a, b} {
				data = append(append(data, buf[:n]...), '\n')
				want = append(want, leafRef(buf[:n]))
			}
		}
	}
	data = append(append(data, buf[:130]...), '\n')
	want = append(want, leafRef(buf[:130]))
	for name, k := range kernels(t) {
		got := k.leaves(data, nil)
		if len(got) != len(want) {
			t.Fatalf("%s: %d hashes, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: line %d: %x, want %x", name, i, got[i], want[i])
			}
		}
	}
}

// TestTreePairs holds every kernel's nodes to crypto/sha256 for every
// number of hashes up to 9, appended after what out already holds.
func TestTreePairs(t *testing.T) {
	var in [][32]byte
	for i := range 9 {
		in = append(in, sha256.Sum256([]byte{byte(i)}))
	}
	for name, k := range kernels(t) {
		for n := 0; n <= len(in); n++ {
			got := k.pairs(in[:n], [][32]byte{{7}})
			if len(got) != 1+n/2 || got[0] != [32]byte{7} {
				t.Fatalf("%s: %d hashes: %d nodes, or out's first overwritten", name, n, len(got))
			}
			for i := range got[1:] {
				if want := nodeRef(in[2*i], in[2*i+1]); got[1+i] != want {
					t.Fatalf("%s: %d hashes, node %d: %x, want %x", name, n, i, got[1+i], want)
				}
			}
		}
	}
}

// FuzzTreeLeaves holds every kernel to crypto/sha256 on any three lines
// (two hashed together, the third alone) and on the nodes above them.
func FuzzTreeLeaves(f *testing.F) {
	f.Add([]byte(`{"seq":0}`), []byte(`{"seq":1,"data":{}}`), []byte{})
	f.Add(bytes.Repeat([]byte("x"), 55), bytes.Repeat([]byte("y"), 56), bytes.Repeat([]byte("z"), 119))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		lines := [][]byte{a, b, c}
		var data []byte
		var want [][32]byte
		for i := range lines {
			lines[i] = bytes.ReplaceAll(lines[i], []byte{'\n'}, nil)
			data = append(append(data, lines[i]...), '\n')
			want = append(want, leafRef(lines[i]))
		}
		for name, k := range kernels(t) {
			got := k.leaves(data, nil)
			if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Fatalf("%s(%q) = %x, want %x", name, lines, got, want)
			}
			nodes := k.pairs(append(got, got...), nil)
			if len(nodes) != 3 || nodes[0] != nodeRef(want[0], want[1]) || nodes[1] != nodeRef(want[2], want[0]) || nodes[2] != nodeRef(want[1], want[2]) {
				t.Fatalf("%s: nodes %x", name, nodes)
			}
		}
	})
}

// TestTreeGenerated checks that tree_amd64.s is what its generator writes.
func TestTreeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "tree_amd64.s")
	if b, err := exec.Command("go", "run", "tree_gen.go", out).CombinedOutput(); err != nil {
		t.Fatalf("go run tree_gen.go: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("tree_amd64.s")
	if !bytes.Equal(got, want) {
		t.Fatal("tree_amd64.s is not what tree_gen.go writes: run go generate ./chain/internal/fastpath")
	}
}

// BenchmarkTreeLeaves compares the leaf hashes of 1,000 lines of 438 bytes
// (a record of the bench chain) one at a time and two at a time.
func BenchmarkTreeLeaves(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 438)
	var data []byte
	for range 1000 {
		data = append(append(data, line...), '\n')
	}
	out := make([][32]byte, 0, 1000)
	for name, k := range map[string]func([]byte, [][32]byte) [][32]byte{"one": treeLeavesGeneric, "two": TreeLeaves} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				out = k(data, out[:0])
			}
		})
	}
}
