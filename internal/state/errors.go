package state

import (
	"errors"
	"fmt"
)

var (
	// ErrNoKey reports that no state key was given, or that it is empty.
	ErrNoKey = errors.New("state: no state key: set " + KeyEnv + " or name a key file (mode 0600)")

	// ErrWrongKey reports that the database file does not decrypt with the key:
	// the key is wrong, or the file is not a state database encrypted by BRAIN.
	ErrWrongKey = errors.New("state: wrong state key, or the file is not an encrypted state database")

	// ErrNotDatabase reports a file that is plainly not an encrypted state
	// database: empty, not a whole number of 4 KiB blocks, an unencrypted
	// SQLite database, or an SQLite database of another application.
	ErrNotDatabase = errors.New("state: not an encrypted state database")

	// ErrSchemaTooNew reports a database written by a newer BRAIN whose schema
	// this build does not know.
	ErrSchemaTooNew = errors.New("state: database schema is newer than this program")

	// ErrNotFound reports that a plan or task does not exist.
	ErrNotFound = errors.New("state: not found")

	// ErrClosed reports use of a closed Store.
	ErrClosed = errors.New("state: store is closed")

	// ErrTxDone reports use of a Tx after its function returned.
	ErrTxDone = errors.New("state: transaction is over")
)

// AuditError reports that the audit record of a transition could not be
// written. The transition was rolled back: the state store is unchanged.
type AuditError struct {
	Err error
}

func (e *AuditError) Error() string {
	return "state: audit record not written, transition rolled back: " + e.Err.Error()
}

func (e *AuditError) Unwrap() error { return e.Err }

// CommitError reports that the audit record of a transition was written
// (sequence number Seq, hash Hash) but the state change could not be
// committed. The state store is unchanged and now lags the audit chain by
// this record; the chain is the source of truth.
type CommitError struct {
	Seq  uint64
	Hash string
	Err  error
}

func (e *CommitError) Error() string {
	return fmt.Sprintf("state: audit record seq %d written but the state change was not committed (the store lags the audit chain): %v", e.Seq, e.Err)
}

func (e *CommitError) Unwrap() error { return e.Err }

// TransitionError reports a task state change that the task state machine
// does not allow.
type TransitionError struct {
	PlanID   int64
	TaskID   string
	From, To TaskState
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("state: plan %d task %q: cannot go from %s to %s", e.PlanID, e.TaskID, e.From, e.To)
}
