package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
)

// fixture writes a chain of n records, one record a second from t0, with a
// signed checkpoint of all of them, and returns it verified as evidence
// takes it, with the signer.
func fixture(t *testing.T, n int, t0 time.Time) (Chain, *checkpoint.Signer) {
	t.Helper()
	dir := t.TempDir()
	active := filepath.Join(dir, "audit.jsonl")
	clock := t0
	w, err := chain.Open(active, chain.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := w.Append(t.Context(), chain.Event{Type: "test.event", Data: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	skey, _, err := checkpoint.GenerateKey("example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Make(t.Context(), active, checkpoint.Options{Signer: s}); err != nil {
		t.Fatal(err)
	}
	res, err := checkpoint.VerifyFile(t.Context(), active, checkpoint.VerifyOptions{Verifiers: note.VerifierList(s.Verifier())})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Latest == nil {
		t.Fatalf("fixture chain does not verify: %v", res.Findings)
	}
	return Chain{Name: active, Files: res.Files, Store: checkpoint.FileStore(active), Text: []byte("PASS\n"), JSON: []byte("{}\n"),
		OK: true, Records: res.Records, Signed: res.Checkpoints, Latest: res.Latest}, s
}

func build(t *testing.T, c Chain, s *checkpoint.Signer, o Options) string {
	t.Helper()
	o.Out = filepath.Join(t.TempDir(), "bundle")
	o.Signer, o.VerifyKey, o.Verifiers = s, s.VerifierKey(), note.VerifierList(s.Verifier())
	o.Now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if _, err := Build(t.Context(), []Chain{c}, o); err != nil {
		t.Fatal(err)
	}
	return o.Out
}

// resign rewrites the manifest with the files' hashes as they are now and
// signs it again with s: what a bundler with the key, or a bug, could do.
// The proofs must still be checked on their own.
func resign(t *testing.T, dir string, s *checkpoint.Signer) {
	t.Helper()
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range m.Files {
		sum, n, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		m.Files[i].SHA256, m.Files[i].Bytes = sum, n
	}
	mb = m.Marshal()
	sig, err := Sign(mb, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), mb, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SignatureFile), sig, 0o600); err != nil {
		t.Fatal(err)
	}
}

func problems(t *testing.T, dir string, s *checkpoint.Signer) []string {
	t.Helper()
	c, err := VerifyBundle(dir, note.VerifierList(s.Verifier()))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range c.Problems {
		out = append(out, p.String())
	}
	return out
}

// TestProofsChecked: a proof is checked against its checkpoint even when
// the manifest vouches for it: a record swapped in the proof, a hash of
// the path changed, a checkpoint the bundle does not hold, a proof signed
// by another key.
func TestProofsChecked(t *testing.T) {
	c, s := fixture(t, 12, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	other, _ := fixture(t, 12, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	_, otherKey := fixture(t, 3, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	clean := build(t, c, s, Options{Sample: 3, Seed: 1})
	if p := problems(t, clean, s); len(p) != 0 {
		t.Fatalf("a clean bundle: %v", p)
	}
	var sample Sample
	readJSON(t, filepath.Join(clean, "chains/1/sample.json"), &sample)
	proof := sample.Proofs[0]

	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
		n      int
	}{
		{"record swapped", func(t *testing.T, dir string) {
			editProof(t, filepath.Join(dir, proof), func(lines []string) {
				rec, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
				rec = bytes.Replace(rec, []byte(`"n":1`), []byte(`"n":2`), 1)
				lines[1] = "extra " + base64.StdEncoding.EncodeToString(rec)
			})
		}, "the inclusion proof of record", 1},
		{"hash changed", func(t *testing.T, dir string) {
			editProof(t, filepath.Join(dir, proof), func(lines []string) {
				lines[3] = base64.StdEncoding.EncodeToString(make([]byte, 32))
			})
		}, "the inclusion proof of record", 1},
		{"checkpoint of another chain", func(t *testing.T, dir string) {
			// the other chain's checkpoint file, signed by another key
			// than this bundle's: the proofs no longer match it
			b, err := os.ReadFile(other.Store)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "chains/1/audit.jsonl.checkpoints"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is not among the checkpoints of chains/1", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := build(t, c, s, Options{Sample: 3, Seed: 1})
			tt.damage(t, dir)
			resign(t, dir, s)
			got := problems(t, dir, s)
			if len(got) != tt.n {
				t.Fatalf("problems %q, want %d with %q", got, tt.n, tt.want)
			}
			for _, g := range got {
				if !strings.Contains(g, tt.want) {
					t.Fatalf("problems %q, want %d with %q", got, tt.n, tt.want)
				}
			}
		})
	}

	// A bundle signed by another key than the one given.
	dir := build(t, c, s, Options{Sample: 1, Seed: 1})
	resign(t, dir, otherKey)
	got := problems(t, dir, s)
	if len(got) != 1 || !strings.Contains(got[0], "manifest.json.sig: signed by example.com/log, not by a key given") {
		t.Fatalf("problems %q", got)
	}
}

// TestSamplePeriod: with a period, only records whose ts is in it are
// drawn, and the population counts them.
func TestSamplePeriod(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c, s := fixture(t, 40, t0) // record seq i (header 0) at t0 + (i+1)s
	since, until := t0.Add(11*time.Second), t0.Add(21*time.Second)
	dir := build(t, c, s, Options{Sample: 50, Seed: 9, Since: since, Until: until})
	var got Sample
	readJSON(t, filepath.Join(dir, "chains/1/sample.json"), &got)
	want := []uint64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	if d := cmp.Diff(want, got.Seqs); d != "" || got.Population != 10 {
		t.Fatalf("population %d, seqs (-want +got):\n%s", got.Population, d)
	}
	if p := problems(t, dir, s); len(p) != 0 {
		t.Fatal(p)
	}
}

// TestDraw: k distinct positions below n, sorted, the same for a seed.
func TestDraw(t *testing.T) {
	for _, tc := range []struct {
		n uint64
		k int
	}{{0, 5}, {1, 5}, {5, 5}, {10, 3}, {1 << 40, 256}} {
		got := draw(7, tc.n, tc.k)
		wantLen := min(uint64(tc.k), tc.n)
		if uint64(len(got)) != wantLen {
			t.Fatalf("draw(%d, %d): %d positions", tc.n, tc.k, len(got))
		}
		for i, p := range got {
			if p >= tc.n || (i > 0 && got[i-1] >= p) {
				t.Fatalf("draw(%d, %d) = %v: not distinct, sorted and below n", tc.n, tc.k, got)
			}
		}
		if d := cmp.Diff(got, draw(7, tc.n, tc.k)); d != "" {
			t.Fatalf("draw is not reproducible:\n%s", d)
		}
	}
	// every position is drawn, over seeds
	seen := map[uint64]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		for _, p := range draw(seed, 10, 2) {
			seen[p] = true
		}
	}
	if len(seen) != 10 {
		t.Fatalf("positions drawn over 200 seeds: %v", seen)
	}
}

func editProof(t *testing.T, p string, edit func([]string)) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	edit(lines)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestProblemsBounded: a bundle with thousands of files added lists the
// first MaxProblems, names each, and counts the rest.
func TestProblemsBounded(t *testing.T) {
	c, s := fixture(t, 3, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	dir := build(t, c, s, Options{Sample: 1, Seed: 1})
	const n = MaxProblems + 500
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("added-%04d.txt", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := VerifyBundle(dir, note.VerifierList(s.Verifier()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Problems) != MaxProblems || got.Count() != n || got.OK() {
		t.Fatalf("%d problems listed, %d counted; want %d, %d", len(got.Problems), got.Count(), MaxProblems, n)
	}
	if p := got.Problems[0]; p.File != "added-0000.txt" || p.Reason != "added: not listed in manifest.json" {
		t.Fatalf("first problem %v", p)
	}
}

// TestIndexSelfContained: index.html loads nothing and runs nothing (no
// script, no src, a CSP of default-src 'none' whose style hash is its
// style sheet's), and every link leads to a file of the bundle.
func TestIndexSelfContained(t *testing.T) {
	c, s := fixture(t, 5, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	dir := build(t, c, s, Options{Sample: 2, Seed: 1})
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, banned := range []string{"<script", " src=", "://", "javascript:", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("index.html holds %q", banned)
		}
	}
	if !strings.Contains(page, html.EscapeString(csp())) || !strings.Contains(page, "<style>"+indexStyle+"</style>") {
		t.Errorf("index.html lacks its CSP or its style sheet verbatim")
	}
	links := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 10 {
		t.Fatalf("%d links", len(links))
	}
	for _, l := range links {
		if fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(l[1]))); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("link %q leads to no file of the bundle", l[1])
		}
	}
}
