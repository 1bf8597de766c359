package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/transparency-dev/merkle/compact"

	"github.com/brain-dev/brain/chain/internal/fastpath"
)

// HashSize is the size of every tree hash: SHA-256.
const HashSize = sha256.Size

// Hash is a node of the RFC 6962 Merkle tree over a chain's records.
type Hash [HashSize]byte

// String returns h in standard base64, as checkpoints and proofs write it.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// ParseHash parses a hash in standard base64 (44 characters, padded).
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != HashSize || len(s) != base64.StdEncoding.EncodedLen(HashSize) {
		return h, fmt.Errorf("checkpoint: malformed hash %q: want %d bytes in standard base64", shortText(s), HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// LeafHash returns the RFC 6962 leaf hash of a record: SHA-256(0x00 ||
// line), where line is the record's line without its newline.
func LeafHash(line []byte) Hash { return fastpath.TreeLeaf(line) }

// NodeHash returns the RFC 6962 hash of an interior node: SHA-256(0x01 ||
// left || right).
func NodeHash(left, right Hash) Hash {
	return fastpath.TreeNode((*[HashSize]byte)(&left), (*[HashSize]byte)(&right))
}

// EmptyRoot is the root of the tree of no records: SHA-256 of nothing,
// written out so that no program computes it when it starts
// (TestEmptyRoot holds it to crypto/sha256 and to golang.org/x/mod/sumdb/tlog).
var EmptyRoot = Hash{
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}

// hashChildren is NodeHash for the compact ranges of
// github.com/transparency-dev/merkle, which hold hashes as slices.
func hashChildren(left, right []byte) []byte {
	h := fastpath.TreeNode((*[HashSize]byte)(left), (*[HashSize]byte)(right))
	return h[:]
}

// arena hands out the hashes of one goroutine's leaves and nodes from
// blocks of memory, rather than one allocation each: the compact ranges of
// github.com/transparency-dev/merkle hold hashes as slices, and a chain has
// as many nodes as records.
type arena struct{ free []byte }

func (a *arena) next() []byte {
	if len(a.free) < HashSize {
		a.free = make([]byte, 2048*HashSize)
	}
	h := a.free[:HashSize:HashSize]
	a.free = a.free[HashSize:]
	return h
}

func (a *arena) keep(leaf *[HashSize]byte) []byte {
	h := a.next()
	copy(h, leaf[:])
	return h
}

func (a *arena) hashChildren(left, right []byte) []byte {
	h := a.next()
	*(*Hash)(h) = fastpath.TreeNode((*[HashSize]byte)(left), (*[HashSize]byte)(right))
	return h
}

// rf makes every compact range of the package: RFC 6962 interior nodes.
var rf = &compact.RangeFactory{Hash: hashChildren}

// rootOf returns the root hash of r, a range that starts at 0.
func rootOf(r *compact.Range) Hash {
	if r.End() == 0 {
		return EmptyRoot
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		panic("checkpoint: root of a range that does not start at 0: " + err.Error())
	}
	return Hash(h)
}

// tree builds the Merkle tree of a chain from its lines, in order, as a
// chain.LineSink: leaf i is line i without its newline. It holds a compact
// range (one hash per level), the roots at the sizes it was asked for
// (targets) and the nodes it was asked for (wanted): memory does not grow
// with the chain. Leaves are hashed in parallel within each chunk of lines.
type tree struct {
	rng     *compact.Range
	workers int

	// targets are the sizes, ascending, at which the root is wanted; roots
	// holds them as they are reached (next is the first not reached).
	targets []uint64
	roots   []Hash
	known   []bool // false: a line before the size could not be hashed
	next    int

	// wanted are nodes to keep as they are computed, for proofs.
	wanted map[compact.NodeID]int
	nodes  []Hash
	got    []bool
	visit  compact.VisitFn

	// broken is set once a line could not be hashed (Skip): no root from
	// there on is known.
	broken bool

	// keep are the leaves whose lines to keep in kept, sorted.
	keep []uint64
	kept map[uint64][]byte
}

// newTree returns a tree that starts from r (nil: the empty tree), keeps
// the roots at targets (which it sorts and deduplicates) and the nodes
// wanted.
func newTree(r *compact.Range, targets []uint64, wanted []compact.NodeID) *tree {
	if r == nil {
		r = rf.NewEmptyRange(0)
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)
	t := &tree{rng: r, workers: min(runtime.GOMAXPROCS(0), 8), targets: targets,
		roots: make([]Hash, len(targets)), known: make([]bool, len(targets))}
	for t.next < len(targets) && targets[t.next] < r.End() {
		t.next++ // before the start: never known
	}
	if len(wanted) > 0 {
		t.wanted = make(map[compact.NodeID]int, len(wanted))
		for i, id := range wanted {
			t.wanted[id] = i
		}
		t.nodes, t.got = make([]Hash, len(wanted)), make([]bool, len(wanted))
		var mu sync.Mutex
		t.visit = func(id compact.NodeID, h []byte) {
			if i, ok := t.wanted[id]; ok {
				mu.Lock()
				t.nodes[i], t.got[i] = Hash(h), true
				mu.Unlock()
			}
		}
	}
	t.reached()
	return t
}

// keepLines makes the tree keep the lines of the leaves idx.
func (t *tree) keepLines(idx []uint64) {
	t.keep = slices.Clone(idx)
	slices.Sort(t.keep)
	t.kept = make(map[uint64][]byte, len(idx))
}

// keeps reports whether the line of leaf i is to be kept.
func (t *tree) keeps(i uint64) bool {
	_, ok := slices.BinarySearch(t.keep, i)
	return ok
}

// keepIn returns the leaves to keep in [begin, end).
func (t *tree) keepIn(begin, end uint64) []uint64 {
	lo, _ := slices.BinarySearch(t.keep, begin)
	hi, _ := slices.BinarySearch(t.keep, end)
	return t.keep[lo:hi]
}

// size returns the number of leaves so far.
func (t *tree) size() uint64 { return t.rng.End() }

// reached records the root when the tree is at the next target size.
func (t *tree) reached() {
	for t.next < len(t.targets) && t.targets[t.next] == t.size() {
		if !t.broken {
			t.roots[t.next], t.known[t.next] = rootOf(t.rng), true
		}
		t.next++
	}
}

// Skip counts a line whose bytes verification did not hold: the tree is
// broken from there on.
func (t *tree) Skip() {
	t.broken = true
	// The range still counts the leaf, so that sizes stay aligned with the
	// lines; its hash is never used for a root.
	t.rng.Append(make([]byte, HashSize), nil)
	t.reached()
}

// minParallel is the smallest chunk whose leaves are hashed in parallel.
const minParallel = 256 << 10

// Lines appends the leaves of data, whole lines each ending in "\n".
func (t *tree) Lines(data []byte) {
	if len(data) == 0 {
		return
	}
	if t.workers < 2 || len(data) < minParallel {
		t.serial(data)
		return
	}
	t.parallel(data)
}

// serial appends the leaves of data one at a time.
func (t *tree) serial(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if t.keeps(t.size()) {
			t.kept[t.size()] = append([]byte(nil), data[:i]...)
		}
		h := LeafHash(data[:i])
		t.rng.Append(h[:], t.visit)
		t.reached()
		data = data[i+1:]
	}
}

// piece is a part of a chunk: its lines and the compact range of their
// leaves, which starts where the tree will be when the pieces before it
// are merged.
type piece struct {
	data  []byte
	begin uint64
	rng   *compact.Range
	kept  map[uint64][]byte // the lines of the leaves of keep in the piece
}

// parallel cuts data into pieces at line boundaries and at target sizes,
// hashes the pieces' leaves and interior nodes on t.workers goroutines,
// then merges the pieces into the tree in order, taking each target's root.
func (t *tree) parallel(data []byte) {
	// Cut into about 4 pieces per worker, then at the targets within.
	n := 4 * t.workers
	var pieces []piece
	begin := t.size()
	tgt := t.next
	for start := 0; start < len(data); {
		end := min(start+(len(data)+n-1)/n, len(data))
		if end < len(data) {
			end += bytes.IndexByte(data[end:], '\n') + 1
		} else {
			end = len(data)
		}
		part := data[start:end]
		lines := uint64(bytes.Count(part, []byte{'\n'}))
		for tgt < len(t.targets) && t.targets[tgt] < begin+lines {
			// Split so that a piece ends at the target.
			k := t.targets[tgt] - begin
			if k > 0 {
				cut := 0
				for range k {
					cut += bytes.IndexByte(part[cut:], '\n') + 1
				}
				pieces = append(pieces, piece{data: part[:cut], begin: begin})
				part, begin, lines = part[cut:], begin+k, lines-k
			}
			tgt++
		}
		if len(part) > 0 {
			pieces = append(pieces, piece{data: part, begin: begin})
			begin += lines
		}
		start = end
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range t.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The piece's nodes are carved from an arena of the worker's
			// (one allocation for thousands of them); only the range's
			// few hashes outlive it, copied into the tree's factory.
			var a arena
			pf := &compact.RangeFactory{Hash: a.hashChildren}
			var leaves [][HashSize]byte
			var sub subtrees
			for i := range work {
				p := &pieces[i]
				r := pf.NewEmptyRange(p.begin)
				leaves = fastpath.TreeLeaves(p.data, leaves[:0])
				ls := leaves
				if t.visit != nil {
					// Proofs want the leaves too: one at a time.
					for j := range ls {
						r.Append(a.keep(&ls[j]), t.visit)
					}
					ls = nil
				}
				if len(ls) > 0 {
					sub.add(r, pf, &a, ls)
				}
				for _, k := range t.keepIn(p.begin, r.End()) {
					if p.kept == nil {
						p.kept = map[uint64][]byte{}
					}
					p.kept[k] = lineAt(p.data, k-p.begin)
				}
				hs := make([][]byte, len(r.Hashes()))
				for j, h := range r.Hashes() {
					hs[j] = append([]byte(nil), h...)
				}
				p.rng, _ = rf.NewRange(r.Begin(), r.End(), hs)
			}
		}()
	}
	for i := range pieces {
		work <- i
	}
	close(work)
	wg.Wait()
	for i := range pieces {
		if err := t.rng.AppendRange(pieces[i].rng, t.visit); err != nil {
			panic("checkpoint: merging adjacent ranges: " + err.Error())
		}
		for k, line := range pieces[i].kept {
			t.kept[k] = line
		}
		t.reached()
	}
}

