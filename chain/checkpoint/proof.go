package checkpoint

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	tnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// ProofHeader is the first line of a tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxProofSize bounds a proof: a record line of chain.MaxRecordSize in
// base64, 64 hashes and a signed checkpoint.
const MaxProofSize = 3*chain.MaxRecordSize/2 + 64*64 + MaxNoteSize + 1024

// Proof is a C2SP tlog-proof of one record: its index (the record's seq),
// the RFC 6962 inclusion proof into the tree of the checkpoint, the signed
// checkpoint, and as extra data the record's line (without its newline),
// so that the proof alone shows the event.
type Proof struct {
	Index      uint64
	Hashes     []Hash
	Checkpoint []byte
	Record     []byte
}

// Marshal returns the proof in the tlog-proof format.
func (p *Proof) Marshal() []byte {
	tp := proof.TLogProof{Index: p.Index, Checkpoint: p.Checkpoint, ExtraData: p.Record}
	for _, h := range p.Hashes {
		tp.Hashes = append(tp.Hashes, h)
	}
	return tp.Marshal()
}

// ParseProof parses a tlog-proof. It is strict: the proof must be exactly
// what Marshal writes (padded standard base64, an index without leading
// zeros, at most 64 hashes), with the extra line present.
func ParseProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("checkpoint: a proof of over %d bytes", MaxProofSize)
	}
	rest, ok := bytes.CutPrefix(b, []byte(ProofHeader+"\n"))
	if !ok {
		return nil, fmt.Errorf("checkpoint: not a tlog-proof: the first line is not %q", ProofHeader)
	}
	p := &Proof{}
	line, rest := cutLine(rest)
	extra, ok := strings.CutPrefix(line, "extra ")
	if !ok {
		return nil, errors.New("checkpoint: the proof has no extra line: it does not carry the record")
	}
	rec, err := base64.StdEncoding.Strict().DecodeString(extra)
	if err != nil {
		return nil, errors.New("checkpoint: the proof's extra line is not standard base64")
	}
	p.Record = rec
	line, rest = cutLine(rest)
	idx, ok := strings.CutPrefix(line, "index ")
	if !ok {
		return nil, errors.New("checkpoint: the proof has no index line")
	}
	if p.Index, err = parseSize(idx); err != nil {
		return nil, fmt.Errorf("checkpoint: the proof's index: %v", err)
	}
	if p.Hashes, rest, err = parseHashLines(rest); err != nil {
		return nil, err
	}
	p.Checkpoint = rest
	if !bytes.Equal(p.Marshal(), b) {
		return nil, errors.New("checkpoint: the proof is not in the canonical form")
	}
	return p, nil
}

// cutLine returns b's first line without its newline, and the rest.
func cutLine(b []byte) (string, []byte) {
	line, rest, _ := bytes.Cut(b, []byte{'\n'})
	return string(line), rest
}

// parseSize parses a decimal without leading zeros.
func parseSize(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not a decimal number without leading zeros", shortText(s))
	}
	return n, nil
}

// maxProofHashes bounds the hashes of a proof: a tree of 2^64 leaves
// needs at most 64 (a consistency proof, at most 2·64).
const maxProofHashes = 128

// parseHashLines parses lines of base64 hashes up to an empty line, and
// returns what follows it.
func parseHashLines(b []byte) ([]Hash, []byte, error) {
	var hs []Hash
	for {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		if !ok {
			return nil, nil, errors.New("checkpoint: the proof ends before the empty line and the checkpoint")
		}
		b = rest
		if len(line) == 0 {
			return hs, b, nil
		}
		if len(hs) == maxProofHashes {
			return nil, nil, fmt.Errorf("checkpoint: a proof of more than %d hashes", maxProofHashes)
		}
		h, err := ParseHash(string(line))
		if err != nil {
			return nil, nil, err
		}
		hs = append(hs, h)
	}
}

// ProofOptions configure VerifyProof and VerifyConsistency.
type ProofOptions struct {
	// Origin, when set, is the origin the checkpoint must have.
	Origin string
	// Witnesses are the witnesses whose cosignatures count (Ed25519
	// cosignature/v1 keys, c2sp.org/tlog-cosignature; ParseWitness).
	Witnesses []note.Verifier
	// MinWitnesses is how many of Witnesses must have cosigned the
	// checkpoint (0: all of them).
	MinWitnesses int
}

// Verified is what a verified proof shows.
type Verified struct {
	Checkpoint Checkpoint
	// Index is the record's seq; Record its line (inclusion proofs).
	Index  uint64
	Record []byte
	// Old is the checkpoint the log extends (consistency proofs).
	Old *Checkpoint
	// Cosigners names the witnesses of ProofOptions whose cosignature
	// verified.
	Cosigners []string
}

