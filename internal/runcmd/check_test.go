package runcmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitCheck(t *testing.T) {
	tests := []struct {
		spec   string
		module string
		args   []string
	}{
		{"check.wasm", "check.wasm", []string{}},
		{"check.wasm:a:b", "check.wasm", []string{"a", "b"}},
		{"check.wasm::b", "check.wasm", []string{"", "b"}},
		{"stock:exists", "stock:exists", []string{}},
		{"stock:match:out.txt:^ok", "stock:match", []string{"out.txt", "^ok"}},
		{`stock:match:out.txt:^a\:\d`, "stock:match", []string{"out.txt", `^a:\d`}},
		{`dir\\:x`, `dir\`, []string{"x"}},
		{`c\:x.wasm:y`, "c:x.wasm", []string{"y"}},
	}
	for _, tt := range tests {
		module, args, err := SplitCheck(tt.spec)
		if err != nil {
			t.Errorf("SplitCheck(%q): %v", tt.spec, err)
			continue
		}
		if args == nil {
			args = []string{}
		}
		if diff := cmp.Diff(tt.module, module); diff != "" {
			t.Errorf("SplitCheck(%q) module (-want +got):\n%s", tt.spec, diff)
		}
		if diff := cmp.Diff(tt.args, args); diff != "" {
			t.Errorf("SplitCheck(%q) args (-want +got):\n%s", tt.spec, diff)
		}
	}
	if _, _, err := SplitCheck(":a"); err == nil {
		t.Error(`SplitCheck(":a") returned no error`)
	}
}
