package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/brain-dev/brain/internal/fsutil"
)

// KeyEnv is the environment variable that holds the state key.
const KeyEnv = "BRAIN_STATE_KEY"

// maxKeyFileSize bounds how much of a key file is read; a key is a short secret.
const maxKeyFileSize = 4096

// Key is the secret that encrypts the state database. It is a text key: the
// adiantum VFS stretches it to a 256-bit cipher key with Argon2id each time a
// database is opened.
//
// A Key never prints its secret: String, GoString and Format all redact it.
type Key struct {
	text string
}

// KeyFromText returns the key for the secret text. It returns ErrNoKey when
// text is empty, and an error when it contains a NUL byte (SQLite would cut
// the key there).
func KeyFromText(text string) (Key, error) {
	if text == "" {
		return Key{}, ErrNoKey
	}
	if strings.IndexByte(text, 0) >= 0 {
		return Key{}, errors.New("state: the state key contains a NUL byte")
	}
	return Key{text: text}, nil
}

// LoadKey returns the state key from the key file at keyFile when keyFile is
// not empty, and otherwise from the environment variable BRAIN_STATE_KEY, read
// through getenv (usually os.Getenv). One trailing newline is trimmed from a
// key file.
//
// A key file must be a regular file that neither group nor others can read or
// write (mode 0600 or stricter); any other file is refused with a
// *KeyFileError. LoadKey returns ErrNoKey when no key is given or the key is
// empty.
func LoadKey(getenv func(string) string, keyFile string) (Key, error) {
	if keyFile == "" {
		return KeyFromText(getenv(KeyEnv))
	}
	// Never blocks: a named pipe or a device is refused before it is read.
	b, err := fsutil.ReadSmall(keyFile, maxKeyFileSize, true)
	var me *fsutil.ModeError
	switch {
	case errors.As(err, &me):
		return Key{}, &KeyFileError{Path: keyFile, Mode: me.Mode.Perm(), Err: errKeyFileMode}
	case err != nil:
		return Key{}, &KeyFileError{Path: keyFile, Err: unwrapPathError(err)}
	}
	text := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return KeyFromText(text)
}

// errKeyFileMode is the cause of a *KeyFileError for a key file that group or
// others may access.
var errKeyFileMode = errors.New("readable or writable by group or others")

// KeyFileError reports a key file that cannot be used. Its message names the
// file, never its contents.
type KeyFileError struct {
	Path string
	// Mode is the file's permission bits when they are too open, else 0.
	Mode fs.FileMode
	Err  error
}

func (e *KeyFileError) Error() string {
	if e.Mode != 0 {
		return fmt.Sprintf("state: key file %q is %v (mode %04o); it must be 0600: chmod 600 %q", e.Path, e.Err, uint32(e.Mode), e.Path)
	}
	return fmt.Sprintf("state: key file %q: %v", e.Path, e.Err)
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// unwrapPathError drops the path from err, whose text would repeat it.
func unwrapPathError(err error) error { return fsutil.WithoutPath(err) }

// String returns a redacted placeholder, never the secret.
func (k Key) String() string {
	if k.text == "" {
		return "state.Key(empty)"
	}
	return "state.Key(redacted)"
}

// GoString returns the same placeholder as String.
func (k Key) GoString() string { return k.String() }

// Format prints the placeholder of String for every verb.
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }
