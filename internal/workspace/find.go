package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Skipped is a workspace Find passed over: another user's.
type Skipped struct {
	Path string
	UID  uint32
}

// Find returns the nearest DefaultDir directory of uid in wd or a
// parent of it, "" if there is none, and the ones of other users it passed
// (one may have been planted in a shared directory such as /tmp). Where
// files have no owner (Windows) the nearest is taken. brain-audit looks
// up a workspace's chain this way on every system.
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
