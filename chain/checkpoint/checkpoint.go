// Package checkpoint signs and verifies checkpoints of BRAIN audit chains
// and proves one record of a chain, or that one checkpoint extends another,
// without the chain.
//
// A checkpoint is a C2SP tlog-checkpoint: the RFC 6962 Merkle tree over the
// chain's record lines in seq order (leaf i is the line whose seq is i,
// without its newline; leaf hash SHA-256(0x00 || line), interior
// SHA-256(0x01 || left || right)), as the note text
//
//	brain-audit/0123456789abcdef0123456789abcdef
//	42
//	ugYnUqBbOV0qHSn2mh0NWXt0LpFytkLFwu7l4j7VyK4=
//
// (origin, tree size, base64 root hash) signed as a C2SP signed note with an
// Ed25519 key in the golang.org/x/mod/sumdb/note format. The checkpoints of
// a chain are kept, in order, one JSON object a line, in the file beside its
// active file named with chain.CheckpointsSuffix (audit.jsonl.checkpoints).
// A proof of one record is a C2SP tlog-proof whose extra data is the record's
// line; a consistency proof is the body of a C2SP tlog-witness add-checkpoint
// request. docs/checkpoints.md specifies all of it, with test vectors in
// chain/checkpoint/testdata/vectors.json.
//
// The tree is computed with github.com/transparency-dev/merkle, notes are
// signed and opened with golang.org/x/mod/sumdb/note, and checkpoints and
// proofs are written with github.com/transparency-dev/formats.
package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// OriginPrefix starts the default origin of a chain's checkpoints:
// "brain-audit/" followed by the chain id.
const OriginPrefix = "brain-audit/"

// DefaultOrigin returns the origin of the checkpoints of the chain with id
// chainID when none is configured.
func DefaultOrigin(chainID string) string { return OriginPrefix + chainID }

// Checkpoint is the body of a signed checkpoint: the log's origin, its
// size in records and the root of its Merkle tree.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// Marshal returns the checkpoint's note text: three lines, each ending in
// "\n".
func (c Checkpoint) Marshal() []byte {
	return tlog.Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Root[:]}.Marshal()
}

// String returns "ORIGIN SIZE ROOT" on one line.
func (c Checkpoint) String() string { return fmt.Sprintf("%s %d %s", c.Origin, c.Size, c.Root) }

// MaxOriginLen bounds an origin.
const MaxOriginLen = 256

// CheckOrigin reports whether s can be an origin: non-empty, printable
// UTF-8 without spaces or "+", at most MaxOriginLen bytes (it is also the
// key name of a log key that signs it).
func CheckOrigin(s string) error {
	switch {
	case s == "":
		return errors.New("checkpoint: empty origin")
	case len(s) > MaxOriginLen:
		return fmt.Errorf("checkpoint: origin longer than %d bytes", MaxOriginLen)
	case !utf8.ValidString(s):
		return errors.New("checkpoint: origin is not UTF-8")
	}
	for _, r := range s {
		if r <= ' ' || r == '+' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x1680 || r >= 0x2000 && r <= 0x200a ||
			r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000 {
			return fmt.Errorf("checkpoint: origin %q has a space, a control character or a plus", shortText(s))
		}
	}
	return nil
}

// ParseCheckpoint parses a checkpoint's note text. It is strict: the text
// must be exactly what Marshal writes (three lines, a decimal size without
// leading zeros, a 32-byte root in padded standard base64, no extension
// lines), so that one checkpoint has one spelling.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if bytes.Count(text, []byte{'\n'}) != 3 || !bytes.HasSuffix(text, []byte{'\n'}) {
		return c, errors.New("checkpoint: the note text is not three lines (origin, size, root hash), each ending in a newline")
	}
	var tc tlog.Checkpoint
	if _, err := tc.Unmarshal(text); err != nil {
		return c, fmt.Errorf("checkpoint: %v", err)
	}
	if err := CheckOrigin(tc.Origin); err != nil {
		return c, err
	}
	if len(tc.Hash) != HashSize {
		return c, fmt.Errorf("checkpoint: the root hash has %d bytes, not %d", len(tc.Hash), HashSize)
	}
	c = Checkpoint{Origin: tc.Origin, Size: tc.Size, Root: Hash(tc.Hash)}
	if !bytes.Equal(c.Marshal(), text) {
		return Checkpoint{}, errors.New("checkpoint: the note text is not in the canonical form (a size with leading zeros or a sign, non-canonical base64, or extra bytes)")
	}
	return c, nil
}

// Sign returns c as a signed note, signed by s.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if err := CheckOrigin(c.Origin); err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: signing: %v", err)
	}
	return msg, nil
}

// MaxNoteSize bounds a signed checkpoint: room for its text and dozens of
// signatures and cosignatures, including ML-DSA ones.
const MaxNoteSize = 64 << 10

// SignatureError reports a checkpoint that no given key signed, or whose
// signature by a given key does not verify.
type SignatureError struct {
	// Signers are the key names that signed the note ("name+hash").
	Signers []string
	// Invalid is set when a signature of a given key does not verify (the
	// note was changed after it was signed).
	Invalid bool
}

func (e *SignatureError) Error() string {
	if e.Invalid {
		return "checkpoint: a signature by a given key does not verify: the checkpoint was changed after it was signed"
	}
	if len(e.Signers) == 0 {
		return "checkpoint: not signed"
	}
	return fmt.Sprintf("checkpoint: not signed by a given key (signed by %s)", strings.Join(e.Signers, ", "))
}

// Open verifies a signed checkpoint: at least one signature must be by one
// of the keys in vs and every signature by one of them must verify; other
// signatures (witnesses' cosignatures, unknown keys) are kept in the note
// but not checked. The note text must be a checkpoint (ParseCheckpoint).
// A failed signature check is a *SignatureError.
func Open(msg []byte, vs note.Verifiers) (Checkpoint, *note.Note, error) {
	if len(msg) > MaxNoteSize {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: the signed note is over %d bytes", MaxNoteSize)
	}
	n, err := note.Open(msg, vs)
	var un *note.UnverifiedNoteError
	var inv *note.InvalidSignatureError
	switch {
	case errors.As(err, &un):
		se := &SignatureError{}
		for _, s := range un.Note.UnverifiedSigs {
			se.Signers = append(se.Signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return Checkpoint{}, nil, se
	case errors.As(err, &inv):
		return Checkpoint{}, nil, &SignatureError{Invalid: true}
	case err != nil:
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: not a signed note: %v", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return c, n, nil
}

// shortText returns s cut to 40 bytes for an error message.
func shortText(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
