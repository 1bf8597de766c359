package chain

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A LineSink receives the lines of a chain in order, as verification reads
// them (VerifyOptions.Lines), so that a caller can compute over the exact
// bytes verified in the same pass: package chain/checkpoint builds the
// chain's Merkle tree this way.
//
// The lines are every line of every file of the chain, header lines
// included, oldest first; in a chain that verifies, line i is the record
// whose seq is i. A torn final line (part of a record, TornTail) is not a
// line: it is never given. A final record without its newline is given
// with one.
type LineSink interface {
	// Lines receives whole lines, each ending in "\n", in order. data is
	// valid only during the call; the sink must not keep or modify it.
	Lines(data []byte)
	// Skip counts a line that verification does not hold in memory (one
	// over MaxRecordSize, which is never a record): its bytes are not given.
	Skip()
}

// feed gives the lines of j, which the sequencer has just checked, to the
// sink of VerifyOptions.Lines.
func (s *sequencer) feed(j *job) {
	switch {
	case s.sink == nil:
	case j.special != nil && j.special.status == lineTorn:
	case j.data == nil:
		s.sink.Skip()
	default:
		s.sink.Lines(j.data)
	}
}

// CheckpointsSuffix ends the name of the file of signed checkpoints kept
// beside a chain's active file (package chain/checkpoint): audit.jsonl has
// audit.jsonl.checkpoints, and the state its writer keeps,
// audit.jsonl.checkpoints.state. Discover never takes either for a chain.
const CheckpointsSuffix = ".checkpoints"

// isCheckpointFile reports whether path is a chain's checkpoint file or the
// state of its writer.
func isCheckpointFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasSuffix(base, CheckpointsSuffix) || strings.HasSuffix(base, CheckpointsSuffix+".state")
}

// Quarantine copies what r holds, durably, to a new quarantine file beside
// path, named as Repair names its own (PATH.quarantine-<UTC timestamp>),
// and returns its name: the checkpoint file's repair keeps a torn line
// the same way.
func Quarantine(path string, now time.Time, r io.Reader) (string, error) {
	name := quarantineName(path, now)
	return name, writeQuarantine(name, r)
}

// ReadLock takes the shared lock that verification takes on the chain whose
// active file is active, when its lock file exists, and returns its
// release: the chain's files snapshotted under it hold whole appends only.
func ReadLock(active string) (unlock func()) { return localFS{}.lockShared(active) }

// SyncData makes f's data durable as the chain's own appends are made
// durable (fdatasync on Linux, F_FULLFSYNC on macOS, fsync on the BSDs):
// the checkpoint writer syncs its file this way.
func SyncData(f *os.File) error { return datasync(f) }

// Writable returns nil when this system may write a chain and the files
// kept beside it, or why not: Windows has no flock to serialise writers
// (Open refuses there). The checkpoint writer asks before it creates a
// file.
func Writable() error { return writable() }
