package chain

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rotatedRef is the regular expression splitRotated stands for: the
// reference it is held to.
var rotatedRef = regexp.MustCompile(`^(.*)\.([0-9]{6})(\.[^./]*)?$`)

type rotatedSplit struct {
	Stem, Ext string
	OK        bool
}

func refSplitRotated(name string) rotatedSplit {
	m := rotatedRef.FindStringSubmatch(name)
	if m == nil {
		return rotatedSplit{}
	}
	return rotatedSplit{m[1], m[3], true}
}

// refActiveName is activeName as it was written with the regular
// expression.
func refActiveName(path string) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if m := rotatedRef.FindStringSubmatch(stem + ext); m != nil && m[3] == ext {
		return dir + m[1] + ext
	}
	return path
}

var rotatedCases = []struct {
	name string
	want rotatedSplit
}{
	{"audit.000001.jsonl", rotatedSplit{"audit", ".jsonl", true}},
	{"audit.000001", rotatedSplit{"audit", "", true}},
	{"audit.999999.x", rotatedSplit{"audit", ".x", true}},
	{"audit.000001.", rotatedSplit{"audit", ".", true}},
	{".000001", rotatedSplit{"", "", true}},
	{".000001.", rotatedSplit{"", ".", true}},
	{"..000001", rotatedSplit{".", "", true}},
	{"dir/audit.000001.jsonl", rotatedSplit{"dir/audit", ".jsonl", true}},
	// Two readings: the longer stem wins (the expression's greedy .*).
	{"a.000001.000002", rotatedSplit{"a.000001", "", true}},
	{"a.000001.000002.jsonl", rotatedSplit{"a.000001", ".jsonl", true}},
	{"a.000001.b.000002", rotatedSplit{"a.000001.b", "", true}},
	{"a.000001.000002.000003", rotatedSplit{"a.000001.000002", "", true}},
	// The index is exactly six ASCII digits.
	{"audit.jsonl", rotatedSplit{}},
	{"audit.00001.jsonl", rotatedSplit{}},
	{"audit.0000012.jsonl", rotatedSplit{}},
	{"audit.0000012", rotatedSplit{}},
	{"audit.00000a.jsonl", rotatedSplit{}},
	{"audit.٠٠٠٠٠٠.jsonl", rotatedSplit{}},
	{"audit.000001x", rotatedSplit{}},
	// The extension holds no dot and no slash.
	{"audit.000001.tar.gz", rotatedSplit{}},
	{"audit.000001.a/b", rotatedSplit{}},
	{"audit.000001./", rotatedSplit{}},
	{"audit.000001/", rotatedSplit{}},
	// A newline: never in the stem, anywhere in the extension.
	{"a\nb.000001.jsonl", rotatedSplit{}},
	{"\n.000001", rotatedSplit{}},
	{"a.00000\n.jsonl", rotatedSplit{}},
	{"ab.000001.j\nl", rotatedSplit{"ab", ".j\nl", true}},
	{"ab.000001.\n", rotatedSplit{"ab", ".\n", true}},
	// Bytes that are not UTF-8 are characters like any other.
	{"\xff.000001.jsonl", rotatedSplit{"\xff", ".jsonl", true}},
	{"a.000001.\xff\xfe", rotatedSplit{"a", ".\xff\xfe", true}},
	{"a.00000\xff.jsonl", rotatedSplit{}},
	{"", rotatedSplit{}},
	{".", rotatedSplit{}},
	{"000001", rotatedSplit{}},
}

// TestSplitRotated holds splitRotated to the expected splits and to the
// regular expression it stands for.
func TestSplitRotated(t *testing.T) {
	for _, c := range rotatedCases {
		var got rotatedSplit
		got.Stem, got.Ext, got.OK = splitRotated(c.name)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("splitRotated(%q) (-want +got):\n%s", c.name, diff)
		}
		if diff := cmp.Diff(refSplitRotated(c.name), got); diff != "" {
			t.Errorf("splitRotated(%q) against the regular expression (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestActiveName(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/w/.brain/audit.000003.jsonl", "/w/.brain/audit.jsonl"},
		{"/w/.brain/audit.jsonl", "/w/.brain/audit.jsonl"},
		{"audit.000003.jsonl", "audit.jsonl"},
		{"x.000001.000002.jsonl", "x.000001.jsonl"},
		{"a.b/audit.000001", "a.b/audit.000001"},
		{"/w/a\nb.000001.jsonl", "/w/a\nb.000001.jsonl"},
		{"/w/audit.000001.tar.gz", "/w/audit.000001.tar.gz"},
	} {
		if got := activeName(c.path); got != c.want {
			t.Errorf("activeName(%q) = %q, want %q", c.path, got, c.want)
		}
		if want := refActiveName(c.path); activeName(c.path) != want {
			t.Errorf("activeName(%q) = %q, the regular expression's %q", c.path, activeName(c.path), want)
		}
	}
}

// FuzzSplitRotated checks splitRotated, and activeName built on it,
// against the regular expression on any name.
func FuzzSplitRotated(f *testing.F) {
	for _, c := range rotatedCases {
		f.Add(c.name)
		f.Add("/w/" + c.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		var got rotatedSplit
		got.Stem, got.Ext, got.OK = splitRotated(name)
		if diff := cmp.Diff(refSplitRotated(name), got); diff != "" {
			t.Fatalf("splitRotated(%q) against the regular expression (-want +got):\n%s", name, diff)
		}
		if got, want := activeName(name), refActiveName(name); got != want {
			t.Fatalf("activeName(%q) = %q, the regular expression's %q", name, got, want)
		}
	})
}
