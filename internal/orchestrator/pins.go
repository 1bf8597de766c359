package orchestrator

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/brain-dev/brain/internal/plan"
)

// pinModules returns the tasks.yaml that pins every module file of plan p,
// whose bytes are data: the YAML document with each such check's sha256
// set to the SHA-256 of the module as it is now (hashModule), given right
// after its module. The document is edited as a YAML tree, so its
// comments, order and styles stay; a plan without module files is data
// itself. The result is read back and must be p with the pins, or it is an
// error.
func pinModules(p *plan.Plan, data []byte) ([]byte, *plan.Plan, error) {
	pinned := *p
	pinned.Tasks = make([]plan.Task, len(p.Tasks))
	type file struct {
		module string
		max    int64
	}
	sums := map[file]string{} // each file is read once
	for i, t := range p.Tasks {
		t.Checks = append([]plan.Check(nil), t.Checks...)
		for j, c := range t.Checks {
			if !isModuleFile(c) {
				continue
			}
			key := file{c.Module, maxModuleBytes(c)}
			sum, ok := sums[key]
			if !ok {
				var err error
				if sum, err = hashModule(p, &p.Tasks[i], c); err != nil {
					return nil, nil, invalidPlan(err)
				}
				sums[key] = sum
			}
			t.Checks[j].SHA256 = sum
		}
		pinned.Tasks[i] = t
	}
	if len(sums) == 0 {
		return data, p, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	tasks := mapValue(doc.Content[0], "tasks")
	for i, t := range pinned.Tasks {
		for j, c := range t.Checks {
			if c.SHA256 == "" {
				continue
			}
			var check *yaml.Node
			if tasks != nil && i < len(tasks.Content) {
				if checks := mapValue(tasks.Content[i], "checks"); checks != nil && j < len(checks.Content) {
					check = deref(checks.Content[j])
				}
			}
			if check == nil || check.Kind != yaml.MappingNode || !setAfter(check, "module", "sha256", c.SHA256) {
				return nil, nil, fmt.Errorf("%w: task %q: the check of %s is written in a YAML form (an alias, a merge key) that cannot be pinned: write it plainly",
					ErrInvalidPlan, t.ID, c.Module)
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, err
	}
	enc.Close()
	again, err := plan.Parse(b.Bytes())
	if err == nil {
		again.Dir = pinned.Dir
	}
	if err == nil && !reflect.DeepEqual(*again, pinned) {
		err = errors.New("the plan read back differs from the plan with its pins")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: pinning the check modules: %v", ErrInvalidPlan, err)
	}
	return b.Bytes(), &pinned, nil
}

// mapValue returns the value of key in the mapping node m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// deref returns the node an alias stands for, or n.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// setAfter sets key to the string value in the mapping node m, in place if
// key is there, else right after the pair of the key after; it reports
// whether it found either.
func setAfter(m *yaml.Node, after, key, value string) bool {
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return true
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == after {
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
			m.Content = append(m.Content[:i+2], append([]*yaml.Node{k, v}, m.Content[i+2:]...)...)
			return true
		}
	}
	return false
}