// ProofError reports a proof that does not prove what it claims.
type ProofError struct{ Reason string }

func (e *ProofError) Error() string { return "checkpoint: the proof does not verify: " + e.Reason }

// VerifyProof checks a tlog-proof offline, with nothing but the proof and
// the log's keys: the checkpoint is signed by a key of vs (and cosigned as
// opts asks), the record in the extra line is a record whose seq is the
// index, and the inclusion proof leads from the record's leaf hash to the
// checkpoint's root. A proof that fails is a *ProofError (or a
// *SignatureError for the signature).
func VerifyProof(b []byte, vs note.Verifiers, opts ProofOptions) (*Verified, error) {
	p, err := ParseProof(b)
	if err != nil {
		return nil, err
	}
	c, err := openWith(p.Checkpoint, vs, opts)
	if err != nil {
		return nil, err
	}
	v := &Verified{Checkpoint: c.c, Index: p.Index, Record: p.Record, Cosigners: c.cosigners}
	if p.Index >= c.c.Size {
		return nil, &ProofError{Reason: fmt.Sprintf("index %d is not in a log of %d records", p.Index, c.c.Size)}
	}
	sc := chain.NewScanner(bytes.NewReader(append(p.Record[:len(p.Record):len(p.Record)], '\n')))
	if bytes.IndexByte(p.Record, '\n') >= 0 || !sc.Scan() || sc.LineErr() != nil {
		return nil, &ProofError{Reason: "the extra data is not one audit chain record"}
	}
	if seq := sc.Record().Seq; seq != p.Index {
		return nil, &ProofError{Reason: fmt.Sprintf("the record is seq %d, not %d as the index says", seq, p.Index)}
	}
	leaf := LeafHash(p.Record)
	if err := mproof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, c.c.Size, leaf[:], hashSlices(p.Hashes), c.c.Root[:]); err != nil {
		return nil, &ProofError{Reason: fmt.Sprintf("the inclusion proof of record %d does not lead to the checkpoint's root: %v", p.Index, err)}
	}
	return v, nil
}

