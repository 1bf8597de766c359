package checkmain

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestUnmarshalJSONLikeJSONSchema checks that UnmarshalJSON gives the values
// and errors of jsonschema.UnmarshalJSON, which the checks used before stock
// stopped linking that library.
func TestUnmarshalJSONLikeJSONSchema(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{}`, `{"a": [1, 2.5e3, -0, "x", true, null]}`, ` 1 `, `1 2`, `{} x`, `123abc`,
		`{"a":`, `[1,`, `"abc`, `1.`, `tru`, `{"a" 1}`, `[1 2]`, `nul`, "\"\xff\"", `{"a":1}}`, `"\u12"`,
		`12345678901234567890123456789`, `1e400`, "[" + string(bytes.Repeat([]byte("["), 10001)),
	} {
		got, gotErr := UnmarshalJSON([]byte(in))
		want, wantErr := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(in)))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("UnmarshalJSON(%q) (-jsonschema +ours):\n%s", in, diff)
		}
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("UnmarshalJSON(%q) error = %v, jsonschema's = %v", in, gotErr, wantErr)
		}
	}
}
