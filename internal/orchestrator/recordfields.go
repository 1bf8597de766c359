package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/state"
)

// fields is the data object of one audit record, read field by field so
// that any value BRAIN does not write (a number too large for any integer,
// a string where a number belongs, an unknown state, a deeply nested
// value, a key given twice) is a problem put in words, never an error that
// stops the reader. Values are quoted in problems only as short, escaped
// excerpts: a hostile record cannot flood or drive the terminal.
type fields struct {
	raw      map[string]json.RawMessage
	read     map[string]bool
	problems []string
}

// readFields splits data, a record's data object, into its fields. The
// problem is set when data is not one JSON object with distinct keys.
func readFields(data json.RawMessage) (*fields, string) {
	f := &fields{raw: map[string]json.RawMessage{}, read: map[string]bool{}}
	if len(data) == 0 {
		return nil, "data: missing"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, "data is not a JSON object: " + excerpt(data)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "data is not a JSON object: " + jsonProblem(err)
		}
		key, _ := tok.(string) // the decoder gives object keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Sprintf("%s: %s", quoteName(key), jsonProblem(err))
		}
		if _, dup := f.raw[key]; dup {
			return nil, fmt.Sprintf("%s: the field appears twice", quoteName(key))
		}
		f.raw[key] = v
	}
	return f, ""
}

// jsonProblem describes a decoding error without repeating the input.
func jsonProblem(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("not valid JSON at byte %d", se.Offset)
	}
	return "not valid JSON (cut short)"
}

// int reads the integer field name, which must lie in [min, max]. The
// JSON must be a plain integer: BRAIN never writes 1e3 or 1.0.
func (f *fields) int(name string, min, max int64, required bool) int64 {
	v, ok := f.take(name, required)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < min || n > max {
		f.problemf("%s: %s is not a whole number from %d to %d", name, excerpt(v), min, max)
		return 0
	}
	return n
}

// str reads the string field name, which valid must accept; want says
// what it should be.
func (f *fields) str(name string, valid func(string) bool, want string, required bool) string {
	v, ok := f.take(name, required)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil || !valid(s) {
		f.problemf("%s: %s is not %s", name, excerpt(v), want)
		return ""
	}
	return s
}

// taskIDs reads the required field name, a list of distinct task ids.
func (f *fields) taskIDs(name string) []string {
	v, ok := f.take(name, true)
	if !ok {
		return nil
	}
	var ids []string
	if err := json.Unmarshal(v, &ids); err != nil || bytes.Equal(v, []byte("null")) {
		f.problemf("%s: %s is not a list of task ids", name, excerpt(v))
		return nil
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		switch {
		case !plan.ValidID(id):
			f.problemf("%s: item %d, %s, is not a task id", name, i+1, excerpt(quoteJSON(id)))
			return nil
		case seen[id]:
			f.problemf("%s: task %s is listed twice", name, id)
			return nil
		}
		seen[id] = true
	}
	return ids
}

// take returns the raw value of field name and marks it read; a missing
// required field is a problem.
func (f *fields) take(name string, required bool) (json.RawMessage, bool) {
	f.read[name] = true
	v, ok := f.raw[name]
	if !ok && required {
		f.problemf("%s: missing", name)
	}
	return v, ok
}

func (f *fields) problemf(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// done returns the problems found, one field unknown to the record's type
// included, or "".
func (f *fields) done() string {
	var unknown []string
	for k := range f.raw {
		if !f.read[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		f.problemf("%s: not a field of this record type", quoteName(k))
	}
	return strings.Join(f.problems, "; ")
}

var (
	hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	class = regexp.MustCompile(`^[a-z_]{1,64}$`)
)

func isHex64(s string) bool { return hex64.MatchString(s) }

// isClass reports whether s is an error class, as task.state's reason is.
func isClass(s string) bool { return class.MatchString(s) }

// stateNames lists the task states, as problems name them.
const stateNames = "pending, running, passed, failed, error"

func isState(s string) bool {
	switch state.TaskState(s) {
	case state.StatePending, state.StateRunning, state.StatePassed, state.StateFailed, state.StateError:
		return true
	}
	return false
}

// excerptBytes is the most of a value a problem quotes.
const excerptBytes = 40

// excerpt returns raw JSON for a message: at most excerptBytes of it (cut
// at a character boundary, with the full length said), and escaped as a Go
// string when it holds anything but printable ASCII.
func excerpt(raw []byte) string {
	s, cut := string(raw), ""
	if len(s) > excerptBytes {
		n := excerptBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s, cut = s[:n], fmt.Sprintf("... (%d bytes)", len(raw))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.QuoteToASCII(s) + cut
		}
	}
	return s + cut
}

// quoteName returns a field name for a message, quoted and cut like a
// value.
func quoteName(name string) string { return excerpt(quoteJSON(name)) }

func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
