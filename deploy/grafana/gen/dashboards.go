package main

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the uid of the Prometheus data source every panel
// queries; deploy/grafana/provisioning/datasources provisions it.
const DatasourceUID = "brain-prometheus"

// The metric names are those the stack's Prometheus holds, as the
// collector's Prometheus exporter writes them (dots become underscores,
// the unit and _total are appended): brain's own (docs/telemetry.md,
// Metrics), the GenAI client metrics of the semantic conventions, the
// span metrics, and the collector's own (otelcol_*).

// board is one dashboard.
type board struct {
	file, uid, title, desc string
	panels                 []panel
}

// panel is one panel: a time series, or a stat of one value per series
// over the dashboard's time range.
type panel struct {
	title, desc, unit string
	stat              bool
	queries           []query
}

type query struct{ expr, legend string }

func boards() []board {
	return []board{
		{
			file: "llm.json", uid: "brain-llm", title: "BRAIN / LLM",
			desc: "Model calls made by brain-run: rate, latency, tokens, errors and cost, from the GenAI client metrics (gen_ai.client.operation.duration, gen_ai.client.token.usage).",
			panels: []panel{
				{title: "Calls by model", unit: "reqps", desc: "Model calls per second, by requested model.",
					queries: []query{{`sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count[$__rate_interval]))`, "{{gen_ai_request_model}}"}}},
				{title: "Latency p50 / p95 by model", unit: "s", desc: "Duration of the llm_provider.chat span: the provider call and the writing of its audit record.",
					queries: []query{
						{`histogram_quantile(0.5, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket[$__rate_interval])))`, "p50 {{gen_ai_request_model}}"},
						{`histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket[$__rate_interval])))`, "p95 {{gen_ai_request_model}}"},
					}},
				{title: "Tokens by model and token type", unit: "short", desc: "Tokens per second, input and output, by requested model.",
					queries: []query{{`sum by (gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[$__rate_interval]))`, "{{gen_ai_request_model}} {{gen_ai_token_type}}"}}},
				{title: "Errors by error.type", unit: "reqps", desc: "Failed model calls per second, by error class (rate_limit, timeout, auth, ...) and model.",
					queries: []query{{`sum by (error_type, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{error_type!=""}[$__rate_interval]))`, "{{error_type}} {{gen_ai_request_model}}"}}},
				{title: "Tokens over the range", unit: "short", stat: true, desc: "Tokens used in the dashboard's time range, by model and token type.",
					queries: []query{{`sum by (gen_ai_request_model, gen_ai_token_type) (increase(gen_ai_client_token_usage_sum[$__range]))`, "{{gen_ai_request_model}} {{gen_ai_token_type}}"}}},
				{title: "Cost over the range (USD)", unit: "currencyUSD", stat: true, desc: "Tokens times the price table (deploy/prometheus/prices.yaml, the recording rule brain:gen_ai_token_price_usd); models not in the table are not shown.",
					queries: []query{{`sum by (gen_ai_request_model) (sum by (gen_ai_request_model, gen_ai_token_type) (increase(gen_ai_client_token_usage_sum[$__range])) * brain:gen_ai_token_price_usd)`, "{{gen_ai_request_model}}"}}},
			},
		},
		{
			file: "exporter-health.json", uid: "brain-exporter-health", title: "BRAIN / Exporter health",
			desc: "Whether spans get from brain-run through the collector to Jaeger: what brain-run delivered, failed and kept on disk, and what the collector accepted, refused, failed to send and holds in its queue.",
			panels: []panel{
				{title: "brain-run spans: exported, failed, kept on disk", unit: "short", desc: "Spans per second. Failed spans are on disk for brain-run flush. A command whose endpoint is down cannot report it: see the collector's up and the alerts.",
					queries: []query{
						{`sum(rate(brain_spans_exported_total[$__rate_interval]))`, "exported"},
						{`sum(rate(brain_spans_failed_total[$__rate_interval]))`, "failed"},
						{`sum(rate(brain_spans_kept_total[$__rate_interval]))`, "kept on disk"},
					}},
				{title: "Collector receiver: accepted, refused, failed", unit: "short", desc: "Spans per second the collector's receivers took in, refused (back-pressure) and failed.",
					queries: []query{
						{`sum by (receiver) (rate(otelcol_receiver_accepted_spans[$__rate_interval]))`, "accepted {{receiver}}"},
						{`sum by (receiver) (rate(otelcol_receiver_refused_spans[$__rate_interval]))`, "refused {{receiver}}"},
						{`sum by (receiver) (rate(otelcol_receiver_failed_spans[$__rate_interval]))`, "failed {{receiver}}"},
					}},
				{title: "Collector exporters: sent, send failed", unit: "short", desc: "Spans per second each exporter sent (Jaeger, the backup file) and dropped after its retries.",
					queries: []query{
						{`sum by (exporter) (rate(otelcol_exporter_sent_spans[$__rate_interval]))`, "sent {{exporter}}"},
						{`sum by (exporter) (rate(otelcol_exporter_send_failed_spans[$__rate_interval]))`, "send failed {{exporter}}"},
					}},
				{title: "Collector queue", unit: "short", desc: "Batches waiting in each exporter's sending queue, and its capacity.",
					queries: []query{
						{`max by (exporter) (otelcol_exporter_queue_size)`, "size {{exporter}}"},
						{`max by (exporter) (otelcol_exporter_queue_capacity)`, "capacity {{exporter}}"},
					}},
				{title: "Metric points: accepted, refused", unit: "short", desc: "Metric points per second the collector took in and refused.",
					queries: []query{
						{`sum(rate(otelcol_receiver_accepted_metric_points[$__rate_interval]))`, "accepted"},
						{`sum(rate(otelcol_receiver_refused_metric_points[$__rate_interval]))`, "refused"},
					}},
				{title: "Up", unit: "short", stat: true, desc: "1 when Prometheus could scrape it.",
					queries: []query{{`up{job=~"brain|otelcol|jaeger"}`, "{{job}}"}}},
			},
		},
		{
			file: "audit.json", uid: "brain-audit", title: "BRAIN / Audit",
			desc: "The audit chain's write latency (write and fdatasync of each record) and how commands end, audit-write failures first.",
			panels: []panel{
				{title: "Audit write latency p50 / p99", unit: "s", desc: "Time to write an audit record durably.",
					queries: []query{
						{`histogram_quantile(0.5, sum by (le) (rate(brain_audit_write_duration_seconds_bucket[$__rate_interval])))`, "p50"},
						{`histogram_quantile(0.99, sum by (le) (rate(brain_audit_write_duration_seconds_bucket[$__rate_interval])))`, "p99"},
					}},
				{title: "Audit write latency p99 by event type", unit: "s",
					queries: []query{{`histogram_quantile(0.99, sum by (le, audit_event_type) (rate(brain_audit_write_duration_seconds_bucket[$__rate_interval])))`, "{{audit_event_type}}"}}},
				{title: "Commands by exit class", unit: "short", desc: "Commands per second: ok, exit_nonzero (exec's program failed) or the error class of a failure.",
					queries: []query{{`sum by (brain_exit_class) (rate(brain_commands_total[$__rate_interval]))`, "{{brain_exit_class}}"}}},
				{title: "Commands over the range", unit: "short", stat: true, desc: "Commands run in the dashboard's time range, by command and exit class.",
					queries: []query{{`sum by (brain_command, brain_exit_class) (increase(brain_commands_total[$__range]))`, "{{brain_command}} {{brain_exit_class}}"}}},
				{title: "Audit-failure exits", unit: "short", stat: true, desc: "Commands aborted because an audit record could not be written (exit 4): the operation did not happen.",
					queries: []query{{`sum by (brain_command) (increase(brain_commands_total{brain_exit_class="audit_write_failed"}[$__range]))`, "{{brain_command}}"}}},
				{title: "Failed audit writes by event type", unit: "short", stat: true,
					queries: []query{{`sum by (audit_event_type) (increase(brain_audit_write_duration_seconds_count{error_type="audit_write_failed"}[$__range]))`, "{{audit_event_type}}"}}},
			},
		},
		{
			file: "drills.json", uid: "brain-drills", title: "BRAIN / Drills",
			desc: "Outage drills (brain-drill, drills/*.md): runs by verdict, time to detect (TTD) and time to recover (TTR) per drill, from brain.drill.* metrics that brain-drill exports with its spans.",
			panels: []panel{
				{title: "Mean TTD by drill", unit: "s", stat: true, desc: "Mean time from the fault's injection to its detection, over every run the collector has seen.",
					queries: []query{{`sum by (brain_drill) (brain_drill_ttd_seconds_sum) / sum by (brain_drill) (brain_drill_ttd_seconds_count)`, "{{brain_drill}}"}}},
				{title: "Mean TTR by drill", unit: "s", stat: true, desc: "Mean time from the fault's injection to the steady state's return.",
					queries: []query{{`sum by (brain_drill) (brain_drill_ttr_seconds_sum) / sum by (brain_drill) (brain_drill_ttr_seconds_count)`, "{{brain_drill}}"}}},
				{title: "TTD and TTR p95 by drill", unit: "s", desc: "The 95th percentile over every run, from the histogram buckets.",
					queries: []query{
						{`histogram_quantile(0.95, sum by (le, brain_drill) (brain_drill_ttd_seconds_bucket))`, "TTD {{brain_drill}}"},
						{`histogram_quantile(0.95, sum by (le, brain_drill) (brain_drill_ttr_seconds_bucket))`, "TTR {{brain_drill}}"},
					}},
				{title: "Runs by drill and verdict", unit: "short", stat: true, desc: "passed, deviated, aborted, interrupted, not-run.",
					queries: []query{{`sum by (brain_drill, brain_drill_verdict) (brain_drill_runs_total)`, "{{brain_drill}} {{brain_drill_verdict}}"}}},
			},
		},
	}
}

