// Package plan reads tasks.yaml, the file that lists BRAIN's tasks and the
// checks that verify each task's result. The parser is strict: unknown keys,
// a missing or unknown version, duplicate task ids and malformed limits are
// errors. docs/tasks-format.md describes the format.
package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Version is the only tasks.yaml version this package reads.
const Version = 1

// Plan is a parsed tasks.yaml.
type Plan struct {
	Version int    `yaml:"version"`
	Tasks   []Task `yaml:"tasks"`

	// Dir is the directory of the file the plan was loaded from; relative
	// module paths resolve against it. Empty for a plan parsed from bytes.
	Dir string `yaml:"-"`
}

// Task is one unit of work and the checks that accept its result.
type Task struct {
	ID      string   `yaml:"id"`
	Title   string   `yaml:"title"`
	Prompt  string   `yaml:"prompt"`
	Context []string `yaml:"context"` // globs of workspace files given to the model
	Model   string   `yaml:"model"`
	Checks  []Check  `yaml:"checks"`
}

// Check names a check module, its arguments and its limits.
type Check struct {
	// Module is "stock:NAME" or the path of a .wasm file, relative to the
	// plan's directory unless absolute.
	Module string `yaml:"module"`
	// SHA256 pins a module file: the lowercase hex SHA-256 of its bytes,
	// written by brain-run plan. Empty for a stock check.
	SHA256 string   `yaml:"sha256,omitempty"`
	Args   []string `yaml:"args"`
	Limits Limits   `yaml:"limits"`
}

// Limits override the verifier's defaults for one check; zero means default.
type Limits struct {
	Timeout        Duration `yaml:"timeout"`
	MemoryPages    uint32   `yaml:"memory_pages"`
	MaxModuleBytes int64    `yaml:"max_module_bytes"`
	MaxOutputBytes int64    `yaml:"max_output_bytes"`
}

// Duration is a time.Duration written as a Go duration string ("2s", "500ms").
type Duration time.Duration

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: timeout %q: want a duration such as \"2s\" or \"500ms\"", n.Line, s)
	}
	if v <= 0 {
		return fmt.Errorf("line %d: timeout %q must be positive", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MaxIDBytes is the longest task id: an id names a directory of the
// workspace (artifacts/plan-ID/TASK) and is in every record of its task.
const MaxIDBytes = 128

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidID reports whether id is a valid task id: 1 to MaxIDBytes letters,
// digits, '.', '_' and '-', starting with a letter or a digit.
func ValidID(id string) bool { return len(id) <= MaxIDBytes && idPattern.MatchString(id) }

// Load reads and parses the tasks.yaml at path and sets the plan's Dir.
func Load(path string) (*Plan, error) {
	data, err := fsutil.ReadFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("plan: %s: %w", path, errors.Unwrap(err))
	}
	p.Dir = filepath.Dir(path)
	return p, nil
}

// Parse parses one tasks.yaml document and validates it.
func Parse(data []byte) (*Plan, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Plan
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("plan: %w", errors.New("empty document"))
		}
		return nil, fmt.Errorf("plan: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("plan: %w", errors.New("more than one YAML document"))
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return &p, nil
}

func (p *Plan) validate() error {
	if p.Version != Version {
		return fmt.Errorf("version %d is not supported (want version: %d)", p.Version, Version)
	}
	seen := map[string]bool{}
	for i, t := range p.Tasks {
		if len(t.ID) > MaxIDBytes {
			return fmt.Errorf("task %d: id %.32q... is %d bytes, over the limit of %d", i+1, t.ID, len(t.ID), MaxIDBytes)
		}
		if !ValidID(t.ID) {
			return fmt.Errorf("task %d: id %q must be letters, digits, '.', '_' or '-'", i+1, t.ID)
		}
		if seen[t.ID] {
			return fmt.Errorf("task %q: duplicate id", t.ID)
		}
		seen[t.ID] = true
		for j, c := range t.Checks {
			if strings.TrimSpace(c.Module) == "" {
				return fmt.Errorf("task %q: check %d: module is empty", t.ID, j+1)
			}
			switch stock := strings.HasPrefix(c.Module, "stock:"); {
			case stock && c.SHA256 != "":
				return fmt.Errorf("task %q: check %d: sha256 pins a module file; stock checks are built in", t.ID, j+1)
			case c.SHA256 != "" && !sha256Pattern.MatchString(c.SHA256):
				return fmt.Errorf("task %q: check %d: sha256 %.80q is not 64 lowercase hex digits", t.ID, j+1, c.SHA256)
			}
			if c.Limits.MaxModuleBytes < 0 || c.Limits.MaxOutputBytes < 0 {
				return fmt.Errorf("task %q: check %d: limits must not be negative", t.ID, j+1)
			}
		}
	}
	return nil
}

// Task returns the task with the given id.
func (p *Plan) Task(id string) (*Task, bool) {
	for i := range p.Tasks {
		if p.Tasks[i].ID == id {
			return &p.Tasks[i], true
		}
	}
	return nil, false
}

// IDs returns the task ids in file order.
func (p *Plan) IDs() []string {
	ids := make([]string, len(p.Tasks))
	for i, t := range p.Tasks {
		ids[i] = t.ID
	}
	return ids
}

// ModulePath returns where the module of c is: c.Module itself when it is
// absolute, else c.Module relative to the plan's directory. It is meaningless
// for a stock module.
func (p *Plan) ModulePath(c Check) string {
	if filepath.IsAbs(c.Module) {
		return c.Module
	}
	return filepath.Join(p.Dir, filepath.FromSlash(c.Module))
}
