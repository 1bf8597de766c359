package drill

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Requirement is something a drill needs of the machine it runs on. A
// drill whose requirement is not met is not run (verdict not-run), and the
// summary says why.
type Requirement struct {
	Name string // "root", "tmpfs", "linux" or "command:PROGRAM"
	Line int    // its line in the drill file
}

// requirementList names the requirements for messages.
const requirementList = "root, tmpfs, linux, command:PROGRAM"

// ParseRequirement parses one entry of the requires key.
func ParseRequirement(s string) (Requirement, error) {
	switch {
	case s == "root", s == "tmpfs", s == "linux":
		return Requirement{Name: s}, nil
	case strings.HasPrefix(s, "command:"):
		prog := strings.TrimPrefix(s, "command:")
		if prog == "" || strings.ContainsAny(prog, "/ \t") {
			return Requirement{}, fmt.Errorf("%q: want command:PROGRAM, a program name looked up on PATH", s)
		}
		return Requirement{Name: s}, nil
	}
	return Requirement{}, fmt.Errorf("unknown requirement %q (%s)", s, requirementList)
}

// Host is what requirements are checked against. Its zero value checks
// nothing but the fields it is given; NewHost fills it from the process.
type Host struct {
	EUID int
	GOOS string
	// LookPath finds a program on the PATH the drill's steps get.
	LookPath func(prog string) (string, error)
	// CanMountTmpfs mounts and unmounts a small tmpfs to see whether this
	// process may; it is called only for the tmpfs requirement.
	CanMountTmpfs func() error
}

// NewHost returns the Host of this process, looking programs up in path
// (the PATH of the drill's steps).
func NewHost(path string) Host {
	return Host{
		EUID: os.Geteuid(),
		GOOS: runtime.GOOS,
		LookPath: func(prog string) (string, error) {
			for _, dir := range strings.Split(path, string(os.PathListSeparator)) {
				if dir == "" {
					dir = "."
				}
				p := dir + string(os.PathSeparator) + prog
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
					return p, nil
				}
			}
			return "", exec.ErrNotFound
		},
		CanMountTmpfs: probeTmpfs,
	}
}

// Unmet returns why r is not met on h, or "" when it is.
func (h Host) Unmet(r Requirement) string {
	switch {
	case r.Name == "root":
		if h.EUID != 0 {
			return fmt.Sprintf("requires root (running as uid %d)", h.EUID)
		}
	case r.Name == "linux":
		if h.GOOS != "linux" {
			return "requires linux (running on " + h.GOOS + ")"
		}
	case r.Name == "tmpfs":
		if h.CanMountTmpfs == nil {
			return "requires mounting a tmpfs (not checked)"
		}
		if err := h.CanMountTmpfs(); err != nil {
			return fmt.Sprintf("requires mounting a tmpfs (%v)", err)
		}
	case strings.HasPrefix(r.Name, "command:"):
		prog := strings.TrimPrefix(r.Name, "command:")
		if h.LookPath == nil {
			return "requires " + prog + " (not checked)"
		}
		if _, err := h.LookPath(prog); err != nil {
			return "requires " + prog + " on PATH (not found)"
		}
	default:
		return "unknown requirement " + r.Name
	}
	return ""
}

// Unmet returns why d cannot run on h: one reason per unmet requirement,
// in the order the file lists them; none when it can run.
func (d *Drill) Unmet(h Host) []string {
	var out []string
	for _, r := range d.Requires {
		if why := h.Unmet(r); why != "" {
			out = append(out, why)
		}
	}
	return out
}
