package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestSignerKeys generates keys and checks that the signer gives back the
// verifier key generated with it (base64 with and without "+" and "/"),
// and signs what that key verifies.
func TestSignerKeys(t *testing.T) {
	plus := 0
	for i := range 200 {
		skey, vkey, err := GenerateKey(fmt.Sprintf("example.com/log%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(skey, "+") > 4 {
			plus++
		}
		s, err := NewSigner(skey)
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		if s.VerifierKey() != vkey {
			t.Fatalf("derived %s, generated %s", s.VerifierKey(), vkey)
		}
		msg, err := Sign(Checkpoint{Origin: "o", Size: 1, Root: EmptyRoot}, s)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := ParseVerifier(vkey)
		if _, _, err := Open(msg, note.VerifierList(v)); err != nil {
			t.Fatalf("Open: %v", err)
		}
		if strings.Contains(fmt.Sprint(s), skey[len(skey)-20:]) || strings.Contains(fmt.Sprintf("%#v %+v %q", s, s, s), "PRIVATE") {
			t.Fatal("the signer prints its secret")
		}
	}
	if plus == 0 {
		t.Fatal("no key with a + in its base64 was generated")
	}
	for _, bad := range []string{"", "PRIVATE+KEY+x", "x+12345678+AAAA", "PRIVATE+KEY+n+00000000+AQ=="} {
		if _, err := NewSigner(bad); err == nil || strings.Contains(err.Error(), bad[min(len(bad), 8):]) && len(bad) > 12 {
			t.Errorf("NewSigner(%q): %v", bad, err)
		}
	}
	if _, _, err := GenerateKey("has space"); err == nil {
		t.Error("a key name with a space was accepted")
	}
}

// TestLoadSigner checks the key file rules: 0600 or stricter, a regular
// file (a FIFO is refused at once, never waited on), and errors that name
// the file, never the key.
func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	skey, _, _ := GenerateKey("example.com/log")
	p := filepath.Join(dir, "k.key")
	os.WriteFile(p, []byte(skey+"\n"), 0o600)
	if _, err := LoadSigner(p); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o640)
	var ke *KeyFileError
	if _, err := LoadSigner(p); !errors.As(err, &ke) || ke.Mode != 0o640 || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a 0640 key file: %v", err)
	}
	os.WriteFile(p, []byte("PRIVATE+KEY+broken+secret-text\n"), 0o600)
	os.Chmod(p, 0o600)
	if _, err := LoadSigner(p); err == nil || strings.Contains(err.Error(), "secret-text") {
		t.Fatalf("a bad key file: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(fifo); err == nil {
		t.Fatal("a FIFO was read as a key file")
	}
	if _, err := LoadVerifier(filepath.Join(dir, "missing.vkey")); err == nil {
		t.Fatal("a missing verifier key file was accepted")
	}
}
