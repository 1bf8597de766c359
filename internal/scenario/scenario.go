// Package scenario installs BRAIN's golden scenarios (golden/scenarios) and
// builds their replay cassettes.
//
// A scenario is a goal, a project (context files and check modules), and
// the replies a model gives to the plan request and to each task's
// request. Its cassette maps the request hash of each of those requests to
// its reply, so that brain-run plan and execute run it offline with the
// replay provider. golden/scenarios/basic/README.md describes the layout.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/brain-dev/brain/golden"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/plan"
)

// The files of an installed scenario, in its directory.
const (
	GoalFile     = "goal.txt"
	CassetteFile = "cassette.jsonl"
	TasksFile    = "tasks.yaml"
)

// Installed is a scenario installed in a directory.
type Installed struct {
	Name     string
	Dir      string
	Goal     string // the goal text, white space around it trimmed
	Cassette string // the cassette's path
}

// Names lists the golden scenarios brain-run demo can install.
func Names() []string { return []string{"basic"} }

// Install writes the golden scenario name into dir, which must exist: its
// project files, goal.txt and cassette.jsonl. Files are created, never
// replaced: an existing file is an error.
func Install(name, dir string) (*Installed, error) {
	base := "scenarios/" + name
	if _, err := fs.Stat(golden.Scenarios, base+"/"+GoalFile); err != nil {
		return nil, fmt.Errorf("scenario: no golden scenario %q (scenarios: %s)", name, strings.Join(Names(), ", "))
	}
	copyTo := func(src, dst string) error {
		b, err := fs.ReadFile(golden.Scenarios, src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	project := base + "/project"
	err := fs.WalkDir(golden.Scenarios, project, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return copyTo(p, filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, project+"/"))))
	})
	for _, f := range []string{GoalFile, CassetteFile} {
		if err == nil {
			err = copyTo(base+"/"+f, filepath.Join(dir, f))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("scenario: installing %s: %w", name, err)
	}
	goal, err := ReadGoal(filepath.Join(dir, GoalFile))
	if err != nil {
		return nil, err
	}
	return &Installed{Name: name, Dir: dir, Goal: goal, Cassette: filepath.Join(dir, CassetteFile)}, nil
}

// ReadGoal reads a goal file: its text with the white space around it
// trimmed.
func ReadGoal(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("scenario: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// BuildCassette returns the cassette that answers the requests brain-run
// plan and execute make for goal in the project directory dir, whose
// workspace is the directory workspace (relative to dir), from the files in
// replies:
//
//   - plan.yaml answers the plan request to planModel (default
//     orchestrator.DefaultPlanModel), plan@MODEL.yaml the plan request to
//     MODEL (as brain-run plan --plan-model MODEL asks it);
//   - TASK.txt answers the request of task TASK of the first valid plan
//     reply (in file name order);
//   - a .error file instead of a reply, holding a JSON object such as
//     {"type":"rate_limit","status":429}, makes that request fail as the
//     provider did (llm.ReplayedError).
//
// A task without a reply file gets no entry (a replay then fails for it).
// Token counts are estimates: a quarter of the bytes of the prompt and of the
// reply.
//
// It builds the requests with the orchestrator's own functions, gathering
// each task's context from dir as brain-run execute does, so the hashes are
// the ones a run looks up.
func BuildCassette(dir, goal string, replies fs.FS, planModel, taskModel, workspace string) ([]byte, error) {
	if planModel == "" {
		planModel = orchestrator.DefaultPlanModel
	}
	var out []byte
	// add appends the entry for req: the reply in name.txt or name.yaml,
	// or the failure in name.error.
	add := func(req llm.Request, file string, reply []byte) error {
		var line []byte
		var err error
		if strings.HasSuffix(file, ".error") {
			var fail llm.ReplayedError
			dec := json.NewDecoder(bytes.NewReader(reply))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&fail); err != nil {
				return fmt.Errorf("scenario: %s: %v", file, err)
			}
			line, err = llm.CassetteErrorLine(req, fail)
		} else {
			line, err = llm.CassetteLine(req, llm.Response{Text: string(reply), Model: req.Model,
				InputTokens: (len(req.System) + len(req.Prompt) + 3) / 4, OutputTokens: (len(reply) + 3) / 4, FinishReasons: []string{"stop"}})
		}
		if err != nil {
			return fmt.Errorf("scenario: %s: %w", file, err)
		}
		out = append(out, line...)
		return nil
	}
	files, err := fs.ReadDir(replies, ".")
	if err != nil {
		return nil, fmt.Errorf("scenario: the replies: %w", err)
	}
	var p *plan.Plan
	for _, f := range files {
		m := planReplyName.FindStringSubmatch(f.Name())
		if m == nil {
			continue
		}
		reply, err := fs.ReadFile(replies, f.Name())
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		model := planModel
		if m[1] != "" {
			model = m[1]
		}
		if err := add(orchestrator.PlanRequest(goal, model), f.Name(), reply); err != nil {
			return nil, err
		}
		if p == nil && m[2] == "yaml" {
			if pp, _, err := orchestrator.ParsePlanReply(string(reply), orchestrator.Limits{}); err == nil {
				p = pp
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("scenario: the replies hold no plan reply (plan.yaml, plan@MODEL.yaml or plan.error)")
	}
	if p == nil {
		return out, nil // a scenario whose plan replies are rejected or fail on purpose
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	defer root.Close()
	for i := range p.Tasks {
		t := &p.Tasks[i]
		name := t.ID + ".txt"
		reply, err := fs.ReadFile(replies, name)
		if errors.Is(err, fs.ErrNotExist) {
			name = t.ID + ".error"
			reply, err = fs.ReadFile(replies, name)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("scenario: the reply of task %s: %w", t.ID, err)
		}
		tc, err := orchestrator.GatherContext(root, t.Context, orchestrator.DefaultContextLimits, []string{path.Clean(filepath.ToSlash(workspace))})
		if err != nil {
			return nil, fmt.Errorf("scenario: task %s: %w", t.ID, err)
		}
		if err := add(orchestrator.TaskRequest(t, tc, orchestrator.TaskModel(t.Model, taskModel)), name, reply); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// planReplyName matches the plan replies: plan.yaml, plan.error and their
// plan@MODEL forms.
var planReplyName = regexp.MustCompile(`^plan(?:@([^/]+))?\.(yaml|error)$`)
