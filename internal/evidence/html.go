package evidence

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
)

//go:embed index.html.tmpl
var indexTemplate string

//go:embed index.css
var indexStyle string

// indexData is what index.html shows.
type indexData struct {
	Tool, Created, Since, Until, Key string
	Seed                             uint64
	Sample                           int
	OK                               bool
	Problems                         []string
	Chains                           []indexChain
	Drills                           *DrillSummary
	DrillFiles                       []indexFile
	Lint                             []LintReport
	UnsafeIO                         []indexFile
	Controls                         []Control
	Files                            []File

	CSP   string
	Style template.CSS
}

type indexChain struct {
	Name, Dir, Head         string
	OK                      bool
	Records                 int64
	Signed                  int
	Uncovered               uint64
	Text, JSON, Checkpoints string
	SampleFile              string
	Sample                  *Sample
	Proofs                  []string
}

type indexFile struct{ Path, Source, Kind string }

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"ms":  msText,
	"ptr": func(v int64) *int64 { return &v },
}).Parse(indexTemplate))

// csp is index.html's Content-Security-Policy: nothing is loaded, nothing
// runs; only its own style sheet, by hash, applies.
func csp() string {
	sum := sha256.Sum256([]byte(indexStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'none'; base-uri 'none'; form-action 'none'"
}

// renderIndex returns index.html: one self-contained page, no script, no
// request to anywhere, links relative to the bundle.
func renderIndex(d *indexData) ([]byte, error) {
	d.CSP, d.Style = csp(), template.CSS(indexStyle)
	var b bytes.Buffer
	if err := indexTmpl.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
