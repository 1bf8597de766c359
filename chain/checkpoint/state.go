package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/transparency-dev/merkle/compact"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/fsutil"
)

// writerState is what the checkpoint writer keeps beside the checkpoint file
// (STORE.state) so that the next checkpoint hashes only the records added
// since the last one: the compact range of the tree at the last checkpoint
// and where the next record starts. It is a hint, never trusted: its range
// must give the root of the last checkpoint signed by the writer's key, and
// the record it points to must have the next seq and link to its head;
// otherwise the writer verifies the whole chain instead.
//
//	{"size":42,"root":"…=","range":["…=","…="],"head":"41:<hex>","index":0,"offset":12345}
type writerState struct {
	Size  uint64   `json:"size"`
	Root  string   `json:"root"`
	Range []string `json:"range"`
	// Head is the record Size-1, "SEQ:HASH" ("" when Size is 0).
	Head string `json:"head"`
	// Index and Offset locate the next record: the file of that index of
	// the chain (the active file or a rotated one), at that byte.
	Index  int   `json:"index"`
	Offset int64 `json:"offset"`
}

// maxStateSize bounds the state file: a range has at most 64 hashes.
const maxStateSize = 8 << 10

// readState reads the writer's state, or returns nil when there is none or
// it cannot be used (it is only a hint).
func readState(path string) *writerState {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil || len(b) > maxStateSize {
		return nil
	}
	var st writerState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&st) != nil || st.Index < 0 || st.Offset < 0 {
		return nil
	}
	return &st
}

// writeState replaces the state file, atomically but without syncing it:
// it is a hint, and a state lost or cut short by a crash only costs the
// next checkpoint a whole verification (readState refuses what does not
// parse, rangeOf what does not match).
func writeState(path string, st *writerState) error {
	b, _ := json.Marshal(st)
	// A hidden name, which chain.Discover never takes for a chain.
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.tmp-%d", filepath.Base(path), os.Getpid()))
	f, err := fsutil.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|fsutil.NoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// rangeOf returns the compact range the state holds, checked against the
// checkpoint it must match: the range's root must be c's root.
func (st *writerState) rangeOf(c Checkpoint) (*rangeState, error) {
	if st.Size != c.Size || st.Root != c.Root.String() {
		return nil, errors.New("the state is of another checkpoint")
	}
	hashes := make([][]byte, len(st.Range))
	for i, s := range st.Range {
		h, err := ParseHash(s)
		if err != nil {
			return nil, err
		}
		hashes[i] = h[:]
	}
	r, err := rf.NewRange(0, st.Size, hashes)
	if err != nil {
		return nil, err
	}
	if rootOf(r) != c.Root {
		return nil, errors.New("the state's range does not give the checkpoint's root")
	}
	rs := &rangeState{rng: r, index: st.Index, offset: st.Offset}
	if st.Size > 0 {
		if rs.head, err = chain.ParseHead(st.Head); err != nil || rs.head.Seq != st.Size-1 {
			return nil, fmt.Errorf("the state's head %q is not record %d", shortText(st.Head), st.Size-1)
		}
	}
	return rs, nil
}

// rangeState is a usable writer state.
type rangeState struct {
	rng    *compact.Range
	head   chain.Head
	index  int
	offset int64
}
