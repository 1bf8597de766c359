package state

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func noEnv(string) string { return "" }

// TestResolveKeyFirstRun: the user key file is made once, whole, 0600 in a
// 0700 directory, and used from then on; concurrent first runs agree on
// one key.
func TestResolveKeyFirstRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config", "brain", "state.key")
	const n = 8
	keys := make([]Key, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, src, err := ResolveKey(noEnv, "", file, true)
			if err != nil {
				t.Error(err)
			}
			keys[i], created[i] = k, src.Created
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		if keys[i].text != keys[0].text || keys[i].text == "" {
			t.Fatalf("first runs disagree on the key")
		}
		if created[i] {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d runs say they made the key, want 1", made)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}
	if di, err := os.Stat(filepath.Dir(file)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v, mode %v", err, di.Mode())
	}
	if len(keys[0].text) != 44 {
		t.Errorf("key of %d characters, want 44 (32 bytes, base64)", len(keys[0].text))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".state.key-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	k, src, err := ResolveKey(noEnv, "", file, true)
	if err != nil || src.Created || k.text != keys[0].text {
		t.Errorf("a later run: %v, created %v, same key %v", err, src.Created, k.text == keys[0].text)
	}
}

// TestResolveKeyMissing: without the user key file, a command that cannot
// create a database (one exists, or it only reads) gets an error naming the
// file, and no key is made.
func TestResolveKeyMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "brain", "state.key")
	_, _, err := ResolveKey(noEnv, "", file, false)
	var kfe *KeyFileError
	if !errors.As(err, &kfe) || kfe.Path != file || !errors.Is(err, ErrUserKeyMissing) {
		t.Fatalf("err %v, want a *KeyFileError for %s wrapping ErrUserKeyMissing", err, file)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a key was made: %v", err)
	}
	if _, _, err := ResolveKey(noEnv, "", "", true); !errors.Is(err, ErrNoKey) {
		t.Errorf("no user key file at all: %v, want ErrNoKey", err)
	}
}

// TestResolveKeyPrecedence: --state-key-file, then BRAIN_STATE_KEY, then the
// user key file, which is then neither read nor made.
func TestResolveKeyPrecedence(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user", "state.key")
	given := filepath.Join(dir, "given.key")
	if err := os.WriteFile(given, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == KeyEnv {
			return "from-env"
		}
		return ""
	}
	if k, src, err := ResolveKey(env, given, user, true); err != nil || k.text != "from-file" || src.File != given {
		t.Errorf("key file: %q from %v, %v", k.text, src, err)
	}
	if k, src, err := ResolveKey(env, "", user, true); err != nil || k.text != "from-env" || src.String() != KeyEnv {
		t.Errorf("env: %q from %v, %v", k.text, src, err)
	}
	if _, err := os.Stat(user); !os.IsNotExist(err) {
		t.Errorf("the user key file was made although a key was given: %v", err)
	}
}
