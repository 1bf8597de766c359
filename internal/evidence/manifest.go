// Package evidence is the SOC 2 CC7 evidence bundle brain-audit evidence
// writes and brain-audit evidence verify checks offline: a directory of
// verification reports, signed checkpoints, sampled record proofs, drill
// journals and span-coverage reports, an index.html that reads without any
// tool, and a manifest of every file's SHA-256 signed as a note with the
// checkpoint key (docs/evidence.md describes the layout and the formats).
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Format names the bundle's format; it is the manifest's first field and
// the first line of its signed note.
const Format = "brain-evidence/1"

// The names at the top of a bundle.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.json.sig"
	IndexFile     = "index.html"
	ControlsFile  = "controls.json"
)

// Limits on what evidence verify reads whole.
const (
	maxManifest  = 16 << 20
	maxSignature = 64 << 10
	maxFiles     = 100_000
)

// The kinds of file a manifest lists.
const (
	KindIndex       = "index"
	KindControls    = "controls"
	KindVerifyText  = "verify-text"
	KindVerifyJSON  = "verify-json"
	KindCheckpoints = "checkpoints"
	KindProof       = "proof"
	KindSample      = "sample"
	KindJournal     = "drill-journal"
	KindJUnit       = "drill-junit"
	KindDrillStats  = "drill-summary"
	KindLint        = "lint-report"
	KindUnsafeIO    = "unsafe-io"
)

// Manifest is manifest.json: what the bundle holds and when it was made.
type Manifest struct {
	Format  string `json:"format"`
	Created string `json:"created"`
	Tool    string `json:"tool"`
	// Since and Until are the period asked for ("" for open).
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	// Key is the verifier key of the key that signed the manifest.
	Key string `json:"key"`
	// Result is PASS when every chain verified, every drill run passed
	// within its targets and every lint report passed; FAIL otherwise.
	Result string `json:"result"`
	Files  []File `json:"files"`
}

// File is one file of the bundle, Path relative to its top, with slashes.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Kind   string `json:"kind"`
	// PII marks raw prompts and replies (--include-unsafe-io).
	PII bool `json:"pii,omitempty"`
}

// Marshal returns the manifest as indented JSON ending in a newline.
func (m *Manifest) Marshal() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		panic("evidence: manifest: " + err.Error()) // plain types: cannot fail
	}
	return b.Bytes()
}

// ParseManifest parses manifest.json strictly: the fields above and no
// other, a known format, clean relative paths listed once, hex SHA-256s.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("evidence: manifest.json is not a manifest: %v", err)
	}
	if dec.More() {
		return nil, errors.New("evidence: manifest.json has data after the manifest")
	}
	if m.Format != Format {
		return nil, fmt.Errorf("evidence: manifest.json is of format %q, not %q", short(m.Format), Format)
	}
	if len(m.Files) > maxFiles {
		return nil, fmt.Errorf("evidence: manifest.json lists over %d files", maxFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := checkRel(f.Path); err != nil {
			return nil, err
		}
		if f.Path == ManifestFile || f.Path == SignatureFile {
			return nil, fmt.Errorf("evidence: manifest.json lists %s", f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("evidence: manifest.json lists %s twice", f.Path)
		}
		seen[f.Path] = true
		if h, err := hex.DecodeString(f.SHA256); err != nil || len(h) != sha256.Size || hex.EncodeToString(h) != f.SHA256 {
			return nil, fmt.Errorf("evidence: manifest.json: %s: %q is not a lowercase hex SHA-256", f.Path, short(f.SHA256))
		}
	}
	return &m, nil
}

// checkRel accepts a clean relative path with slashes that stays in the
// bundle.
func checkRel(p string) error {
	if p == "" || path.Clean(p) != p || path.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "../") ||
		strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("evidence: manifest.json: %q is not a clean path inside the bundle", short(p))
	}
	return nil
}

// signedText is the text of the manifest's signed note: the format, then
// the manifest's SHA-256.
func signedText(manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return Format + "\n" + ManifestFile + " sha256 " + hex.EncodeToString(sum[:]) + "\n"
}

// Sign returns manifest.json.sig: a signed note (golang.org/x/mod/sumdb/note)
// over the manifest's SHA-256, by s.
func Sign(manifest []byte, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: signedText(manifest)}, s)
}

// SignatureError says why manifest.json.sig does not vouch for
// manifest.json.
type SignatureError struct {
	File   string
	Reason string
}

func (e *SignatureError) Error() string { return e.File + ": " + e.Reason }

// CheckSignature checks that sig, manifest.json.sig, is signed by a key of
// vs and names the SHA-256 of manifest. The error is a *SignatureError.
func CheckSignature(sig, manifest []byte, vs note.Verifiers) (signer string, err error) {
	n, err := note.Open(sig, vs)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		reason := "not a signed note: " + err.Error()
		switch {
		case errors.As(err, &invalid):
			reason = "the signature does not verify: the note was changed after it was signed"
		case errors.As(err, &unverified):
			var names []string
			for _, s := range unverified.Note.UnverifiedSigs {
				names = append(names, s.Name)
			}
			reason = fmt.Sprintf("signed by %s, not by a key given (--vkey)", strings.Join(names, ", "))
		}
		return "", &SignatureError{File: SignatureFile, Reason: reason}
	}
	first, _, _ := strings.Cut(n.Text, "\n")
	if first != Format || !strings.HasPrefix(n.Text, Format+"\n"+ManifestFile+" sha256 ") {
		return "", &SignatureError{File: SignatureFile, Reason: "not the signed note of an evidence manifest"}
	}
	if n.Text != signedText(manifest) {
		return "", &SignatureError{File: ManifestFile, Reason: "changed: its SHA-256 is not the one " + SignatureFile + " signs"}
	}
	return n.Sigs[0].Name, nil
}

func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
