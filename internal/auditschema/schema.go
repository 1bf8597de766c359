// Package auditschema validates audit records against golden/audit.schema.json.
// It is kept out of the binaries' hot path: the JSON Schema library compiles its
// meta-schemas at init (about 10 ms), which every brain-run command would pay.
package auditschema

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/golden"
)

var schemaOnce = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(golden.AuditSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("audit.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("audit.schema.json")
})

// ValidateRecord checks one record line against golden/audit.schema.json.
func ValidateRecord(line []byte) error {
	s, err := schemaOnce()
	if err != nil {
		return fmt.Errorf("auditschema: schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("auditschema: record is not JSON: %w", err)
	}
	return s.Validate(v)
}

// ValidateFile checks every record of a chain file against the schema and
// returns how many it checked.
func ValidateFile(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, chain.MaxRecordSize)
	n := 0
	for sc.Scan() {
		n++
		if err := ValidateRecord(sc.Bytes()); err != nil {
			return n, fmt.Errorf("%s:%d: %v", path, n, err)
		}
	}
	return n, sc.Err()
}
