package evidence

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/fsutil"
)

// Problem is one reason a bundle does not verify, naming its file.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.File + ": " + p.Reason }

// Checked is what VerifyBundle checked.
type Checked struct {
	Manifest *Manifest
	Signer   string
	Files    int
	Proofs   int
	Problems []Problem
	// Suppressed counts the problems after the first MaxProblems, which
	// are not listed: a bundle of millions of added files costs the
	// memory of MaxProblems.
	Suppressed int
}

// MaxProblems bounds the problems VerifyBundle lists.
const MaxProblems = 1000

// OK reports whether the bundle verified.
func (c *Checked) OK() bool { return len(c.Problems) == 0 }

// Count is the number of problems, listed or not.
func (c *Checked) Count() int { return len(c.Problems) + c.Suppressed }

// VerifyBundle checks the bundle in dir offline: manifest.json.sig signed
// by a key of vs over manifest.json, every file listed present with its
// SHA-256 and nothing else there, and every record proof verified against
// its signed checkpoint, which must be among the bundle's checkpoints. Each
// problem names its file. The error is for a bundle that cannot be read at
// all.
func VerifyBundle(dir string, vs note.Verifiers) (*Checked, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: a bundle is the directory brain-audit evidence -o wrote", dir)
	}
	c := &Checked{}
	bad := func(file, format string, args ...any) {
		if len(c.Problems) == MaxProblems {
			c.Suppressed++
			return
		}
		c.Problems = append(c.Problems, Problem{File: file, Reason: fmt.Sprintf(format, args...)})
	}
	read := func(rel string, max int) []byte {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if rejectLink(p, rel, bad) {
			return nil
		}
		b, err := fsutil.ReadSmall(p, max, false)
		if err != nil {
			bad(rel, "%s", readReason(err))
			return nil
		}
		return b
	}
	sig, mb := read(SignatureFile, maxSignature), read(ManifestFile, maxManifest)
	if sig == nil || mb == nil {
		return c, nil
	}
	if c.Signer, err = CheckSignature(sig, mb, vs); err != nil {
		var se *SignatureError
		errors.As(err, &se)
		bad(se.File, "%s", se.Reason)
		return c, nil // nothing the manifest says can be trusted
	}
	m, err := ParseManifest(mb)
	if err != nil {
		bad(ManifestFile, "%v", err)
		return c, nil
	}
	c.Manifest = m
	listed := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = f
	}

	// Every file there must be listed; nothing but directories and
	// regular files.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			if _, ok := listed[rel]; !ok && rel != ManifestFile && rel != SignatureFile {
				bad(rel, "added: a symbolic link, which a bundle never holds")
			}
		case d.IsDir():
		case !d.Type().IsRegular():
			bad(rel, "added: a %s, which a bundle never holds", fsutil.TypeName(d.Type()))
		case rel == ManifestFile || rel == SignatureFile:
		default:
			if _, ok := listed[rel]; !ok {
				bad(rel, "added: not listed in manifest.json")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Every listed file present with its hash.
	var checkpoints, proofs []string
	for _, f := range m.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		sum, n, err := hashFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad(f.Path, "missing: listed in manifest.json, not in the bundle")
			continue
		case err != nil:
			if !rejectLink(p, f.Path, bad) {
				bad(f.Path, "%s", readReason(err))
			}
			continue
		case sum != f.SHA256 || n != f.Bytes:
			bad(f.Path, "changed: SHA-256 %s (%d bytes), manifest.json says %s (%d bytes)", sum, n, f.SHA256, f.Bytes)
			continue
		}
		c.Files++
		switch f.Kind {
		case KindCheckpoints:
			checkpoints = append(checkpoints, f.Path)
		case KindProof:
			proofs = append(proofs, f.Path)
		}
	}

	// Every proof, against its checkpoint; the checkpoint must be one of
	// the bundle's.
	signed := map[string]map[[2]string]bool{}
	for _, cp := range checkpoints {
		signed[filepath.ToSlash(filepath.Dir(cp))] = storedCheckpoints(filepath.Join(dir, filepath.FromSlash(cp)))
	}
	for _, pp := range proofs {
		b := read(pp, checkpoint.MaxProofSize)
		if b == nil {
			continue
		}
		v, err := checkpoint.VerifyProof(b, vs, checkpoint.ProofOptions{})
		if err != nil {
			bad(pp, "%v", err)
			continue
		}
		chainDir := filepath.ToSlash(filepath.Dir(filepath.Dir(pp)))
		key := [2]string{fmt.Sprint(v.Checkpoint.Size), v.Checkpoint.Root.String()}
		if !signed[chainDir][key] {
			bad(pp, "its checkpoint (%d records) is not among the checkpoints of %s", v.Checkpoint.Size, chainDir)
			continue
		}
		c.Proofs++
	}
	return c, nil
}

// storedCheckpoints returns the size and root of each checkpoint in a
// checkpoint file (signatures are checked by the proofs that use them).
func storedCheckpoints(p string) map[[2]string]bool {
	out := map[[2]string]bool{}
	f, err := fsutil.OpenFile(p, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, checkpoint.MaxEntrySize+1)
	for sc.Scan() {
		var e struct {
			Note string `json:"note"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if ck, err := checkpoint.Unverified([]byte(e.Note)); err == nil {
			out[[2]string{fmt.Sprint(ck.Size), ck.Root.String()}] = true
		}
	}
	return out
}

// rejectLink reports a symbolic link at p as a problem of rel.
func rejectLink(p, rel string, bad func(string, string, ...any)) bool {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		bad(rel, "a symbolic link, which a bundle never holds")
		return true
	}
	return false
}

func readReason(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	return "cannot be read: " + fsutil.WithoutPath(err).Error()
}
