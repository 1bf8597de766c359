package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zeebo/blake3"
)

const vectorsPath = "testdata/vectors-v1.json"

// vectorFile is the layout of testdata/vectors-v1.json. The vectors of one
// chain, in file order, are the lines of a valid chain file.
type vectorFile struct {
	Format      string   `json:"format"`
	Description string   `json:"description"`
	Vectors     []vector `json:"vectors"`
}

type vector struct {
	Name  string `json:"name"`
	Chain string `json:"chain"`
	Alg   string `json:"alg"`
	// Line is the whole record line, newline included.
	Line string `json:"line"`
	// Entry is the prefix of Line that is hashed: up to, not including, the
	// `,"hash":"` that begins the last field.
	Entry string `json:"entry"`
	// Prev is the previous record's digest in hex; its raw 32 bytes follow
	// Entry in the hash input.
	Prev string `json:"prev"`
	// Hash is hex(H(Entry || raw Prev)).
	Hash string `json:"hash"`
}

// vectorEvents are the events of each vector chain, after its header.
var vectorEvents = []struct {
	name string
	ev   Event
}{
	{"plain record with session and trace ids", Event{
		Type: "run.start", Session: "sess-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Data: []byte(`{"argv":["brain-run","build"],"cwd":"/src"}`),
	}},
	{"escapes, unicode and HTML characters, kept byte for byte", Event{
		Type:    "note",
		Session: "quote \" backslash \\ tab \t line-sep \u2028 <&>",
		Data: []byte(`{"text":"quote \" backslash \\ tab \t newline \n nul \u0000 escaped \u00e9\u65e5 slash \/",` +
			`"html":"<script>alert('x') && y</script>","unicode":"héllo wörld — 日本語 🙂"}`),
	}},
	{"numbers and nesting, not re-encoded", Event{
		Type: "metrics",
		Data: []byte(`{ "big": 123456789012345678901234567890, "float": 1.50e-7, "neg": -0,
			"nested": {"a": [1, {"b": null}], "t": true, "f": false}, "empty": {} }`),
	}},
	{"empty data", Event{Type: "run.end"}},
}

// generateVectors builds the vector chains with the writer, a fixed clock
// and a fixed chain id.
func generateVectors(t *testing.T) []byte {
	t.Helper()
	vf := vectorFile{
		Format: FormatVersion,
		Description: "Test vectors for the BRAIN audit chain hash rule (docs/chain-format.md): " +
			"hash = hex(H(entry || prev)), entry = line bytes up to the `,\"hash\":\"` of the last field, " +
			"prev = the previous record's digest as 32 raw bytes (all zero before a chain's first record). " +
			"The vectors of one chain, in order, are the lines of a valid chain file.",
	}
	for _, alg := range []Alg{SHA256, BLAKE3} {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		w := openTest(t, path, Options{Alg: alg})
		names := []string{"header: first record of a new chain, all-zero prev"}
		for _, e := range vectorEvents {
			if _, err := w.Append(context.Background(), e.ev); err != nil {
				t.Fatal(err)
			}
			names = append(names, e.name)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.SplitAfter(string(b[:len(b)-1]), "\n") {
			if i == len(names)-1 {
				line += "\n"
			}
			k := strings.LastIndex(line, hashSep)
			var r record
			if pe := parseRecord([]byte(strings.TrimSuffix(line, "\n")), &r); pe != nil {
				t.Fatal(pe)
			}
			vf.Vectors = append(vf.Vectors, vector{
				Name: string(alg) + "/" + names[i], Chain: string(alg), Alg: string(alg),
				Line: line, Entry: line[:k], Prev: r.prev.String(), Hash: r.hash.String(),
			})
		}
	}
	return indentJSON(t, vf)
}

// TestVectors re-derives every vector's hash without the package's code and
// checks that each vector chain verifies.
func TestVectors(t *testing.T) {
	if update {
		if err := os.WriteFile(vectorsPath, generateVectors(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (run UPDATE_GOLDEN=1 go test ./chain -run TestVectors)", err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if vf.Format != FormatVersion {
		t.Fatalf("format %q, want %q", vf.Format, FormatVersion)
	}
	chains := map[string][]vector{}
	var order []string
	for _, v := range vf.Vectors {
		if _, ok := chains[v.Chain]; !ok {
			order = append(order, v.Chain)
		}
		chains[v.Chain] = append(chains[v.Chain], v)
	}
	if diff := cmp.Diff([]string{"sha256", "blake3"}, order); diff != "" {
		t.Errorf("vector chains (-want +got):\n%s", diff)
	}
	for _, name := range order {
		vs := chains[name]
		var file bytes.Buffer
		for i, v := range vs {
			checkVector(t, v)
			wantPrev := strings.Repeat("0", 2*DigestSize)
			if i > 0 {
				wantPrev = vs[i-1].Hash
			}
			if v.Prev != wantPrev {
				t.Errorf("%s: prev %s, want the previous vector's hash %s", v.Name, v.Prev, wantPrev)
			}
			file.WriteString(v.Line)
		}
		rep, err := VerifyReader(context.Background(), name, &file, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("chain %s does not verify:\n%s", name, findingsText(rep))
		}
	}
}

// checkVector checks one vector with the standard hash packages only.
func checkVector(t *testing.T, v vector) {
	t.Helper()
	suffix := hashSep + v.Hash + "\"}\n"
	if !strings.HasSuffix(v.Line, suffix) || v.Line[:len(v.Line)-len(suffix)] != v.Entry {
		t.Errorf("%s: line is not entry + %q", v.Name, suffix)
	}
	if strings.Count(v.Line, "\n") != 1 || strings.Contains(v.Line, "\r") {
		t.Errorf("%s: line is not one LF-terminated line", v.Name)
	}
	if !strings.HasSuffix(v.Entry, `,"prev":"`+v.Prev+`"`) {
		t.Errorf("%s: entry does not end with its prev field", v.Name)
	}
	prev, err := hex.DecodeString(v.Prev)
	if err != nil || len(prev) != 32 {
		t.Fatalf("%s: bad prev %q", v.Name, v.Prev)
	}
	input := append([]byte(v.Entry), prev...)
	var sum [32]byte
	switch v.Alg {
	case "sha256":
		sum = sha256.Sum256(input)
	case "blake3":
		sum = blake3.Sum256(input)
	default:
		t.Fatalf("%s: unknown alg %q", v.Name, v.Alg)
	}
	if got := hex.EncodeToString(sum[:]); got != v.Hash {
		t.Errorf("%s: H(entry || prev) = %s, want %s", v.Name, got, v.Hash)
	}
}

// TestVectorsUpToDate checks that the committed vectors are what the writer
// produces today.
func TestVectorsUpToDate(t *testing.T) {
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(generateVectors(t))); diff != "" {
		t.Errorf("%s is stale; run UPDATE_GOLDEN=1 go test ./chain (-want +got):\n%s", vectorsPath, diff)
	}
}
