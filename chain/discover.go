package chain

import (
	"bytes"
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Chain is a set of files that form one chain, found by Discover.
type Chain struct {
	ID    string
	Files []string // oldest first
	// Missing lists the indexes absent from Files.
	Missing []int
	// Duplicates lists files that claim an index another file has.
	Duplicates []string
	// missingBefore names, for a position in Files, the files missing just
	// before it.
	missingBefore map[int][]string
	// Damaged marks a file that looks like a chain file (its name, or a
	// first line shaped like a record) but has no valid header.
	Damaged bool
	// CopyOf, for a copy of a chain kept beside it under another name
	// (audit-copy.jsonl beside audit.jsonl: the same chain id), names the
	// original's newest file. A copy is a chain of its own: it is verified
	// on its own, with the original's files for the indexes it does not
	// have (a copy of a rotated chain's active file), and a finding in it
	// is never pinned on the original.
	CopyOf string
}

// looksLikeChain reports whether a file without a valid header should still
// be treated as a chain: it is named like one (audit*.jsonl, or a rotated
// NAME.NNNNNN.jsonl), or its first line is shaped like a record.
func looksLikeChain(path string, firstLine []byte) bool {
	base := filepath.Base(path)
	if _, _, rotated := splitRotated(base); rotated || strings.HasPrefix(base, "audit") {
		return true
	}
	return bytes.Contains(firstLine, []byte(`"prev":"`)) && bytes.Contains(firstLine, []byte(hashSep))
}

// Discover finds the chains under dir: every regular file whose first line
// is a chain header, grouped by directory, chain id and name (a file and
// its rotated files, NAME.jsonl and NAME.NNNNNN.jsonl) and ordered by index.
// Files of the same chain id under other names in the same directory are
// copies (Chain.CopyOf), each verified on its own. Files that are not
// chains are returned in skipped.
func Discover(dir string) (chains []Chain, skipped []string, err error) {
	var damaged []Chain
	type entry struct {
		path  string
		index int
		fi    os.FileInfo
	}
	// A group is one directory, chain id and active name.
	groups := map[[3]string][]entry{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".lock") || strings.HasSuffix(p, ".tmp") || strings.Contains(filepath.Base(p), ".quarantine-") || isCheckpointFile(p) {
			return nil
		}
		f, err := fsutil.Open(p)
		if err != nil {
			return err
		}
		line, err := readFirstLine(f)
		f.Close()
		var h *HeaderData
		if err == nil {
			h, _, err = parseHeader(line)
		}
		if err != nil {
			// A file that looks like a chain but has no valid header is
			// verified (and fails), never skipped: damaging a header must
			// not make a chain disappear from verification.
			if looksLikeChain(p, line) {
				damaged = append(damaged, Chain{Files: []string{p}, Damaged: true})
			} else {
				skipped = append(skipped, p)
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		k := [3]string{filepath.Dir(p), h.Chain, activeName(p)}
		groups[k] = append(groups[k], entry{p, h.Index, fi})
		return nil
	})
	if err != nil {
		return nil, nil, &ReadError{Path: dir, Err: err}
	}
	keys := make([][3]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [3]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
	})
	first := len(chains)
	for _, k := range keys {
		es := groups[k]
		sort.Slice(es, func(i, j int) bool {
			if es[i].index != es[j].index {
				return es[i].index < es[j].index
			}
			return es[i].path < es[j].path
		})
		c := Chain{ID: k[1]}
		next := 0
		for i, e := range es {
			if e.index < next {
				if prev := es[i-1]; prev.index == e.index && os.SameFile(prev.fi, e.fi) {
					// One file under two names: the active file and its
					// rotated name, between the two steps of a rotation.
					// The active name is the one verified.
					if activeName(e.path) == e.path {
						c.Files[len(c.Files)-1] = e.path
					}
					continue
				}
				c.Duplicates = append(c.Duplicates, e.path)
				continue
			}
			for ; next < e.index; next++ {
				c.Missing = append(c.Missing, next)
				if c.missingBefore == nil {
					c.missingBefore = map[int][]string{}
				}
				c.missingBefore[len(c.Files)] = append(c.missingBefore[len(c.Files)], RotatedName(activeName(e.path), next))
			}
			c.Files = append(c.Files, e.path)
			next = e.index + 1
		}
		chains = append(chains, c)
	}
	markCopies(chains[first:], keys)
	chains = append(chains, damaged...)
	return chains, skipped, nil
}

// markCopies finds, among chains (one per key, in the same order), those
// that share a directory and chain id: the original is the one better
// picks; every other is a copy of it. A copy that starts after
// index 0 is completed with the original's files before its first, so that
// it verifies from the chain's start.
func markCopies(chains []Chain, keys [][3]string) {
	for i := 0; i < len(chains); {
		j := i + 1
		for j < len(chains) && keys[j][0] == keys[i][0] && keys[j][1] == keys[i][1] {
			j++
		}
		if j-i > 1 {
			orig := i
			for c := i + 1; c < j; c++ {
				if better(chains[c], chains[orig]) {
					orig = c
				}
			}
			o := &chains[orig]
			for c := i; c < j; c++ {
				if c != orig {
					chains[c].borrow(o)
				}
			}
		}
		i = j
	}
}

// better reports whether a makes a better original than b: it has the
// chain's first file, or more files, or its newest file was modified
// earlier (cp makes a copy newer), or its name is shorter.
func better(a, b Chain) bool {
	a0, b0 := !slices.Contains(a.Missing, 0), !slices.Contains(b.Missing, 0)
	if a0 != b0 {
		return a0
	}
	if len(a.Files) != len(b.Files) {
		return len(a.Files) > len(b.Files)
	}
	am, bm := modTime(a.Files[len(a.Files)-1]), modTime(b.Files[len(b.Files)-1])
	if !am.Equal(bm) {
		return am.Before(bm)
	}
	return len(a.Files[len(a.Files)-1]) < len(b.Files[len(b.Files)-1])
}

func modTime(path string) time.Time {
	fi, err := os.Lstat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// borrow makes c a copy of o: o's files stand in for the indexes c lacks
// before its first file.
func (c *Chain) borrow(o *Chain) {
	c.CopyOf = o.Files[len(o.Files)-1]
	lead := 0 // the indexes missing before c's first file
	for lead < len(c.Missing) && c.Missing[lead] == lead {
		lead++
	}
	if lead == 0 || len(o.Files) < lead || o.missingBefore[0] != nil {
		return
	}
	// o has indexes 0..len(o.Files)-1 without a gap at the start; take
	// those before c's first, if o has them all.
	for _, m := range o.Missing {
		if m < lead {
			return
		}
	}
	c.Files = append(slices.Clone(o.Files[:lead]), c.Files...)
	c.Missing = c.Missing[lead:]
	before := map[int][]string{}
	for pos, names := range c.missingBefore {
		if pos > 0 {
			before[pos+lead] = names
		}
	}
	c.missingBefore = before
	if len(before) == 0 {
		c.missingBefore = nil
	}
}
