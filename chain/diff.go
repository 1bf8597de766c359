package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sort"

	"github.com/brain-dev/brain/internal/fsutil"
)

// FieldDiff is one field that differs between two records. A and B are the
// raw JSON values ("" when the field is absent).
type FieldDiff struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// DiffResult says where two copies of a chain diverge.
type DiffResult struct {
	Identical bool `json:"identical"`
	// Common counts the identical lines before the divergence.
	Common int64 `json:"common"`
	// Line is the 1-based line of the first difference; OffsetA and OffsetB
	// its byte offsets; Seq the seq of A's record there (or B's when A ended).
	Line    int64   `json:"line,omitempty"`
	OffsetA int64   `json:"offset_a"`
	OffsetB int64   `json:"offset_b"`
	Seq     *uint64 `json:"seq,omitempty"`
	// LineA and LineB are the first differing lines ("" when a file ended).
	LineA  string      `json:"line_a,omitempty"`
	LineB  string      `json:"line_b,omitempty"`
	Fields []FieldDiff `json:"fields,omitempty"`
	// OnlyInA and OnlyInB count the records after the divergence that the
	// other copy does not hold anywhere after it.
	OnlyInA int64 `json:"only_in_a"`
	OnlyInB int64 `json:"only_in_b"`
}

// Diff compares two copies of a chain file line by line. Lines after the
// divergence are matched as multisets of their SHA-256 keys. Memory is
// bounded whatever the inputs: a line is held up to MaxRecordSize bytes (a
// longer one by its length and SHA-256), and at most maxBagKeys keys per copy
// (a longer suffix is matched in parts, each part re-reading both copies:
// a and b must then be io.Seekers, as files are).
func Diff(ctx context.Context, a, b io.Reader) (*DiffResult, error) {
	sa, sb := NewScanner(a), NewScanner(b)
	res := &DiffResult{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		okA, okB := sa.Scan(), sb.Scan()
		if okA && okB && sa.sameLine(sb) {
			res.Common++
			continue
		}
		if err := firstErr(sa.Err(), sb.Err()); err != nil {
			return nil, err
		}
		if !okA && !okB {
			res.Identical = true
			return res, nil
		}
		res.Line = res.Common + 1
		res.OffsetA, res.OffsetB = sa.Offset(), sb.Offset()
		if okA {
			res.LineA = shownLine(sa)
			if sa.LineErr() == nil {
				seq := sa.Record().Seq
				res.Seq = &seq
			}
		}
		if okB {
			res.LineB = shownLine(sb)
			if res.Seq == nil && sb.LineErr() == nil {
				seq := sb.Record().Seq
				res.Seq = &seq
			}
		}
		if okA && okB {
			res.Fields = fieldDiff([]byte(res.LineA), []byte(res.LineB))
		}
		var err error
		res.OnlyInA, res.OnlyInB, err = onlyIn(ctx, suffix{a, sa, okA, res.OffsetA}, suffix{b, sb, okB, res.OffsetB})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// shownLine returns the scanner's current line for a DiffResult, without
// its newline; a line over the size limit is cut, and says how long it was.
func shownLine(s *Scanner) string {
	if s.long {
		return fmt.Sprintf("%s… (%d bytes)", s.line[:min(len(s.line), 1024)], s.size)
	}
	return string(bytes.TrimSuffix(s.line, []byte{'\n'}))
}

// suffix is one copy's lines from the divergence on: the scanner stands on
// the first of them (ok false when the copy ended), at off in r.
type suffix struct {
	r   io.Reader
	s   *Scanner
	ok  bool
	off int64
}

// maxBagKeys bounds the keys a keyBag holds (24 bytes each: 12 MiB; with
// the garbage of its growth and the other copy's bag, diff stays well
// under 100 MiB).
const maxBagKeys = 1 << 19

// keyCount is a line key (the first 16 bytes of the line's SHA-256) and how
// many lines have it.
type keyCount struct {
	k [16]byte
	n int64
}

// keyBag is a multiset of line keys in at most maxBagKeys entries.
type keyBag struct{ e []keyCount }

// add adds k, and reports false when the bag holds maxBagKeys different
// keys: it is full.
func (b *keyBag) add(k [16]byte) bool {
	if len(b.e) == maxBagKeys {
		b.compact()
		if len(b.e) > maxBagKeys/2 {
			return false
		}
	}
	if len(b.e) == cap(b.e) {
		// Grown by hand, never past maxBagKeys.
		e := make([]keyCount, len(b.e), min(2*cap(b.e)+16, maxBagKeys))
		copy(e, b.e)
		b.e = e
	}
	b.e = append(b.e, keyCount{k, 1})
	return true
}

// compact sorts the bag and merges its equal keys.
func (b *keyBag) compact() {
	slices.SortFunc(b.e, func(x, y keyCount) int { return bytes.Compare(x.k[:], y.k[:]) })
	out := b.e[:0]
	for _, e := range b.e {
		if len(out) > 0 && out[len(out)-1].k == e.k {
			out[len(out)-1].n += e.n
			continue
		}
		out = append(out, e)
	}
	b.e = out
}

// only returns how many lines of a are not matched by lines of b, and the
// reverse.
func only(a, b *keyBag) (onlyA, onlyB int64) {
	a.compact()
	b.compact()
	i, j := 0, 0
	for i < len(a.e) || j < len(b.e) {
		switch {
		case j == len(b.e) || i < len(a.e) && bytes.Compare(a.e[i].k[:], b.e[j].k[:]) < 0:
			onlyA += a.e[i].n
			i++
		case i == len(a.e) || bytes.Compare(a.e[i].k[:], b.e[j].k[:]) > 0:
			onlyB += b.e[j].n
			j++
		default:
			onlyA += max(0, a.e[i].n-b.e[j].n)
			onlyB += max(0, b.e[j].n-a.e[i].n)
			i, j = i+1, j+1
		}
	}
	return onlyA, onlyB
}

// onlyIn counts the lines of each suffix that the other does not hold. It
// matches the lines in one part, then (when a key bag fills up) in 4, 16,
// ... parts of the key space, re-reading the suffixes for each.
func onlyIn(ctx context.Context, a, b suffix) (onlyA, onlyB int64, err error) {
	seed := maphash.MakeSeed()
	// The bags are reused from part to part: made again, each part's would
	// be garbage the size of the bound until the collector ran.
	var ba, bb keyBag
	for parts := uint64(1); ; parts *= 4 {
		onlyA, onlyB = 0, 0
		full := false
		for p := uint64(0); p < parts && !full; p++ {
			ba.e, bb.e = ba.e[:0], bb.e[:0]
			for _, x := range []struct {
				suffix
				bag *keyBag
			}{{a, &ba}, {b, &bb}} {
				if parts > 1 {
					if x.s, x.ok, err = x.rewind(); err != nil {
						return 0, 0, err
					}
				}
				for ; x.ok && !full; x.ok = x.s.Scan() {
					if err := ctx.Err(); err != nil {
						return 0, 0, err
					}
					if parts > 1 && x.s.part(seed)%parts != p {
						continue
					}
					k := x.s.lineKey()
					full = !x.bag.add([16]byte(k[:16]))
				}
				if err := x.s.Err(); err != nil {
					return 0, 0, err
				}
			}
			oa, ob := only(&ba, &bb)
			onlyA, onlyB = onlyA+oa, onlyB+ob
		}
		if !full {
			return onlyA, onlyB, nil
		}
	}
}

// rewind returns a scanner on the suffix's first line again.
func (x suffix) rewind() (*Scanner, bool, error) {
	if !x.ok {
		return x.s, false, nil
	}
	rs, ok := x.r.(io.Seeker)
	if !ok {
		return nil, false, errors.New("chain: too many lines after the divergence to match from a stream; diff files instead")
	}
	if _, err := rs.Seek(x.off, io.SeekStart); err != nil {
		return nil, false, err
	}
	s := NewScanner(x.r)
	s.next = x.off
	return s, s.Scan(), nil
}

// part returns a hash of the current line, which picks the part of the key
// space it falls in (a cheaper hash than SHA-256).
func (s *Scanner) part(seed maphash.Seed) uint64 {
	if s.long {
		return maphash.Bytes(seed, s.sum[:])
	}
	return maphash.Bytes(seed, s.line)
}

// DiffFiles is Diff on two files.
func DiffFiles(ctx context.Context, a, b string) (*DiffResult, error) {
	fa, err := fsutil.Open(a)
	if err != nil {
		return nil, &ReadError{Path: a, Err: err}
	}
	defer fa.Close()
	fb, err := fsutil.Open(b)
	if err != nil {
		return nil, &ReadError{Path: b, Err: err}
	}
	defer fb.Close()
	return Diff(ctx, fa, fb)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// fieldDiff compares two lines field by field (the top level, and one level
// into data as "data.KEY"). Lines that are not JSON objects compare whole.
func fieldDiff(a, b []byte) []FieldDiff {
	fa, okA := objectFields(a)
	fb, okB := objectFields(b)
	if !okA || !okB {
		return []FieldDiff{{Field: "(line)", A: string(a), B: string(b)}}
	}
	for _, m := range []map[string]string{fa, fb} {
		if d, ok := m["data"]; ok {
			if sub, ok := objectFields([]byte(d)); ok {
				delete(m, "data")
				for k, v := range sub {
					m["data."+k] = v
				}
			}
		}
	}
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []FieldDiff
	for k := range keys {
		if fa[k] != fb[k] {
			out = append(out, FieldDiff{Field: k, A: fa[k], B: fb[k]})
		}
	}
	order := map[string]int{"seq": 0, "ts": 1, "type": 2, "session": 3, "trace_id": 4, "span_id": 5, "prev": 7, "hash": 8}
	rank := func(k string) int {
		if r, ok := order[k]; ok {
			return r
		}
		return 6
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i].Field) != rank(out[j].Field) {
			return rank(out[i].Field) < rank(out[j].Field)
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// objectFields returns the raw values of a JSON object's fields.
func objectFields(b []byte) (map[string]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	m := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		m[t.(string)] = string(v)
	}
	return m, true
}