func hashSlices(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// opened is a checkpoint opened with a log's keys and witnesses.
type opened struct {
	c         Checkpoint
	cosigners []string
}

// openWith opens a signed checkpoint with the log's keys vs and checks its
// origin and cosignatures as opts asks.
func openWith(msg []byte, vs note.Verifiers, opts ProofOptions) (*opened, error) {
	c, _, err := Open(msg, vs)
	if err != nil {
		return nil, err
	}
	if opts.Origin != "" && c.Origin != opts.Origin {
		return nil, &ProofError{Reason: fmt.Sprintf("the checkpoint's origin is %q, not %q", shortText(c.Origin), shortText(opts.Origin))}
	}
	o := &opened{c: c}
	if len(opts.Witnesses) == 0 {
		return o, nil
	}
	for _, w := range opts.Witnesses {
		if n, err := note.Open(msg, note.VerifierList(w)); err == nil && len(n.Sigs) > 0 {
			o.cosigners = append(o.cosigners, w.Name())
		}
	}
	need := opts.MinWitnesses
	if need <= 0 {
		need = len(opts.Witnesses)
	}
	if len(o.cosigners) < need {
		return nil, &ProofError{Reason: fmt.Sprintf("the checkpoint is cosigned by %d of the witnesses given, %d needed", len(o.cosigners), need)}
	}
	return o, nil
}

// ParseWitness returns the verifier of a witness's cosignatures from its
// verifier key (an Ed25519 cosignature/v1 key, signature type 0x04, as
// litewitness prints it; an Ed25519 key of type 0x01 is taken as the same
// key's cosignature key).
func ParseWitness(vkey string) (note.Verifier, error) {
	v, err := tnote.NewVerifierForCosignatureV1(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: not a witness verifier key (want NAME+HASH+KEY): %v", err)
	}
	return v, nil
}

// LatestOptions select the stored checkpoint a proof is made against.
type LatestOptions struct {
	// Verifiers, when set, take only checkpoints signed by one of them.
	Verifiers note.Verifiers
	// Size, when not 0, takes the last checkpoint of that size.
	Size uint64
}

// Stored is a checkpoint of a checkpoint file.
type Stored struct {
	Checkpoint Checkpoint
	Note       []byte
	Line       int64
}

// Latest returns the last checkpoint of the checkpoint file at path that
// opts selects (signed notes with a checkpoint text; with Verifiers, signed
// by one of them).
func Latest(path string, opts LatestOptions) (*Stored, error) {
	var last *Stored
	err := readLocked(path, func(sl storeLine) error {
		if sl.data == nil {
			return nil
		}
		e, err := parseEntry(sl.data)
		if err != nil {
			return nil
		}
		var c Checkpoint
		if opts.Verifiers != nil {
			if c, _, err = Open(e.Note, opts.Verifiers); err != nil {
				return nil
			}
		} else if c, err = Unverified(e.Note); err != nil {
			return nil
		}
		if opts.Size == 0 || c.Size == opts.Size {
			last = &Stored{Checkpoint: c, Note: e.Note, Line: sl.line}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if last == nil {
		what := "no checkpoint"
		if opts.Size != 0 {
			what = fmt.Sprintf("no checkpoint of size %d", opts.Size)
		}
		if opts.Verifiers != nil {
			what += " signed by the key given"
		}
		return nil, fmt.Errorf("checkpoint: %s in %s ('brain-audit checkpoint' writes one)", what, path)
	}
	return last, nil
}

// Unverified returns the checkpoint of a signed note without checking its
// signatures (the note text is what precedes the last empty line): for
// choosing a checkpoint, never for trusting one.
func Unverified(msg []byte) (Checkpoint, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("checkpoint: not a signed note")
	}
	return ParseCheckpoint(msg[:i+1])
}

// pass verifies the chain whose active file is active and builds its tree
// in the same pass, keeping the nodes wanted and the line of leaf keep
// (-1: none). At the size of each checkpoint of checks, the chain's root
// must be that checkpoint's: the chain must still be the log they signed
// (a *RefusedError otherwise).
func pass(ctx context.Context, active string, checks []Checkpoint, wanted []compact.NodeID, keep int64, workers int) (*tree, *chain.Report, error) {
	var targets []uint64
	for _, c := range checks {
		targets = append(targets, c.Size)
	}
	t := newTree(nil, targets, wanted)
	t.keep = keep
	rep, err := chain.VerifyFile(ctx, active, chain.VerifyOptions{Workers: workers, Lines: t})
	if err != nil {
		return nil, nil, err
	}
	for _, c := range checks {
		if t.size() < c.Size {
			return nil, rep, &RefusedError{Reason: fmt.Sprintf("%s has %d records, fewer than the %d of the checkpoint: its tail was cut", active, t.size(), c.Size), Findings: rep.Findings}
		}
		if got, ok := t.root(c.Size); !ok || got != c.Root {
			return nil, rep, &RefusedError{Reason: fmt.Sprintf("%s does not match the checkpoint of size %d: records it covers were changed", active, c.Size), Findings: rep.Findings}
		}
	}
	for i := range wanted {
		if _, ok := t.node(i); !ok {
			return nil, rep, fmt.Errorf("checkpoint: internal error: node %v of the proof was not computed (the chain has %d records)", wanted[i], t.size())
		}
	}
	return t, rep, nil
}

// proofHashes returns the proof of nodes from the tree's wanted nodes.
func proofHashes(t *tree, nodes mproof.Nodes) ([]Hash, error) {
	hs := make([][]byte, len(nodes.IDs))
	for i := range nodes.IDs {
		h, _ := t.node(i)
		hs[i] = h[:]
	}
	out, err := nodes.Rehash(hs, hashChildren)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	res := make([]Hash, len(out))
	for i := range out {
		res[i] = Hash(out[i])
	}
	return res, nil
}

// Prove returns a tlog-proof of the record whose seq is index in the chain
// whose active file is active, against the stored checkpoint c. The chain
// is verified as it is hashed; it must match c (a *RefusedError otherwise).
// The report of its verification is returned too: a proof of a record that
// c covers holds even when records after c's size do not verify.
func Prove(ctx context.Context, active string, index uint64, c *Stored, workers int) (*Proof, *chain.Report, error) {
	if index >= c.Checkpoint.Size {
		return nil, nil, &RefusedError{Reason: fmt.Sprintf("record %d is not covered by the checkpoint, of %d records (run 'brain-audit checkpoint' first)", index, c.Checkpoint.Size)}
	}
	nodes, err := mproof.Inclusion(index, c.Checkpoint.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %v", err)
	}
	t, rep, err := pass(ctx, active, []Checkpoint{c.Checkpoint}, nodes.IDs, int64(index), workers)
	if err != nil {
		return nil, rep, err
	}
	hs, err := proofHashes(t, nodes)
	if err != nil {
		return nil, rep, err
	}
	return &Proof{Index: index, Hashes: hs, Checkpoint: c.Note, Record: t.kept}, rep, nil
}

// readAllLimited reads r up to max bytes; more is an error.
func readAllLimited(r io.Reader, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, fmt.Errorf("over %d bytes", max)
	}
	return b, nil
}