// subtreeLeaves is the size of the aligned subtrees whose nodes
// subtrees.add computes level by level, two at a time.
const subtreeLeaves = 64

// subtrees appends leaves to a compact range with most of their interior
// nodes hashed two at a time (fastpath.TreePairs): the leaves of each
// aligned subtree of subtreeLeaves are reduced level by level to its root,
// which is appended as a range; the leaves before the first such subtree
// and after the last go in pairs, and one alone where a pair cannot start.
// Only for trees whose nodes no one wants to visit.
type subtrees struct {
	level [2][][HashSize]byte
	one   [][]byte
}

func (s *subtrees) add(r *compact.Range, f *compact.RangeFactory, a *arena, ls [][HashSize]byte) {
	if s.one == nil {
		s.one = make([][]byte, 1)
	}
	appendNode := func(h *[HashSize]byte, leaves uint64) {
		s.one[0] = a.keep(h)
		sr, _ := f.NewRange(r.End(), r.End()+leaves, s.one)
		r.AppendRange(sr, nil)
	}
	pairs := func(ls [][HashSize]byte) {
		if r.End()%2 == 1 && len(ls) > 0 {
			r.Append(a.keep(&ls[0]), nil)
			ls = ls[1:]
		}
		s.level[0] = fastpath.TreePairs(ls, s.level[0][:0])
		for k := range s.level[0] {
			appendNode(&s.level[0][k], 2)
		}
		if len(ls)%2 == 1 {
			r.Append(a.keep(&ls[len(ls)-1]), nil)
		}
	}
	// Up to the first aligned subtree.
	lead := min(uint64(len(ls)), (subtreeLeaves-r.End()%subtreeLeaves)%subtreeLeaves)
	pairs(ls[:lead])
	ls = ls[lead:]
	for len(ls) >= subtreeLeaves {
		in := ls[:subtreeLeaves]
		for i := 0; len(in) > 1; i++ {
			out := &s.level[i%2]
			*out = fastpath.TreePairs(in, (*out)[:0])
			in = *out
		}
		appendNode(&in[0], subtreeLeaves)
		ls = ls[subtreeLeaves:]
	}
	pairs(ls)
}

// lineAt returns a copy of line i of data (whole lines).
func lineAt(data []byte, i uint64) []byte {
	for ; i > 0; i-- {
		data = data[bytes.IndexByte(data, '\n')+1:]
	}
	return append([]byte(nil), data[:bytes.IndexByte(data, '\n')]...)
}

// root returns the root at size, one of the targets, and whether it is
// known: the tree reached that size and no line before it was skipped.
func (t *tree) root(size uint64) (Hash, bool) {
	i, ok := slices.BinarySearch(t.targets, size)
	if !ok {
		return Hash{}, false
	}
	return t.roots[i], t.known[i]
}

// node returns a wanted node's hash.
func (t *tree) node(i int) (Hash, bool) {
	return t.nodes[i], t.got[i]
}
