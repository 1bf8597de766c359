package state

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// UserKeyFile is the state key's file in the user's configuration
// directory: $XDG_CONFIG_HOME/brain/state.key (~/.config/brain/state.key
// on Linux), used when neither a key file nor BRAIN_STATE_KEY is given.
func UserKeyFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "brain", "state.key"), nil
}

// KeySource says where a state key came from.
type KeySource struct {
	// File is the key file, or "" for BRAIN_STATE_KEY.
	File string
	// Created reports that the key was made by this call, in File.
	Created bool
}

func (s KeySource) String() string {
	if s.File == "" {
		return KeyEnv
	}
	return s.File
}

// ErrUserKeyMissing is the cause of a *KeyFileError for a user key file
// that is not there although a state database that needs it is.
var ErrUserKeyMissing = errors.New("missing, but the state database exists: it was created with a key that is not here")

// ResolveKey returns the state key and where it came from: the key file
// keyFile when given, else BRAIN_STATE_KEY (through getenv), else the user
// key file userFile. When userFile does not exist and mayCreate is set (no
// state database exists yet and the command creates one), a random key is
// made there first: 32 bytes from crypto/rand, base64, in a 0600 file of a
// 0700 directory, created whole or not at all (written to a temporary file,
// synced, then linked into place, so that two first runs agree on one key).
// When userFile does not exist and mayCreate is not set, the result is a
// *KeyFileError wrapping ErrUserKeyMissing: a lost key is an error naming
// its file, never a new database.
func ResolveKey(getenv func(string) string, keyFile, userFile string, mayCreate bool) (Key, KeySource, error) {
	if keyFile != "" || getenv(KeyEnv) != "" {
		k, err := LoadKey(getenv, keyFile)
		return k, KeySource{File: keyFile}, err
	}
	if userFile == "" {
		return Key{}, KeySource{}, ErrNoKey
	}
	src := KeySource{File: userFile}
	k, err := LoadKey(getenv, userFile)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, src, err
	}
	if !mayCreate {
		return Key{}, src, &KeyFileError{Path: userFile, Err: ErrUserKeyMissing}
	}
	if err := createKeyFile(userFile); err != nil && !errors.Is(err, fs.ErrExist) {
		return Key{}, src, &KeyFileError{Path: userFile, Err: fmt.Errorf("creating it: %w", unwrapPathError(err))}
	} else if err == nil {
		src.Created = true
	}
	k, err = LoadKey(getenv, userFile)
	return k, src, err
}

// createKeyFile makes path a new key file, atomically; fs.ErrExist when
// another process made it first.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var raw [32]byte
	rand.Read(raw[:])
	tmp, err := os.CreateTemp(dir, ".state.key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(raw[:]) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
