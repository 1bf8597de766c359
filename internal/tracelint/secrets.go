package tracelint

import (
	"strconv"
	"strings"
)

// A secret is a value that looks like a credential. Detection is by shape
// (the prefixes and alphabets credential issuers use, see docs/trace-lint.md),
// never by a list of known values, and a report never repeats the value:
// only its kind, the fixed prefix that identified it and its length.
type secret struct {
	Kind   string // "OpenAI-style API key", ...
	Prefix string // the fixed, non-secret prefix that identified it: "sk-"
	Len    int    // the length of the credential
}

// charset is a set of bytes.
type charset [256]bool

func newCharset(ranges ...string) *charset {
	var c charset
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

var (
	alnum     = newCharset("a-z", "A-Z", "0-9")
	upperNum  = newCharset("A-Z", "0-9")
	keyChars  = newCharset("a-z", "A-Z", "0-9", "_-")
	patChars  = newCharset("a-z", "A-Z", "0-9", "_")
	slackChar = newCharset("a-z", "A-Z", "0-9", "-")
	b64Chars  = newCharset("a-z", "A-Z", "0-9", "+/=")
	tokChars  = newCharset("a-z", "A-Z", "0-9", "-._~+/")
)

// shape is one credential shape: a prefix, then at least min bytes of set.
type shape struct {
	prefix string
	kind   string
	set    *charset
	min    int
	// exact, when non-zero, is the exact length of the run after the prefix.
	exact int
	// mixed requires digits and letters of both cases in the run (random
	// keys have them, words and identifiers rarely do), unless the run is at
	// least plain bytes long (when plain > 0).
	mixed bool
	plain int
}

// shapes, longest prefix first where prefixes overlap (sk-ant- before sk-).
var shapes = []shape{
	{prefix: "sk-ant-", kind: "Anthropic API key", set: keyChars, min: 32},
	{prefix: "sk-", kind: "OpenAI-style API key", set: keyChars, min: 20, mixed: true},
	{prefix: "sk_live_", kind: "Stripe secret key", set: alnum, min: 16},
	{prefix: "sk_test_", kind: "Stripe secret key", set: alnum, min: 16},
	{prefix: "rk_live_", kind: "Stripe restricted key", set: alnum, min: 16},
	{prefix: "AIza", kind: "Google API key", set: keyChars, exact: 35},
	{prefix: "AKIA", kind: "AWS access key id", set: upperNum, exact: 16},
	{prefix: "ASIA", kind: "AWS temporary access key id", set: upperNum, exact: 16},
	{prefix: "ghp_", kind: "GitHub token", set: alnum, min: 36},
	{prefix: "gho_", kind: "GitHub token", set: alnum, min: 36},
	{prefix: "ghu_", kind: "GitHub token", set: alnum, min: 36},
	{prefix: "ghs_", kind: "GitHub token", set: alnum, min: 36},
	{prefix: "ghr_", kind: "GitHub token", set: alnum, min: 36},
	{prefix: "github_pat_", kind: "GitHub token", set: patChars, min: 22},
	{prefix: "glpat-", kind: "GitLab token", set: keyChars, min: 20},
	{prefix: "xoxb-", kind: "Slack token", set: slackChar, min: 10},
	{prefix: "xoxp-", kind: "Slack token", set: slackChar, min: 10},
	{prefix: "xoxa-", kind: "Slack token", set: slackChar, min: 10},
	{prefix: "xapp-", kind: "Slack token", set: slackChar, min: 10},
	{prefix: "hf_", kind: "Hugging Face token", set: alnum, min: 30, mixed: true},
	{prefix: "AccountKey=", kind: "Azure storage account key", set: b64Chars, min: 40},
	{prefix: "Bearer ", kind: "bearer token", set: tokChars, min: 16, mixed: true, plain: 32},
	{prefix: "bearer ", kind: "bearer token", set: tokChars, min: 16, mixed: true, plain: 32},
}

// byFirst indexes the shapes by their prefix's first byte; triggers also
// marks the first bytes of the special cases in findSecret, so that most
// bytes of a value cost one table lookup.
var byFirst, triggers = func() (idx [256][]*shape, t charset) {
	for i := range shapes {
		s := &shapes[i]
		idx[s.prefix[0]] = append(idx[s.prefix[0]], s)
		t[s.prefix[0]] = true
	}
	for _, c := range "-e:" { // -----BEGIN, eyJ (a JSON web token), :// (URL credentials)
		t[c] = true
	}
	return idx, t
}()

// findSecret returns the first credential-shaped part of v.
func findSecret(v string) (secret, bool) {
	if len(v) < 12 {
		return secret{}, false
	}
	for i := 0; i < len(v); i++ {
		if !triggers[v[i]] {
			continue
		}
		rest := v[i:]
		switch {
		case v[i] == '-' && strings.HasPrefix(rest, "-----BEGIN "):
			// "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", ...
			label, _, ok := strings.Cut(rest[len("-----BEGIN "):], "-----")
			if ok && len(label) < 40 && strings.HasSuffix(label, "PRIVATE KEY") {
				n := len(rest)
				if end := strings.Index(rest, "-----END "); end > 0 {
					n = end + len("-----END ") + len(label) + len("-----")
				}
				return secret{"private key", "-----BEGIN", min(n, len(rest))}, true
			}
			continue
		case v[i] == 'e' && strings.HasPrefix(rest, "eyJ"):
			if n := jwtLen(rest); n > 0 && boundary(v, i) {
				return secret{"JSON web token", "eyJ", n}, true
			}
			continue
		case v[i] == ':' && strings.HasPrefix(rest, "://"):
			if n := urlPasswordLen(rest[3:]); n > 0 {
				return secret{"password in a URL", "://", n}, true
			}
			continue
		}
		for _, s := range byFirst[v[i]] {
			if !strings.HasPrefix(rest, s.prefix) || !boundary(v, i) {
				continue
			}
			n := run(rest[len(s.prefix):], s.set)
			switch {
			case s.exact > 0 && n != s.exact,
				s.exact == 0 && n < s.min,
				s.mixed && (s.plain == 0 || n < s.plain) && !mixed(rest[len(s.prefix):len(s.prefix)+n]):
				continue
			}
			return secret{s.kind, s.prefix, len(s.prefix) + n}, true
		}
	}
	return secret{}, false
}

// boundary reports whether position i of v starts a word: a credential
// glued to letters or digits ("task-", "desk-") is part of something else.
func boundary(v string, i int) bool {
	return i == 0 || !alnum[v[i-1]]
}

// run returns how many leading bytes of s are in set.
func run(s string, set *charset) int {
	n := 0
	for n < len(s) && set[s[n]] {
		n++
	}
	return n
}

func mixed(s string) bool {
	var digit, upper, lower bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		digit = digit || c >= '0' && c <= '9'
		upper = upper || c >= 'A' && c <= 'Z'
		lower = lower || c >= 'a' && c <= 'z'
	}
	return digit && upper && lower
}

// jwtLen returns the length of the JSON web token s starts with, or 0: three
// base64url parts of at least 10 bytes, separated by dots.
func jwtLen(s string) int {
	n := 0
	for part := 0; part < 3; part++ {
		k := run(s[n:], keyChars)
		if k < 10 {
			return 0
		}
		n += k
		if part < 2 {
			if n >= len(s) || s[n] != '.' {
				return 0
			}
			n++
		}
	}
	return n
}

// urlPasswordLen returns the length of "user:password@" at the start of s
// (what follows a URL's "://"), or 0.
func urlPasswordLen(s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '@':
			colon := strings.IndexByte(s[:i], ':')
			if colon > 0 && colon < i-1 {
				return i + 1
			}
			return 0
		case '/', ' ', '\t', '\n', '?', '#':
			return 0
		}
	}
	return 0
}

// String describes the secret without repeating it, with an article: "an
// OpenAI-style API key (sk-…, 51 characters)".
func (s secret) String() string {
	a := "a "
	if strings.ContainsRune("AEIOUaeiou", rune(s.Kind[0])) {
		a = "an "
	}
	return a + s.Kind + " (" + s.Prefix + "…, " + strconv.Itoa(s.Len) + " characters)"
}
