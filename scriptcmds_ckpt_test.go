package brain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"

	"github.com/rogpeppe/go-internal/testscript"
)

// ckptScriptCmds attack a chain the way the checkpoints must catch, for
// the audit_checkpoint scripts.
var ckptScriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// rehash FILE N OLD NEW: replace OLD by NEW in line N (1-based) of a
	// sha256 chain and recompute the hash of that record and the prev and
	// hash of every later one, as someone who can write the file would:
	// the chain still verifies.
	"rehash": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: rehash FILE N OLD NEW")
		}
		lines := readLines(ts, args[0])
		n := atoi(ts, args[1])
		if !bytes.Contains(lines[n-1], []byte(args[2])) {
			ts.Fatalf("line %d of %s has no %q", n, args[0], args[2])
		}
		lines[n-1] = bytes.Replace(lines[n-1], []byte(args[2]), []byte(args[3]), 1)
		const prevKey, hashKey = `,"prev":"`, `,"hash":"`
		for i := n - 1; i < len(lines); i++ {
			l := lines[i]
			if i > n-1 {
				// prev is the previous line's hash.
				prevHex := hashOf(ts, lines[i-1])
				p := bytes.LastIndex(l, []byte(prevKey)) + len(prevKey)
				copy(l[p:p+64], prevHex)
			}
			k := bytes.LastIndex(l, []byte(hashKey))
			prev, err := hex.DecodeString(string(l[bytes.LastIndex(l, []byte(prevKey))+len(prevKey):][:64]))
			ts.Check(err)
			h := sha256.New()
			h.Write(l[:k])
			h.Write(prev)
			copy(l[k+len(hashKey):], hex.EncodeToString(h.Sum(nil)))
		}
		writeLines(ts, args[0], lines)
	},
}

// hashOf returns the hash field of a record line.
func hashOf(ts *testscript.TestScript, l []byte) []byte {
	k := bytes.LastIndex(l, []byte(`,"hash":"`))
	if k < 0 {
		ts.Fatalf("not a record: %q", l)
	}
	return l[k+9 : k+9+64]
}
