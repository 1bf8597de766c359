package drill

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// idPattern is what a drill id may be: it names the drill in the journal,
// the JUnit report, span attributes and audit records.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// namePattern is what a block's name= may be.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// maxTitle is the longest title, in bytes.
const maxTitle = 200

// frontMatterKeys are the keys the front matter may have.
var frontMatterKeys = []string{"format", "id", "title", "severity", "detect_within", "recover_within", "requires", "limits"}

// parser collects the problems of one file.
type parser struct {
	file string
	errs []*ParseError
	more int
}

func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.errs) >= MaxErrors {
		p.more++
		return
	}
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Parse reads the drill file named file from its bytes data. Every problem
// is reported, each with its line, in one *FileError; a file with any
// problem yields no drill.
func Parse(file string, data []byte) (*Drill, error) {
	p := &parser{file: file}
	d := p.parse(data)
	if len(p.errs) > 0 {
		return nil, &FileError{File: file, Errors: p.errs, More: p.more}
	}
	return d, nil
}

func (p *parser) parse(data []byte) *Drill {
	if len(data) > MaxFileBytes {
		p.errorf(0, "the file is %d bytes, over the limit of %d bytes for a drill", len(data), MaxFileBytes)
		return nil
	}
	sum := sha256.Sum256(data)
	d := &Drill{File: p.file, SHA256: hex.EncodeToString(sum[:]), Format: FormatVersion}
	lines := strings.Split(string(trimBOM(data)), "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			p.errorf(i+1, "the line is not valid UTF-8")
			return nil
		}
		if strings.IndexByte(l, 0) >= 0 {
			p.errorf(i+1, "the line holds a NUL byte")
			return nil
		}
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	body := p.frontMatter(d, lines)
	if body < 0 {
		return nil
	}
	p.markdown(d, lines, body)
	if len(p.errs) == 0 {
		p.complete(d)
	}
	return d
}

// frontMatter parses the YAML between the first line, "---", and the next
// "---" (or "...") line into d. It returns the index of the first line
// after it, or -1 when there is no front matter to read.
func (p *parser) frontMatter(d *Drill, lines []string) int {
	if len(lines) == 0 || strings.TrimRight(lines[0], " \t") != "---" {
		p.errorf(1, "no front matter: a drill starts with a '---' line, then YAML (id, title, severity, detect_within, recover_within), then '---'")
		return -1
	}
	end := -1
	size := 0
	for i := 1; i < len(lines); i++ {
		if l := strings.TrimRight(lines[i], " \t"); l == "---" || l == "..." {
			end = i
			break
		}
		size += len(lines[i]) + 1
	}
	if end < 0 {
		p.errorf(1, "the front matter that starts here is never closed by a '---' line")
		return -1
	}
	if size > MaxFrontMatterBytes {
		p.errorf(1, "the front matter is %d bytes, over the limit of %d", size, MaxFrontMatterBytes)
		return -1
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(strings.Join(lines[1:end], "\n")), &doc); err != nil {
		line, msg := yamlErrorLine(err)
		p.errorf(line+1, "front matter: %s", msg)
		return -1
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errorf(1, "the front matter is empty: it needs id, title, severity, detect_within and recover_within")
		return -1
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		p.errorf(m.Line+1, "the front matter must be a YAML mapping of keys to values")
		return -1
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		line := k.Line + 1
		if k.Kind != yaml.ScalarNode {
			p.errorf(line, "front matter: a key must be a plain word")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(line, "front matter: %s is given twice (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = line
		p.frontMatterKey(d, k.Value, v, line)
	}
	for _, key := range []string{"id", "title", "severity", "detect_within", "recover_within"} {
		if _, ok := seen[key]; !ok {
			p.errorf(1, "front matter: %s is missing", key)
		}
	}
	return end + 1
}

func (p *parser) frontMatterKey(d *Drill, key string, v *yaml.Node, line int) {
	vline := v.Line + 1
	switch key {
	case "format":
		if s, ok := p.str(key, v); ok && s != FormatVersion {
			p.errorf(vline, "format %q is not one this brain-drill reads (%s)", s, FormatVersion)
		}
	case "id":
		if s, ok := p.str(key, v); ok {
			if !idPattern.MatchString(s) {
				p.errorf(vline, "id %q: use 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", s)
			}
			d.ID = s
		}
	case "title":
		if s, ok := p.str(key, v); ok {
			switch {
			case strings.TrimSpace(s) == "":
				p.errorf(vline, "title is empty")
			case strings.ContainsAny(s, "\n\r"), len(s) > maxTitle:
				p.errorf(vline, "title: one line of at most %d bytes", maxTitle)
			}
			d.Title = strings.TrimSpace(s)
		}
	case "severity":
		if s, ok := p.str(key, v); ok {
			if !slices.Contains(Severities, s) {
				p.errorf(vline, "severity %q: want one of %s", s, strings.Join(Severities, ", "))
			}
			d.Severity = s
		}
	case "detect_within":
		d.DetectWithin = p.duration(key, v, MaxWithin)
	case "recover_within":
		d.RecoverWithin = p.duration(key, v, MaxWithin)
	case "requires":
		p.requires(d, v)
	case "limits":
		p.limits(d, v)
	default:
		p.errorf(line, "front matter: unknown key %q (keys: %s)", key, strings.Join(frontMatterKeys, ", "))
	}
}

// str returns v's value when it is a string scalar.
func (p *parser) str(key string, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		p.errorf(v.Line+1, "%s: want a string", key)
		return "", false
	}
	return v.Value, true
}

// duration returns v as a positive duration of at most max.
func (p *parser) duration(key string, v *yaml.Node, max time.Duration) time.Duration {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		p.errorf(v.Line+1, "%s: want a duration such as 2s, 500ms or 15m", key)
		return 0
	}
	dur, err := time.ParseDuration(v.Value)
	switch {
	case err != nil:
		p.errorf(v.Line+1, "%s: %q is not a duration such as 2s, 500ms or 15m", key, v.Value)
	case dur <= 0:
		p.errorf(v.Line+1, "%s: %s is not positive", key, v.Value)
	case dur > max:
		p.errorf(v.Line+1, "%s: %s is over the limit of %s", key, v.Value, max)
	}
	return dur
}

