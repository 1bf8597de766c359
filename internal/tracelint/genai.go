package tracelint

import (
	"sort"

	"github.com/brain-dev/brain/internal/names"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// genAICall is what the report's GenAI summary reads of a model call: a
// span with gen_ai.operation.name (the OpenTelemetry GenAI semantic
// conventions).
type genAICall struct {
	provider, model string
	in, out         int64
	tokens          bool   // the span has token counts
	errType         string // error.type of a failed call
	failed          bool
}

// otherError is the error.type the GenAI conventions give a failure of no
// known type; the summary counts a failed call without error.type under it.
const otherError = "_OTHER"

// newGenAICall reads a model call's figures from its span's attributes,
// or returns nil for a span that is not a model call.
func newGenAICall(attrs pcommon.Map, failed bool) *genAICall {
	if _, ok := attrs.Get(names.AttrGenAIOperationName); !ok {
		return nil
	}
	c := &genAICall{failed: failed}
	str := func(k string) string {
		if v, ok := attrs.Get(k); ok {
			return shorten(v.AsString(), 80)
		}
		return ""
	}
	c.provider = str(names.AttrGenAIProviderName)
	if c.model = str(names.AttrGenAIRequestModel); c.model == "" {
		c.model = str(names.AttrGenAIResponseModel)
	}
	in, okIn := attrs.Get(names.AttrGenAIUsageInputTokens)
	out, okOut := attrs.Get(names.AttrGenAIUsageOutputTokens)
	if okIn && in.Type() == pcommon.ValueTypeInt {
		c.in, c.tokens = in.Int(), true
	}
	if okOut && out.Type() == pcommon.ValueTypeInt {
		c.out, c.tokens = out.Int(), true
	}
	if et := str(names.AttrErrorType); et != "" {
		c.errType, c.failed = et, true
	} else if failed {
		c.errType = otherError
	}
	return c
}

// GenAIModel sums up the calls to one model of one provider.
type GenAIModel struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Calls    int    `json:"calls"`
	Failed   int    `json:"failed"`
	// InputTokens and OutputTokens are summed over the calls that
	// report them.
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// Latency of the calls, in ns: the spans' durations.
	LatencyTotal uint64 `json:"latency_total"`
	LatencyP50   uint64 `json:"latency_p50"`
	LatencyMax   uint64 `json:"latency_max"`
}

// GenAIError counts the failed calls of one error.type.
type GenAIError struct {
	Type   string   `json:"type"`
	Calls  int      `json:"calls"`
	Models []string `json:"models"`
}

// GenAISummary is the report's GenAI summary of a set of spans: per model,
// calls, tokens in and out and latency; the failures by error.type.
type GenAISummary struct {
	Models []GenAIModel `json:"models"`
	Errors []GenAIError `json:"errors"`
}

// genAISummary sums up the model calls among spans (indexes of details).
// It returns nil when there is none.
func genAISummary(details []*spanDetail, spans []int) *GenAISummary {
	var t genAITally
	t.add(details, spans)
	return t.summary()
}

// genAITally sums up model calls as they are added; its summary is
// genAISummary's over every span added, in the order added.
type genAITally struct {
	byModel   map[genAIKey]*GenAIModel
	lat       map[genAIKey][]uint64
	byErr     map[string]*GenAIError
	errModels map[string]map[string]bool
}

type genAIKey struct{ provider, model string }

// add adds the model calls among spans (indexes of details).
func (t *genAITally) add(details []*spanDetail, spans []int) {
	if t.byModel == nil {
		t.byModel, t.lat = map[genAIKey]*GenAIModel{}, map[genAIKey][]uint64{}
		t.byErr, t.errModels = map[string]*GenAIError{}, map[string]map[string]bool{}
	}
	byModel, lat, byErr, errModels := t.byModel, t.lat, t.byErr, t.errModels
	for _, i := range spans {
		d := details[i]
		c := d.genai
		if c == nil {
			continue
		}
		k := genAIKey{c.provider, c.model}
		m := byModel[k]
		if m == nil {
			m = &GenAIModel{Provider: c.provider, Model: c.model}
			byModel[k] = m
		}
		m.Calls++
		m.InputTokens += c.in
		m.OutputTokens += c.out
		dur := uint64(0)
		if d.end > d.start {
			dur = d.end - d.start
		}
		m.LatencyTotal += dur
		m.LatencyMax = max(m.LatencyMax, dur)
		lat[k] = append(lat[k], dur)
		if c.failed {
			m.Failed++
			e := byErr[c.errType]
			if e == nil {
				e = &GenAIError{Type: c.errType}
				byErr[c.errType] = e
				errModels[c.errType] = map[string]bool{}
			}
			e.Calls++
			if !errModels[c.errType][c.model] {
				errModels[c.errType][c.model] = true
				e.Models = append(e.Models, c.model)
			}
		}
	}
}

// summary is the summary of the calls added, nil when there is none.
func (t *genAITally) summary() *GenAISummary {
	byModel, lat, byErr := t.byModel, t.lat, t.byErr
	if len(byModel) == 0 {
		return nil
	}
	s := &GenAISummary{}
	for k, m := range byModel {
		ls := lat[k]
		sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
		m.LatencyP50 = ls[(len(ls)-1)/2]
		s.Models = append(s.Models, *m)
	}
	sort.Slice(s.Models, func(i, j int) bool {
		a, b := s.Models[i], s.Models[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Model < b.Model
	})
	for _, e := range byErr {
		sort.Strings(e.Models)
		s.Errors = append(s.Errors, *e)
	}
	sort.Slice(s.Errors, func(i, j int) bool {
		if s.Errors[i].Calls != s.Errors[j].Calls {
			return s.Errors[i].Calls > s.Errors[j].Calls
		}
		return s.Errors[i].Type < s.Errors[j].Type
	})
	return s
}
