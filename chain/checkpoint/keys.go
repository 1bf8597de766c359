package checkpoint

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/internal/fsutil"
)

// KeyEnv is the environment variable that may hold a signer key itself
// (the text of a .key file), for brain-run and brain-audit checkpoint.
const KeyEnv = "BRAIN_CHECKPOINT_KEY"

// maxKeyFile bounds what is read of a key file.
const maxKeyFile = 4096

// GenerateKey returns a new Ed25519 signer key and its verifier key, named
// name, in the golang.org/x/mod/sumdb/note formats
// ("PRIVATE+KEY+name+hash+key" and "name+hash+key").
func GenerateKey(name string) (skey, vkey string, err error) {
	if err := CheckOrigin(name); err != nil {
		return "", "", fmt.Errorf("checkpoint: key name: %v", strings.TrimPrefix(err.Error(), "checkpoint: "))
	}
	return note.GenerateKey(rand.Reader, name)
}

// Signer signs checkpoints. It never prints its secret: String, GoString and
// Format give the key's name and verifier key only.
type Signer struct {
	s note.Signer
	v note.Verifier
	// vkey is the verifier key of the signer key.
	vkey string
}

// NewSigner returns the signer of skey, a signer key as GenerateKey makes
// it. Its errors never quote the key.
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, errors.New("checkpoint: not a signer key (want PRIVATE+KEY+NAME+HASH+KEY, as brain-audit keygen writes)")
	}
	// The public key, from the seed (NewSigner checked the form,
	// PRIVATE+KEY+name+hash+key, and the hash; the key's base64 may hold
	// "+" too).
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(skey, "+", 5)[4])
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	return &Signer{s: s, v: v, vkey: vkey}, nil
}

// Name returns the key's name.
func (s *Signer) Name() string { return s.s.Name() }

// KeyHash returns the key's hash, as signature lines carry it.
func (s *Signer) KeyHash() uint32 { return s.s.KeyHash() }

// Sign signs msg (note.Signer).
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.s.Sign(msg) }

// Verifier returns the verifier of the key's own signatures.
func (s *Signer) Verifier() note.Verifier { return s.v }

// VerifierKey returns the key's verifier key, as a .vkey file holds it.
func (s *Signer) VerifierKey() string { return s.vkey }

// String names the key, never its secret.
func (s *Signer) String() string { return "checkpoint.Signer(" + s.vkey + ")" }

// GoString is String.
func (s *Signer) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *Signer) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// KeyFileError reports a key file that cannot be used. It names the file,
// never its contents.
type KeyFileError struct {
	Path string
	// Mode is the file's permission bits when group or others may access
	// it, else 0.
	Mode fs.FileMode
	Err  error
}

func (e *KeyFileError) Error() string {
	if e.Mode != 0 {
		return fmt.Sprintf("checkpoint: key file %q may be read or written by group or others (mode %04o); it must be 0600: chmod 600 %q", e.Path, uint32(e.Mode), e.Path)
	}
	return fmt.Sprintf("checkpoint: key file %q: %v", e.Path, e.Err)
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// LoadSigner reads the signer key in the file at path. The file must be a
// regular file (a named pipe or device is refused before it is read) that
// neither group nor others may access (0600 or stricter), of at most 4 KiB.
// A symbolic link is followed: where the key is kept is the user's choice.
func LoadSigner(path string) (*Signer, error) {
	b, err := readKeyFile(path, true)
	if err != nil {
		return nil, err
	}
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: errors.New(strings.TrimPrefix(err.Error(), "checkpoint: "))}
	}
	return s, nil
}

// readKeyFile reads a small key file; secret holds it to mode 0600.
func readKeyFile(path string, secret bool) ([]byte, error) {
	b, err := fsutil.ReadSmall(path, maxKeyFile, secret)
	var me *fsutil.ModeError
	switch {
	case errors.As(err, &me):
		return nil, &KeyFileError{Path: path, Mode: me.Mode.Perm()}
	case err != nil:
		return nil, &KeyFileError{Path: path, Err: fsutil.WithoutPath(err)}
	}
	return b, nil
}

// ParseVerifier returns the verifier of vkey, a verifier key line
// ("name+hash+key", as a .vkey file holds it).
func ParseVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: not a verifier key (want NAME+HASH+KEY, as brain-audit keygen writes in PREFIX.vkey): %v", err)
	}
	return v, nil
}

// LoadVerifier reads the verifier key in the file at path (a .vkey file).
// When no file is named path and path is itself a verifier key, that key is
// returned, so that a key can be given on the command line as it is.
func LoadVerifier(path string) (note.Verifier, error) { return loadVerifier(path, ParseVerifier) }

// LoadWitness is LoadVerifier for a witness's cosignature key (ParseWitness).
func LoadWitness(path string) (note.Verifier, error) { return loadVerifier(path, ParseWitness) }

func loadVerifier(path string, parse func(string) (note.Verifier, error)) (note.Verifier, error) {
	b, err := readKeyFile(path, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && strings.Count(path, "+") >= 2 {
			return parse(path)
		}
		return nil, err
	}
	v, err := parse(string(b))
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: errors.New(strings.TrimPrefix(err.Error(), "checkpoint: "))}
	}
	return v, nil
}
