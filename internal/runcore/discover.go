package runcore

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/brain-dev/brain/internal/cli"
)

// DefaultDir is the name of the workspace directory brain-run looks for.
const DefaultDir = ".brain"

// ResolveDir settles r.Dir, the workspace. A --dir on the command line or
// BRAIN_DIR in the environment is used as given. Otherwise, as git finds
// its repository, the nearest DefaultDir in the working directory or one of
// its parents is the workspace, and when there is none, ./.brain (which a
// command that writes creates). A workspace found in a parent is named on
// stderr through p, so that the user knows which one a command uses. A
// DefaultDir that belongs to another user is passed over with a warning:
// it may have been planted in a shared directory such as /tmp.
func (r *Flags) ResolveDir(p *cli.Printer) {
	if r.resolved {
		return
	}
	r.resolved = true
	explicit := false
	if r.fs != nil {
		r.fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "dir" })
	}
	if explicit || r.Dir != DefaultDir {
		return
	}
	wd, err := os.Getwd()
	if err != nil {
		return
	}
	dir, skipped := findWorkspace(wd, os.Geteuid())
	for _, s := range skipped {
		p.Warnf("passing over %s: it belongs to another user (uid %d)", s.path, s.uid)
	}
	if dir == "" || filepath.Dir(dir) == wd {
		return // ./.brain, named as the user would
	}
	p.Infof("workspace %s", dir)
	r.Dir = dir
}

type skippedDir struct {
	path string
	uid  uint32
}

// findWorkspace returns the nearest DefaultDir directory of uid in wd or a
// parent of it, "" if there is none, and the ones of other users it passed.
func findWorkspace(wd string, uid int) (string, []skippedDir) {
	var skipped []skippedDir
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, DefaultDir)
		fi, err := os.Stat(cand)
		switch {
		case err == nil && fi.IsDir():
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok || int(st.Uid) == uid {
				return cand, skipped
			}
			skipped = append(skipped, skippedDir{cand, st.Uid})
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
