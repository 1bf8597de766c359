package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

// Diff compares two copies of a chain file line by line. Records after the
// divergence are matched by hash, so memory grows with the differing suffix.
func Diff(ctx context.Context, a, b io.Reader) (*DiffResult, error) {
	sa, sb := NewScanner(a), NewScanner(b)
	res := &DiffResult{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		okA, okB := sa.Scan(), sb.Scan()
		if okA && okB && bytes.Equal(sa.Line(), sb.Line()) {
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
		keysA, keysB := map[Digest]int{}, map[Digest]int{}
		if okA {
			res.LineA = string(bytes.TrimSuffix(sa.Line(), []byte{'\n'}))
			if sa.LineErr() == nil {
				seq := sa.Record().Seq
				res.Seq = &seq
			}
			keysA[sa.lineKey()]++
		}
		if okB {
			res.LineB = string(bytes.TrimSuffix(sb.Line(), []byte{'\n'}))
			if res.Seq == nil && sb.LineErr() == nil {
				seq := sb.Record().Seq
				res.Seq = &seq
			}
			keysB[sb.lineKey()]++
		}
		if okA && okB {
			res.Fields = fieldDiff([]byte(res.LineA), []byte(res.LineB))
		}
		for okA && sa.Scan() {
			keysA[sa.lineKey()]++
		}
		for okB && sb.Scan() {
			keysB[sb.lineKey()]++
		}
		if err := firstErr(sa.Err(), sb.Err()); err != nil {
			return nil, err
		}
		for k, n := range keysA {
			res.OnlyInA += int64(max(0, n-keysB[k]))
		}
		for k, n := range keysB {
			res.OnlyInB += int64(max(0, n-keysA[k]))
		}
		return res, nil
	}
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
