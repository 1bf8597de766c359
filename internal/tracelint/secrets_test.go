package tracelint

import (
	"strings"
	"testing"
)

func TestFindSecret(t *testing.T) {
	// The credentials are made up, in the issuers' published shapes.
	for _, tt := range []struct {
		in   string
		kind string // "" for none
	}{
		{"sk-proj-Abc123Def456Ghi789Jkl012Mno345", "OpenAI-style API key"},
		{"key=sk-Abc123Def456Ghi789Jkl0", "OpenAI-style API key"},
		{"sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "Anthropic API key"},
		{"AIzaSyD-1234567890abcdefghijklmnopqrstu", "Google API key"},
		{"AKIAIOSFODNN7EXAMPLE", "AWS access key id"},
		{"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "GitHub token"},
		{"github_pat_11ABCDEFG0123456789_abcdefghij", "GitHub token"},
		{"glpat-abcdefghij0123456789", "GitLab token"},
		{"xoxb-1234567890-abcdefghij", "Slack token"},
		{"sk_live_abcdefghij0123456789", "Stripe secret key"},
		{"hf_abcdefghijklmnopqrstuvwxyzABCD1234", "Hugging Face token"},
		{"Authorization: Bearer abcDEF123ghiJKL456mno", "bearer token"},
		{"bearer 0123456789abcdef0123456789abcdef01", "bearer token"},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl", "JSON web token"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----", "private key"},
		{"-----BEGIN PRIVATE KEY-----MIIE", "private key"},
		{"postgres://app:s3cret@db:5432/x", "password in a URL"},
		{"DefaultEndpointsProtocol=https;AccountKey=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN0123==", "Azure storage account key"},

		// Values brain writes, and near misses.
		{"2f9a850f01354cf2cfc8deb9f8b6e31839499adb383b512fb7dd255ef51e4d1b", ""},
		{"7d98e926-14d9-4d3c-395a-e58fe8270d6d", ""},
		{"task-sk-abcdefghijklmnopqrstuvwx", ""},
		{"sk-learn-is-a-python-library", ""},
		{"risk-assessment-for-the-quarter-2026", ""},
		{"Bearer authentication failed", ""},
		{"-----BEGIN CERTIFICATE-----MIIB", ""},
		{"https://example.com:443/path@v2", ""},
		{"http://localhost:4317", ""},
		{"AKIA-not-a-key", ""},
		{"llm: openai: unauthorized (HTTP 401 Unauthorized, invalid_api_key)", ""},
	} {
		s, ok := findSecret(tt.in)
		if ok != (tt.kind != "") || s.Kind != tt.kind {
			t.Errorf("findSecret(%q) = %q, %v; want %q", tt.in, s.Kind, ok, tt.kind)
			continue
		}
		if ok && strings.Contains(tt.in, "0123456789") && strings.Contains(s.String(), "0123456789") {
			t.Errorf("the report %q repeats the secret", s)
		}
	}
}

func BenchmarkFindSecret(b *testing.B) {
	values := []string{"2f9a850f01354cf2cfc8deb9f8b6e31839499adb383b512fb7dd255ef51e4d1b", "7d98e926-14d9-4d3c-395a-e58fe8270d6d",
		"command.start", "gemini-2.5-flash", "exec"}
	for b.Loop() {
		for _, v := range values {
			findSecret(v)
		}
	}
}
