package runcore

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/workspace"
)

// ResolveDir settles r.Dir, the workspace. A --dir on the command line or
// BRAIN_DIR in the environment is used as given. Otherwise, as git finds
// its repository, the nearest workspace.DefaultDir in the working directory or one of
// its parents is the workspace, and when there is none, ./.brain (which a
// command that writes creates). A workspace found in a parent is named on
// stderr through p, so that the user knows which one a command uses. A
// workspace.DefaultDir that belongs to another user is passed over with a warning:
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
	if explicit || r.Dir != workspace.DefaultDir {
		return
	}
	wd, err := os.Getwd()
	if err != nil {
		return
	}
	dir, skipped := workspace.Find(wd, os.Geteuid())
	for _, s := range skipped {
		p.Warnf("passing over %s: it belongs to another user (uid %d)", s.Path, s.UID)
	}
	if dir == "" || filepath.Dir(dir) == wd {
		return // ./.brain, named as the user would
	}
	p.Infof("workspace %s", dir)
	r.Dir = dir
}