func (p *parser) requires(d *Drill, v *yaml.Node) {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return
		}
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		items = v.Content
	default:
		p.errorf(v.Line+1, "requires: want a requirement or a list of them (%s)", requirementList)
		return
	}
	for _, it := range items {
		s, ok := p.str("requires", it)
		if !ok {
			continue
		}
		r, err := ParseRequirement(s)
		if err != nil {
			p.errorf(it.Line+1, "requires: %v", err)
			continue
		}
		r.Line = it.Line + 1
		d.Requires = append(d.Requires, r)
	}
}

func (p *parser) limits(d *Drill, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v.Line+1, "limits: want a mapping of phases to durations (setup: 2m)")
		return
	}
	d.Limits = map[Phase]time.Duration{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		ph := Phase(k.Value)
		switch {
		case ph == Detect:
			p.errorf(k.Line+1, "limits: detect is polled for %d × detect_within: set detect_within", WindowFactor)
			continue
		case ph == Recover:
			p.errorf(k.Line+1, "limits: recover and the steady probes after it have %d × recover_within: set recover_within", WindowFactor)
			continue
		case !ph.Valid():
			p.errorf(k.Line+1, "limits: unknown phase %q (setup, steady, inject, investigate, rollback)", k.Value)
			continue
		}
		if _, dup := d.Limits[ph]; dup {
			p.errorf(k.Line+1, "limits: %s is given twice", ph)
			continue
		}
		d.Limits[ph] = p.duration("limits."+k.Value, val, MaxPhaseLimit)
	}
}

// yamlLine finds "line N" in a YAML error message.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// yamlErrorLine returns the front-matter line (1-based) a YAML error names
// and its message without the prefix.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return 1, msg
	}
	n, _ := strconv.Atoi(m[1])
	return max(n, 1), msg[len(m[0]):]
}

// fence is an open fenced code block.
type fence struct {
	char   byte
	n      int
	indent int
	info   string
	line   int
	body   []string
}

// markdown reads the body of the file from lines[start:]: headings and
// fenced code blocks.
func (p *parser) markdown(d *Drill, lines []string, start int) {
	var open *fence
	count := map[Phase]int{}
	names := map[string]int{}
	for i := start; i < len(lines); i++ {
		line := lines[i]
		if open == nil {
			if f, ok := openFence(line); ok {
				f.line = i + 1
				open = f
				continue
			}
			if lvl, title, ok := heading(line); ok {
				d.Sections = append(d.Sections, Section{Level: lvl, Title: title, Line: i + 1})
			}
			continue
		}
		if closesFence(line, open) {
			p.block(d, open, count, names)
			open = nil
			continue
		}
		open.body = append(open.body, stripIndent(line, open.indent))
	}
	if open != nil {
		p.errorf(open.line, "the code fence opened here (%s) is never closed", strings.Repeat(string(open.char), open.n))
	}
}

