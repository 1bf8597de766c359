// Command buildtime reads the action graph that `go build
// -debug-actiongraph=FILE` writes and says where a build's time went: the
// summed time of its actions, the longest ones, the time per module, and the
// critical path (the chain of dependent actions that no number of cores
// could shorten). scripts/bench-build.sh runs it after a cold `make build`.
//
// Usage: go run ./scripts/buildtime [-top N] FILE
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

type action struct {
	ID        int
	Mode      string
	Package   string
	Deps      []int
	TimeStart time.Time
	TimeDone  time.Time
}

func (a *action) took() time.Duration {
	if a.TimeStart.IsZero() || a.TimeDone.IsZero() {
		return 0
	}
	return a.TimeDone.Sub(a.TimeStart)
}

func main() {
	top := flag.Int("top", 12, "how many of the longest actions and modules to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: buildtime [-top N] ACTIONGRAPH.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildtime:", err)
		os.Exit(1)
	}
	var acts []*action
	if err := json.Unmarshal(b, &acts); err != nil {
		fmt.Fprintln(os.Stderr, "buildtime: the action graph:", err)
		os.Exit(1)
	}
	byID := make(map[int]*action, len(acts))
	var sum time.Duration
	var first, last time.Time
	for _, a := range acts {
		byID[a.ID] = a
		sum += a.took()
		if a.took() > 0 {
			if first.IsZero() || a.TimeStart.Before(first) {
				first = a.TimeStart
			}
			if a.TimeDone.After(last) {
				last = a.TimeDone
			}
		}
	}
	fmt.Printf("actions: %d, their time summed: %s, first start to last end: %s\n",
		len(acts), secs(sum), secs(last.Sub(first)))

	byTime := slices.Clone(acts)
	slices.SortFunc(byTime, func(a, b *action) int { return cmp.Compare(b.took(), a.took()) })
	fmt.Println("longest actions:")
	for _, a := range byTime[:min(*top, len(byTime))] {
		fmt.Printf("  %8s  %-6s %s\n", secs(a.took()), a.Mode, a.Package)
	}

	mods := map[string]time.Duration{}
	for _, a := range acts {
		if a.Mode == "build" {
			mods[module(a.Package)] += a.took()
		}
	}
	names := make([]string, 0, len(mods))
	for m := range mods {
		names = append(names, m)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(mods[b], mods[a]) })
	fmt.Println("compiling, by module:")
	for _, m := range names[:min(*top, len(names))] {
		fmt.Printf("  %8s  %4.1f%%  %s\n", secs(mods[m]), 100*mods[m].Seconds()/sum.Seconds(), m)
	}

	// The critical path: the longest chain through Deps, by the actions' own times.
	type path struct {
		d     time.Duration
		steps []int
	}
	memo := map[int]path{}
	var longest func(id int) path
	longest = func(id int) path {
		if p, ok := memo[id]; ok {
			return p
		}
		a := byID[id]
		var best path
		for _, d := range a.Deps {
			if p := longest(d); p.d > best.d {
				best = p
			}
		}
		p := path{best.d + a.took(), append(slices.Clone(best.steps), id)}
		memo[id] = p
		return p
	}
	var crit path
	for _, a := range acts {
		if p := longest(a.ID); p.d > crit.d {
			crit = p
		}
	}
	fmt.Printf("critical path: %s (steps over 0.5 s listed)\n", secs(crit.d))
	for _, id := range crit.steps {
		if a := byID[id]; a.took() > 500*time.Millisecond {
			fmt.Printf("  %8s  %-6s %s\n", secs(a.took()), a.Mode, a.Package)
		}
	}
}

// module names a package's module well enough to group by: the standard
// library as "std", else the first three path elements.
func module(pkg string) string {
	parts := strings.Split(pkg, "/")
	if !strings.Contains(parts[0], ".") {
		return "std"
	}
	return strings.Join(parts[:min(3, len(parts))], "/")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
