package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// Consistency is a proof that the log at a checkpoint extends the log at an
// older size: the RFC 6962 consistency proof from the old size to the
// checkpoint's. Its form is the body of a C2SP tlog-witness add-checkpoint
// request, so that a witness takes it as it is:
//
//	old 20
//	<base64 hash>
//	…
//
//	<the newer signed checkpoint>
type Consistency struct {
	Old        uint64
	Hashes     []Hash
	Checkpoint []byte
}

// Marshal returns the proof.
func (p *Consistency) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", p.Old)
	for _, h := range p.Hashes {
		b.WriteString(h.String() + "\n")
	}
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseConsistency parses a consistency proof, strictly (only the form
// Marshal writes).
func ParseConsistency(b []byte) (*Consistency, error) {
	if len(b) > 128*64+MaxNoteSize {
		return nil, errors.New("checkpoint: a consistency proof of over 72 KiB")
	}
	line, rest := cutLine(b)
	old, ok := bytes.CutPrefix([]byte(line), []byte("old "))
	if !ok {
		return nil, errors.New("checkpoint: not a consistency proof: the first line is not \"old SIZE\"")
	}
	p := &Consistency{}
	var err error
	if p.Old, err = parseSize(string(old)); err != nil {
		return nil, fmt.Errorf("checkpoint: the proof's old size: %v", err)
	}
	if p.Hashes, p.Checkpoint, err = parseHashLines(rest); err != nil {
		return nil, err
	}
	if !bytes.Equal(p.Marshal(), b) {
		return nil, errors.New("checkpoint: the consistency proof is not in the canonical form")
	}
	return p, nil
}

// ProveConsistency returns the proof that the log at the signed checkpoint
// newer extends the log at older, from the chain whose active file is
// active, which must match both (a *RefusedError otherwise).
func ProveConsistency(ctx context.Context, active string, older Checkpoint, newer *Stored, workers int) (*Consistency, *chain.Report, error) {
	n := newer.Checkpoint
	switch {
	case older.Origin != n.Origin:
		return nil, nil, &RefusedError{Reason: fmt.Sprintf("the checkpoints are of two logs: origins %q and %q", older.Origin, n.Origin)}
	case older.Size > n.Size:
		return nil, nil, &RefusedError{Reason: fmt.Sprintf("the old checkpoint (size %d) is larger than the new one (size %d)", older.Size, n.Size)}
	case older.Size == n.Size && older.Root != n.Root:
		return nil, nil, &RefusedError{Reason: fmt.Sprintf("two checkpoints of size %d with different roots: a fork", n.Size)}
	}
	p := &Consistency{Old: older.Size, Checkpoint: newer.Note}
	nodes, err := mproof.Consistency(older.Size, n.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %v", err)
	}
	checks := []Checkpoint{n}
	if older.Size > 0 {
		checks = append(checks, older)
	}
	t, rep, err := pass(ctx, active, checks, nodes.IDs, -1, workers)
	if err != nil {
		return nil, rep, err
	}
	if p.Hashes, err = proofHashes(t, nodes); err != nil {
		return nil, rep, err
	}
	return p, rep, nil
}

// consistencyHashes returns the consistency proof from size old to the
// checkpoint newer, from the chain, which must match newer; the root at old
// is not known to the caller (a witness checks it).
func consistencyHashes(ctx context.Context, active string, old uint64, newer Checkpoint, workers int) ([]Hash, error) {
	nodes, err := mproof.Consistency(old, newer.Size)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	if len(nodes.IDs) == 0 {
		return nil, nil
	}
	t, _, err := pass(ctx, active, []Checkpoint{newer}, nodes.IDs, -1, workers)
	if err != nil {
		return nil, err
	}
	return proofHashes(t, nodes)
}

// VerifyConsistency checks a consistency proof offline: its checkpoint and
// older (the signed checkpoint the proof starts from, which the verifier
// kept) are signed by keys of vs, of one origin, older's size is the
// proof's old size, and the proof leads from older's root to the newer
// root. A proof that fails is a *ProofError (or a *SignatureError).
func VerifyConsistency(b, older []byte, vs note.Verifiers, opts ProofOptions) (*Verified, error) {
	p, err := ParseConsistency(b)
	if err != nil {
		return nil, err
	}
	nc, err := openWith(p.Checkpoint, vs, opts)
	if err != nil {
		return nil, err
	}
	oc, _, err := Open(older, vs)
	if err != nil {
		return nil, fmt.Errorf("the old checkpoint: %w", err)
	}
	n, o := nc.c, oc
	switch {
	case o.Origin != n.Origin:
		return nil, &ProofError{Reason: fmt.Sprintf("the checkpoints are of two logs: origins %q and %q", shortText(o.Origin), shortText(n.Origin))}
	case o.Size != p.Old:
		return nil, &ProofError{Reason: fmt.Sprintf("the proof starts at size %d, the old checkpoint is of size %d", p.Old, o.Size)}
	case o.Size > n.Size:
		return nil, &ProofError{Reason: fmt.Sprintf("the old checkpoint (size %d) is larger than the new one (%d)", o.Size, n.Size)}
	}
	if err := mproof.VerifyConsistency(rfc6962.DefaultHasher, o.Size, n.Size, hashSlices(p.Hashes), o.Root[:], n.Root[:]); err != nil {
		return nil, &ProofError{Reason: fmt.Sprintf("the log at size %d does not extend the log at size %d: %v", n.Size, o.Size, err)}
	}
	return &Verified{Checkpoint: n, Old: &o, Cosigners: nc.cosigners}, nil
}
