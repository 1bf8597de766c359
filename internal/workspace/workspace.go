// Package workspace finds a BRAIN workspace (a .brain directory) as git
// finds a repository: in the working directory or the nearest parent. Both
// brain-run (its workspace) and brain-audit (the chain of the workspace,
// when no chain is named) use it.
package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DefaultDir is the name of a workspace directory.
const DefaultDir = ".brain"

// Skipped is a workspace directory of another user that Find passed over.
type Skipped struct {
	Path string
	UID  uint32
}

// Find returns the nearest DefaultDir directory of uid in wd or a parent of
// it, "" if there is none, and the ones of other users it passed (one may
// have been planted in a shared directory such as /tmp).
func Find(wd string, uid int) (string, []Skipped) {
	var skipped []Skipped
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, DefaultDir)
		fi, err := os.Stat(cand)
		switch {
		case err == nil && fi.IsDir():
			o, ok := owner(fi)
			if !ok || int(o) == uid {
				return cand, skipped
			}
			skipped = append(skipped, Skipped{cand, o})
		case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			// Unreadable (a parent without search permission): stop
			// here rather than guess past it.
			return "", skipped
		}
		if filepath.Dir(d) == d {
			return "", skipped
		}
	}
}

// Within reports whether path is root or below it (both absolute or both
// relative to one directory).
func Within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !(len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator))
}
