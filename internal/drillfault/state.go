// Package drillfault is the fault tools drills call (brain-drill fault):
// a model provider stand-in that speaks the Gemini and OpenAI APIs, an
// OTLP endpoint that is down or never answers, a full disk (a small tmpfs),
// tampering with a chain record and killing a bulk append mid-write. The
// faults are real: servers on loopback that the real clients talk to, a real
// mount, real bytes changed, a real process killed.
//
// A fault that lasts (a server, a mount) is recorded in the drill's scratch
// directory ($DRILL_DIR/.drill/faults/NAME.json), so that the drill's
// rollback (brain-drill fault stop) and, after it, brain-drill itself
// (StopAll) can stop it. A server is a detached process of its own (a new
// session, so that the end of the step that started it does not end it)
// and exits by itself after its time to live.
package drillfault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/fsutil"
)

// The kinds of fault that last.
const (
	KindLLM  = "llm"
	KindOTLP = "otlp"
	KindDisk = "disk"
)

// State is a running fault, as recorded in the drill's scratch directory.
type State struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Mode      string `json:"mode,omitempty"`
	PID       int    `json:"pid,omitempty"`        // a server's process
	StartTime uint64 `json:"start_time,omitempty"` // its start time (/proc/PID/stat), so that a reused pid is never signalled
	Addr      string `json:"addr,omitempty"`       // a server's address, 127.0.0.1:PORT
	Control   string `json:"control,omitempty"`    // its control address
	Token     string `json:"token,omitempty"`      // the bearer token of its control address
	Mount     string `json:"mount,omitempty"`      // disk: the tmpfs's mount point
	Received  string `json:"received,omitempty"`   // otlp: the file of the spans it received
	Log       string `json:"log,omitempty"`        // a server's log
	Started   string `json:"started"`
}

// namePattern is what a fault's name may be.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// CheckName returns an error for a name a fault may not have.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("fault name %q: use 1 to 32 of a-z, 0-9, '.', '_' and '-'", name)
	}
	return nil
}

// Registry is the faults of one drill run: the files under its scratch
// directory.
type Registry struct{ Dir string } // the drill's scratch directory ($DRILL_DIR)

func (r Registry) dir() string             { return filepath.Join(r.Dir, drill.FaultsDir) }
func (r Registry) path(name string) string { return filepath.Join(r.dir(), name+".json") }

// NotFoundError reports a fault name with no running fault.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no fault named %q is running in this drill", e.Name)
}

// Get reads the state of the fault name.
func (r Registry) Get(name string) (*State, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	b, err := fsutil.ReadFile(r.path(name), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Name: name}
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil || st.Name != name {
		return nil, fmt.Errorf("%s: not a fault's state", r.path(name))
	}
	return &st, nil
}

// Put records st, atomically.
func (r Registry) Put(st *State) error {
	if err := fsutil.MkdirAllIn(r.Dir, drill.FaultsDir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(r.path(st.Name), append(b, '\n'), 0o600)
}

// Remove forgets the fault name.
func (r Registry) Remove(name string) error {
	err := os.Remove(r.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List returns every recorded fault, by name.
func (r Registry) List() ([]*State, error) {
	ents, err := os.ReadDir(r.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && namePattern.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []*State
	for _, n := range names {
		st, err := r.Get(n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// procStartTime returns the start time of process pid, in clock ticks since
// boot (field 22 of /proc/PID/stat): with the pid it names one process.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("unreadable /proc stat")
	}
	if f[0] == "Z" {
		return 0, fs.ErrNotExist // a zombie: it has exited
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the process st records is still the one running.
func (st *State) alive() bool {
	if st.PID <= 0 {
		return false
	}
	t, err := procStartTime(st.PID)
	return err == nil && t == st.StartTime
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }
