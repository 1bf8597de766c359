package orchestrator

import (
	"fmt"
	"strings"
	"time"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/verifier"
)

// ModuleCheck returns the check for module with args: a stock check
// ("stock:NAME", its leading argument added), or a .wasm file located by
// resolve.
func ModuleCheck(module string, args []string, resolve func(string) string) (verifier.Check, error) {
	if strings.HasPrefix(module, checks.Prefix) {
		wasm, lead, ok := checks.Lookup(module)
		if !ok {
			return verifier.Check{}, fmt.Errorf("no stock check %q (stock checks: %s)", module, strings.Join(checks.Names(), ", "))
		}
		return verifier.Check{Name: module, Wasm: wasm, Args: append(lead, args...)}, nil
	}
	return verifier.Check{Name: module, Path: resolve(module), Args: args}, nil
}

// TaskChecks returns the verifier's checks for task t of plan p: stock
// checks, and module files resolved against the plan's directory and read
// as bytes (readModule: no symbolic link, a regular file within its size
// limit, the bytes its pin names when it has one), so the verifier runs
// exactly the bytes checked; limits from tasks.yaml. A module named by
// several checks is read once.
func TaskChecks(p *plan.Plan, t *plan.Task) ([]verifier.Check, error) {
	var out []verifier.Check
	read := map[string][]byte{}
	for _, c := range t.Checks {
		var vc verifier.Check
		if isModuleFile(c) {
			key := c.Module + "\x00" + c.SHA256
			wasm, ok := read[key]
			if !ok {
				var err error
				if wasm, err = readModule(p, t, c, false); err != nil {
					return nil, err
				}
				read[key] = wasm
			}
			vc = verifier.Check{Name: c.Module, Wasm: wasm, Args: c.Args}
		} else {
			var err error
			if vc, err = ModuleCheck(c.Module, c.Args, nil); err != nil {
				return nil, fmt.Errorf("task %q: %w", t.ID, err)
			}
		}
		vc.Limits = verifier.Limits{
			Timeout:        time.Duration(c.Limits.Timeout),
			MemoryPages:    c.Limits.MemoryPages,
			MaxModuleBytes: c.Limits.MaxModuleBytes,
			MaxOutputBytes: c.Limits.MaxOutputBytes,
		}
		if err := vc.Limits.Validate(); err != nil {
			return nil, fmt.Errorf("task %q: %w", t.ID, err)
		}
		out = append(out, vc)
	}
	return out, nil
}
