// Package drill reads and runs outage drills: Markdown run-books whose
// fenced shell blocks are the drill's steps (docs/drill-format.md).
//
// Parse reads one drill file strictly: YAML front matter with known keys
// only, and step blocks whose info string is "sh drill=PHASE". Load reads
// files and directories, never following a symbolic link planted in a
// directory. A Runner runs a drill's life cycle (setup, steady state,
// inject, detect, investigate, recover, steady state again, rollback) and
// measures its time to detect and to recover; the results go into a
// Journal (JSON), a JUnit report and a summary table.
//
// Everything a drill file can make brain-drill itself do is bounded: the
// file's size, the number and size of its blocks, the output kept of each
// block, and the time each phase may take.
package drill

import (
	"fmt"
	"strings"
	"time"
)

// FormatVersion is the drill format this package reads (docs/drill-format.md).
const FormatVersion = "brain-drill/1"

// Phase is a step's place in the drill's life cycle.
type Phase string

// The phases, in the order they run.
const (
	Setup       Phase = "setup"       // prepare what the drill runs against, once
	Steady      Phase = "steady"      // the steady-state probe: before inject, and polled after recover
	Inject      Phase = "inject"      // inject the fault; T0 is when the last inject block ends
	Detect      Phase = "detect"      // probes, polled until they all pass (TTD)
	Investigate Phase = "investigate" // the run-book's investigation commands, once
	Recover     Phase = "recover"     // the run-book's recovery commands, once; then steady is polled (TTR)
	Rollback    Phase = "rollback"    // undo the fault, always once inject has started
)

// Phases lists every phase in life-cycle order.
var Phases = []Phase{Setup, Steady, Inject, Detect, Investigate, Recover, Rollback}

// Valid reports whether p is one of Phases.
func (p Phase) Valid() bool {
	for _, q := range Phases {
		if p == q {
			return true
		}
	}
	return false
}

// Severities are the values of the severity key, least severe first.
var Severities = []string{"low", "medium", "high", "critical"}

// The limits on what a drill file may hold. A file over any of them is an
// error naming the limit; nothing of it runs.
const (
	MaxFileBytes        = 1 << 20  // a drill file
	MaxFrontMatterBytes = 64 << 10 // its front matter
	MaxBlocks           = 256      // step blocks in one file
	MaxBlockBytes       = 64 << 10 // one step block's script
	MaxWithin           = 24 * time.Hour
	MaxPhaseLimit       = 24 * time.Hour
	MaxErrors           = 20 // parse errors reported per file
)

// DefaultLimits are the time limits of the phases that are not bounded by
// detect_within or recover_within: the most all of a phase's blocks may
// take together. The front matter's limits key overrides them.
var DefaultLimits = map[Phase]time.Duration{
	Setup:       2 * time.Minute,
	Steady:      time.Minute,
	Inject:      time.Minute,
	Investigate: 2 * time.Minute,
	Rollback:    time.Minute,
}

// WindowFactor is how many times detect_within (recover_within) the detect
// probes (the steady probes after recover) are polled before the drill
// gives up on them.
const WindowFactor = 3

// PollInterval is the most time between the start of two rounds of polled
// probes.
const PollInterval = 100 * time.Millisecond

// Drill is one parsed drill file.
type Drill struct {
	File          string // the path it was read from, as given
	SHA256        string // of the file's bytes
	Format        string // FormatVersion
	ID            string
	Title         string
	Severity      string
	DetectWithin  time.Duration
	RecoverWithin time.Duration
	Requires      []Requirement
	Limits        map[Phase]time.Duration // every phase but detect and recover
	Blocks        []Block                 // every step block, in file order
	Sections      []Section               // the Markdown headings
	Warnings      []*ParseError           // what a run-book should have and this one lacks
}

// Block is one step: a fenced shell block of the file.
type Block struct {
	Phase   Phase
	Name    string        // name=, or "PHASE-N" (N counts the phase's blocks from 1)
	Line    int           // line of the opening fence
	Script  string        // the block's text, run by bash -euo pipefail
	Timeout time.Duration // timeout=; 0 when the phase's limit alone applies
}

// Where returns "FILE:LINE" of the block's opening fence in d.
func (b Block) Where(d *Drill) string { return fmt.Sprintf("%s:%d", d.File, b.Line) }

// Section is a Markdown heading.
type Section struct {
	Level int
	Title string
	Line  int
}

// PhaseBlocks returns the blocks of phase p, in file order.
func (d *Drill) PhaseBlocks(p Phase) []Block {
	var out []Block
	for _, b := range d.Blocks {
		if b.Phase == p {
			out = append(out, b)
		}
	}
	return out
}

// Limit returns the time limit of phase p: the detect window for Detect,
// the recovery window (recover blocks and the steady probes after them)
// for Recover, else the phase's limit.
func (d *Drill) Limit(p Phase) time.Duration {
	switch p {
	case Detect:
		return WindowFactor * d.DetectWithin
	case Recover:
		return WindowFactor * d.RecoverWithin
	}
	if l, ok := d.Limits[p]; ok {
		return l
	}
	return DefaultLimits[p]
}

// RequiredSections are the run-book sections a responder reads; a drill
// without one of them gets a warning.
var RequiredSections = []string{"Symptoms", "Detect", "Investigate", "Recover"}

// ParseError is a problem in a drill file, at a line (0: the whole file).
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// FileError holds every problem found in one drill file (at most MaxErrors).
type FileError struct {
	File   string
	Errors []*ParseError
	More   int // problems found beyond MaxErrors
}

func (e *FileError) Error() string {
	var b strings.Builder
	for i, pe := range e.Errors {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(pe.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n%s: %d more problems", e.File, e.More)
	}
	return b.String()
}
