package drill

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/brain-dev/brain/internal/fsutil"
)

// MaxDrills is the most drills one run reads.
const MaxDrills = 1000

// LoadError holds every problem Load found; nothing was run.
type LoadError struct{ Errs []error }

func (e *LoadError) Error() string {
	s := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads the drills that paths name, in order: a file is one drill; a
// directory's drills are its *.md files, by name, not recursing. In a
// directory a symbolic link, a named pipe or anything but a regular file is
// refused, never followed or opened: a link planted among the drills could
// make brain-drill run a file from anywhere. A file named on the command
// line is the user's choice and may be a link, but never a pipe or device.
// Every problem with every file is reported together, in a *LoadError;
// Load returns drills only when there is none, so that a bad file stops
// the run before anything of any drill runs.
func Load(paths []string) ([]*Drill, error) {
	var drills []*Drill
	var errs []error
	ids := map[string]string{}
	add := func(path string, follow bool) {
		if len(drills)+len(errs) >= MaxDrills {
			if len(drills)+len(errs) == MaxDrills {
				errs = append(errs, fmt.Errorf("more than %d drills in one run", MaxDrills))
			}
			return
		}
		d, err := readDrill(path, follow)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if first, dup := ids[d.ID]; dup {
			errs = append(errs, &ParseError{File: path, Msg: fmt.Sprintf("id %q is also the id of %s", d.ID, first)})
			return
		}
		ids[d.ID] = path
		drills = append(drills, d)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, fsutil.WithoutPath(err)))
			continue
		}
		if !fi.IsDir() {
			add(p, true)
			continue
		}
		names, err := drillFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range names {
			add(filepath.Join(p, n), false)
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	return drills, nil
}

// drillFiles lists the *.md entries of dir, sorted.
func drillFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, fsutil.WithoutPath(err))
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".md") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no drills in the directory (drills are its *.md files)", dir)
	}
	sort.Strings(names)
	return names, nil
}

// readDrill reads and parses one file, at most MaxFileBytes of it.
func readDrill(path string, follow bool) (*Drill, error) {
	flag := os.O_RDONLY
	if !follow {
		flag |= fsutil.NoFollow
	}
	f, err := fsutil.OpenFile(path, flag, 0)
	if err != nil {
		var se *fsutil.SymlinkError
		var ne *fsutil.NotRegularError
		switch {
		case errors.As(err, &se):
			return nil, &ParseError{File: path, Msg: "is a symbolic link, which is never followed in a directory of drills (name the file itself to run it)"}
		case errors.As(err, &ne):
			return nil, &ParseError{File: path, Msg: ne.Reason()}
		case errors.Is(err, fs.ErrNotExist):
			return nil, &ParseError{File: path, Msg: "no such file"}
		}
		return nil, &ParseError{File: path, Msg: fsutil.WithoutPath(err).Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &ParseError{File: path, Msg: fsutil.WithoutPath(err).Error()}
	}
	return Parse(path, data)
}
