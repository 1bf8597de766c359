package orchestrator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"

	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// VCSDir is the version-control directory that context gathering never
// enters.
const VCSDir = ".git"

// ContextLimits bound what a task's context may hold.
type ContextLimits struct {
	MaxFiles     int   // files included, at most
	MaxBytes     int64 // bytes of all files together, at most
	MaxFileBytes int64 // bytes of one file, at most (a larger file is cut)
}

// DefaultContextLimits are used when a task does not say otherwise.
var DefaultContextLimits = ContextLimits{MaxFiles: 64, MaxBytes: 256 << 10, MaxFileBytes: 64 << 10}

// ContextFile is one file given to the model.
type ContextFile struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"` // of the bytes given to the model
	Bytes     int64  `json:"bytes"`
	Truncated bool   `json:"truncated,omitempty"`
}

// TaskContext is what sketch.generate_context gathers for a task.
type TaskContext struct {
	Files     []ContextFile
	Skipped   []string // matched but left out: binary, or over a limit
	Bytes     int64
	Truncated bool // a limit was hit
	Text      string
}

// GatherContext reads the workspace files that globs match (slash-separated,
// relative to root, "**" matching any number of directories) within lim. It
// reads through an os.Root, so neither a glob nor a symlink can reach outside
// the workspace. Files are taken in sorted order; binary files (with a NUL
// byte) are skipped. The directories in exclude (slash-separated, relative
// to root) are never entered: the workspace, with the audit chain, the state
// database and its key, is never given to a model. Nor is a Git directory
// (VCSDir, at any depth), which holds the whole history and, in its config,
// often a remote URL with a token: a glob that names one is refused.
func GatherContext(root *os.Root, globs []string, lim ContextLimits, exclude []string) (*TaskContext, error) {
	for _, g := range globs {
		if g == "" || path.IsAbs(g) || strings.Contains(g, `\`) || hasDotDot(g) {
			return nil, fmt.Errorf("context glob %q must be a relative path inside the workspace", g)
		}
		if slices.Contains(strings.Split(g, "/"), VCSDir) {
			return nil, fmt.Errorf("context glob %q names a %s directory, which is never given to a model", g, VCSDir)
		}
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
			return nil, fmt.Errorf("context glob %q: %v", g, err)
		}
	}
	fsys := root.FS()
	var matched []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (d.Name() == VCSDir || slices.Contains(exclude, p)) {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && matchAny(globs, p) {
			matched = append(matched, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gathering context: %w", err)
	}
	sort.Strings(matched)
	tc := &TaskContext{}
	var text strings.Builder
	for _, p := range matched {
		if len(tc.Files) >= lim.MaxFiles || tc.Bytes >= lim.MaxBytes {
			tc.Skipped, tc.Truncated = append(tc.Skipped, p), true
			continue
		}
		b, cut, err := readCapped(fsys, p, min(lim.MaxFileBytes, lim.MaxBytes-tc.Bytes))
		if err != nil {
			return nil, fmt.Errorf("reading context file %s: %w", p, err)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			tc.Skipped = append(tc.Skipped, p)
			continue
		}
		sum := sha256.Sum256(b)
		tc.Files = append(tc.Files, ContextFile{Path: p, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(b)), Truncated: cut})
		tc.Bytes += int64(len(b))
		tc.Truncated = tc.Truncated || cut
		fmt.Fprintf(&text, "=== %s ===\n%s\n", p, b)
	}
	tc.Text = text.String()
	return tc, nil
}

func readCapped(fsys fs.FS, p string, max int64) ([]byte, bool, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

func hasDotDot(g string) bool {
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

func matchAny(globs []string, p string) bool {
	for _, g := range globs {
		if matchSegments(strings.Split(g, "/"), strings.Split(p, "/")) {
			return true
		}
	}
	return false
}

// matchSegments matches path segments against pattern segments, where a "**"
// segment matches zero or more segments.
func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