// block turns a closed fence into a step when its info string makes it one.
func (p *parser) block(d *Drill, f *fence, count map[Phase]int, names map[string]int) {
	words := strings.Fields(f.info)
	if len(words) == 0 {
		return
	}
	attrs := map[string]string{}
	isStep := false
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "drill=") {
			isStep = true
		}
	}
	lang := words[0]
	if !isStep {
		if (lang == "sh" || lang == "bash") && strings.Contains(f.info, "=") {
			p.errorf(f.line, "this block has attributes but no drill=PHASE: a step's info string is 'sh drill=PHASE'")
		}
		return
	}
	if lang != "sh" && lang != "bash" {
		p.errorf(f.line, "a step runs under bash: its info string starts with sh (or bash), not %q", lang)
		return
	}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			p.errorf(f.line, "%q in the info string: want key=value (drill=, name=, timeout=)", w)
			return
		}
		if _, dup := attrs[k]; dup {
			p.errorf(f.line, "%s= is given twice", k)
			return
		}
		attrs[k] = v
	}
	b := Block{Line: f.line, Phase: Phase(attrs["drill"])}
	for k, v := range attrs {
		switch k {
		case "drill":
			if !b.Phase.Valid() {
				p.errorf(f.line, "unknown phase %q (phases: %s)", v, phaseList())
				return
			}
		case "name":
			if !namePattern.MatchString(v) {
				p.errorf(f.line, "name %q: use 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'", v)
				return
			}
			b.Name = v
		case "timeout":
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 || dur > MaxPhaseLimit {
				p.errorf(f.line, "timeout=%s: want a positive duration of at most %s, such as 5s", v, MaxPhaseLimit)
				return
			}
			b.Timeout = dur
		default:
			p.errorf(f.line, "unknown attribute %q in the info string (drill=, name=, timeout=)", k+"=")
			return
		}
	}
	count[b.Phase]++
	if b.Name == "" {
		b.Name = fmt.Sprintf("%s-%d", b.Phase, count[b.Phase])
	}
	if first, dup := names[b.Name]; dup {
		p.errorf(f.line, "a step named %q is already at line %d", b.Name, first)
		return
	}
	names[b.Name] = f.line
	b.Script = strings.Join(f.body, "\n") + "\n"
	switch {
	case strings.TrimSpace(b.Script) == "":
		p.errorf(f.line, "the %s step is empty", b.Phase)
		return
	case len(b.Script) > MaxBlockBytes:
		p.errorf(f.line, "the step is %d bytes, over the limit of %d", len(b.Script), MaxBlockBytes)
		return
	case len(d.Blocks) == MaxBlocks:
		p.errorf(f.line, "more than %d steps in one drill", MaxBlocks)
		return
	}
	d.Blocks = append(d.Blocks, b)
}

// complete checks what a whole drill needs and notes what its run-book
// lacks.
func (p *parser) complete(d *Drill) {
	for _, ph := range []Phase{Steady, Inject, Detect} {
		if len(d.PhaseBlocks(ph)) == 0 {
			p.errorf(0, "no %s step: a drill needs at least one 'sh drill=%s' block (steady, inject and detect are required)", ph, ph)
		}
	}
	for _, want := range RequiredSections {
		found := false
		for _, s := range d.Sections {
			if strings.HasPrefix(strings.ToLower(s.Title), strings.ToLower(want)) {
				found = true
			}
		}
		if !found {
			d.Warnings = append(d.Warnings, &ParseError{File: d.File, Msg: fmt.Sprintf("no %q section: a responder reading the run-book during an incident looks for it", want)})
		}
	}
}

// openFence reports whether line opens a fenced code block (CommonMark: up
// to three spaces, then three or more backticks or tildes, then the info
// string; a backtick fence's info string holds no backtick).
func openFence(line string) (*fence, bool) {
	ind := leadingSpaces(line)
	if ind > 3 {
		return nil, false
	}
	rest := line[ind:]
	if rest == "" || (rest[0] != '`' && rest[0] != '~') {
		return nil, false
	}
	ch := rest[0]
	n := 0
	for n < len(rest) && rest[n] == ch {
		n++
	}
	if n < 3 {
		return nil, false
	}
	info := strings.TrimSpace(rest[n:])
	if ch == '`' && strings.IndexByte(info, '`') >= 0 {
		return nil, false
	}
	return &fence{char: ch, n: n, indent: ind, info: info}, true
}

// closesFence reports whether line closes f: up to three spaces, at least
// as many of f's fence characters, then only white space.
func closesFence(line string, f *fence) bool {
	ind := leadingSpaces(line)
	if ind > 3 {
		return false
	}
	rest := line[ind:]
	n := 0
	for n < len(rest) && rest[n] == f.char {
		n++
	}
	return n >= f.n && strings.TrimSpace(rest[n:]) == ""
}

func leadingSpaces(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// stripIndent removes up to n leading spaces, as CommonMark does for the
// lines of a fence indented by n.
func stripIndent(line string, n int) string {
	return line[min(n, leadingSpaces(line)):]
}

// heading parses an ATX heading ("## Detect").
func heading(line string) (int, string, bool) {
	ind := leadingSpaces(line)
	if ind > 3 {
		return 0, "", false
	}
	rest := line[ind:]
	lvl := 0
	for lvl < len(rest) && rest[lvl] == '#' {
		lvl++
	}
	if lvl == 0 || lvl > 6 || (lvl < len(rest) && rest[lvl] != ' ' && rest[lvl] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(rest[lvl:])
	if t := strings.TrimRight(title, "#"); t != title && (t == "" || t[len(t)-1] == ' ') {
		title = strings.TrimSpace(t)
	}
	return lvl, title, true
}

func phaseList() string {
	s := make([]string, len(Phases))
	for i, p := range Phases {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// trimBOM drops a UTF-8 byte order mark, which some editors write.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
