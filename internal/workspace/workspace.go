// Package workspace is a BRAIN workspace: the directory (.brain by
// default) where brain-run keeps its audit chain, spans, state store and
// the rest, the names of everything in it, where a command finds it, and
// the check every command makes before it reads or writes there
// (docs/brain-run.md, "Workspace"). Every package names workspace files
// through it, so a name is defined once and the check knows every one.
package workspace

import (
	"path/filepath"

	"github.com/brain-dev/brain/chain"
)

// DefaultDir is the name of the workspace directory brain-run looks for.
const DefaultDir = ".brain"

// The names at the top of a workspace.
const (
	AuditFile    = "audit.jsonl"   // the audit chain (package chain); rotated files beside it
	SpansFile    = "spans.jsonl"   // the spans, OTLP JSON, one batch a line
	FlushState   = "spans.flushed" // what brain-run flush delivered
	UnsafeIODir  = "unsafe-io"     // raw prompts and replies, with --dev-log-unsafe-io only
	StateFile    = "state.db"      // the state store (package state)
	ExecuteLock  = "execute.lock"  // held by execute (package orchestrator)
	ArtifactsDir = "artifacts"     // the tasks' artifacts (package orchestrator)
	StateKeyFile = "state.key"     // demo's generated state key
)

// Dir is a workspace directory; its methods name the files in it.
type Dir string

// Path is name in the workspace.
func (d Dir) Path(name string) string { return filepath.Join(string(d), name) }

// Audit is the workspace's audit chain.
func (d Dir) Audit() string { return d.Path(AuditFile) }

// Spans is the workspace's spans file.
func (d Dir) Spans() string { return d.Path(SpansFile) }

// State is the workspace's state database.
func (d Dir) State() string { return d.Path(StateFile) }

// entries are the names brain-run creates or opens at the top of its
// workspace, each a regular file, or a directory when dir is set. Rotated
// chain files are opened by the chain without following links and written
// only by rename; temporary files are created O_EXCL under random names.
var entries = []struct {
	name string
	dir  bool
}{
	{AuditFile, false},
	{AuditFile + ".lock", false},
	{AuditFile + chain.CheckpointsSuffix, false},
	{AuditFile + chain.CheckpointsSuffix + ".state", false},
	{SpansFile, false},
	{SpansFile + ".sent", false},
	{FlushState, false},
	{FlushState + ".lock", false},
	{StateFile, false},
	{StateFile + "-wal", false},
	{StateFile + "-shm", false},
	{StateFile + "-journal", false},
	{ExecuteLock, false},
	{StateKeyFile, false},
	{ArtifactsDir, true},
	{UnsafeIODir, true},
}

// Within reports whether path is root or below it (both absolute or both
// relative to one directory).
func Within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !(len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator))
}