// render returns every dashboard's JSON by file name.
func render() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, b := range boards() {
		d, err := build(b)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.title, err)
		}
		js, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.title, err)
		}
		out[b.file] = append(js, '\n')
	}
	return out, nil
}

// build returns b as a classic dashboard (schema v1), the JSON Grafana's
// file provisioning reads; the SDK's dashboardv2 is the schema of Grafana
// 12's new dashboard API, which provisioning from files does not take.
//
//lint:ignore SA1019 the classic schema is the one file provisioning reads (see above)
func build(b board) (dashboard.Dashboard, error) {
	ds := common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}
	//lint:ignore SA1019 the classic schema is the one file provisioning reads (see build)
	db := dashboard.NewDashboardBuilder(b.title).
		Uid(b.uid).
		Description(b.desc).
		Tags([]string{"brain"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneUtc).
		Editable()
	for _, p := range b.panels {
		var targets []cog.Builder[variants.Dataquery]
		for i, q := range p.queries {
			targets = append(targets, prometheus.NewDataqueryBuilder().
				Expr(q.expr).
				LegendFormat(q.legend).
				RefId(string(rune('A'+i))).
				Datasource(ds))
		}
		if p.stat {
			sp := stat.NewPanelBuilder().Title(p.title).Description(p.desc).Unit(p.unit).Datasource(ds).Span(12).Height(8).
				ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
			for _, t := range targets {
				sp.WithTarget(t)
			}
			db.WithPanel(sp)
			continue
		}
		tp := timeseries.NewPanelBuilder().Title(p.title).Description(p.desc).Unit(p.unit).Datasource(ds).Span(12).Height(8)
		for _, t := range targets {
			tp.WithTarget(t)
		}
		db.WithPanel(tp)
	}
	return db.Build()
}
