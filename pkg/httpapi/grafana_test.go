package httpapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboardFile is the shipped Grafana dashboard.
const dashboardFile = "../../scripts/grafana/ntp-monitor.json"

// The shipped dashboard passes every check of checkDashboard.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	problems, panels := checkDashboard(b, exportedMetrics())
	for _, p := range problems {
		t.Errorf("%s: %s", dashboardFile, p)
	}
	// The panels an operator asked for, each by a metric it must read.
	for _, want := range []string{"ntp_worker_sessions_total", "ntp_series_kod_answers_5m", "ntp_series_distinct_clients",
		"ntp_worker_kernel_drops_total", "ntp_worker_interface_drops_total", "ntp_worker_decode_errors_total",
		"ntp_worker_unacked_sessions", "ntp_collector_queue_sessions", "ntp_collector_commit_failures_total",
		"ntp_collector_connected_workers", "ntp_collector_stream_subscribers", "ntp_collector_retention_deleted_total",
		"ntp_ingest_clients_refused_total", "ntp_collector_batch_commit_seconds_bucket",
		"ntp_server_processing_seconds_bucket", "ntp_wire_time_seconds_bucket"} {
		if !slices.Contains(panels, want) {
			t.Errorf("%s: no panel reads %s", dashboardFile, want)
		}
	}
}

// Each broken dashboard under testdata/grafana is caught, with the problem
// its name says: the checks can fail. valid.json, which each of the others
// breaks in one way, passes them all.
func TestGrafanaDashboardChecks(t *testing.T) {
	tests := []struct{ file, want string }{
		{"valid.json", ""},
		{"no_unit.json", `panel "Requests" has no unit`},
		{"no_title.json", "panel 2 has no title"},
		{"unknown_metric.json", "reads ntp_worker_requests_total, which /metrics does not export"},
		{"unknown_variable.json", "$iface is no templating variable"},
		{"unfiltered.json", "reads ntp_worker_kernel_drops_total, labelled by interface, without $interface"},
		{"worker_id.json", "reads worker_id"},
		{"old_schema.json", "schemaVersion 30, want at least 36"},
		{"no_interface_variable.json", "no templating variable interface"},
		{"unbalanced.json", "has unbalanced brackets"},
	}
	exported := exportedMetrics()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "grafana", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			problems, _ := checkDashboard(b, exported)
			if tt.want == "" {
				if len(problems) > 0 {
					t.Errorf("problems %q, want none", problems)
				}
				return
			}
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

// grafanaPanel is the part of a Grafana panel the checks read.
type grafanaPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  map[string]any `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

// grafanaBuiltins are the variables Grafana itself defines.
var grafanaBuiltins = []string{"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"}

// dashboardVariable is a $name or ${name} (or ${name:format}) reference.
var dashboardVariable = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))`)

// checkDashboard lists what is wrong with the dashboard JSON b over the
// metrics exported: it must parse, have schemaVersion 36 or later, a
// Prometheus datasource variable and an interface variable; every panel a
// title and, unless a row, a unit and targets whose expressions read only
// exported metrics, filter by $interface whatever is labelled by
// interface, and never read worker_id; every variable reference must be a
// templating variable or one of Grafana's. It also returns the metric
// names the panels read.
func checkDashboard(b []byte, exported []metricDesc) (problems, read []string) {
	var d struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}, nil
	}
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if d.SchemaVersion < 36 {
		add("schemaVersion %d, want at least 36", d.SchemaVersion)
	}
	vars := slices.Clone(grafanaBuiltins)
	var datasource string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Type == "datasource" && v.Query == "prometheus" {
			datasource = v.Name
		}
	}
	if datasource == "" {
		add("no templating variable of type datasource for prometheus")
	}
	if !slices.Contains(vars, "interface") {
		add("no templating variable interface")
	}
	var names []string
	byInterface := map[string]bool{}
	for _, m := range exported {
		names = append(names, m.name)
		byInterface[m.name] = slices.Contains(m.labels, "interface")
	}
	for _, s := range dashboardVariable.FindAllStringSubmatch(string(b), -1) {
		if v := s[1] + s[2]; !slices.Contains(vars, v) {
			add("$%s is no templating variable", v)
		}
	}
	ids := map[int]bool{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				add("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.Title == "" {
				add("panel %d has no title", p.ID)
			}
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.FieldConfig.Defaults.Unit == "" {
				add("panel %q has no unit", p.Title)
			}
			if uid, _ := p.Datasource["uid"].(string); datasource != "" && uid != "${"+datasource+"}" {
				add("panel %q: datasource %q, want ${%s}", p.Title, uid, datasource)
			}
			if len(p.Targets) == 0 {
				add("panel %q has no targets", p.Title)
			}
			for _, tg := range p.Targets {
				ns, unknown := exprMetrics(tg.Expr, names)
				if len(ns) == 0 {
					add("panel %q: target %q reads no ntp_ metric", p.Title, tg.Expr)
				}
				for _, n := range unknown {
					add("panel %q reads %s, which /metrics does not export", p.Title, n)
				}
				for _, n := range ns {
					if byInterface[n] && !strings.Contains(tg.Expr, "$interface") {
						add("panel %q reads %s, labelled by interface, without $interface", p.Title, n)
					}
				}
				if !balanced(tg.Expr) {
					add("panel %q: target %q has unbalanced brackets", p.Title, tg.Expr)
				}
				if strings.Contains(tg.Expr, "worker_id") {
					add("panel %q reads worker_id, which changes at every worker restart", p.Title)
				}
				read = append(read, ns...)
			}
		}
	}
	walk(d.Panels)
	return problems, read
}

// balanced reports whether the (), [] and {} of a PromQL expression pair
// up, outside its quoted label values.
func balanced(expr string) bool {
	var open []rune
	quoted := false
	for _, r := range expr {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case strings.ContainsRune("([{", r):
			open = append(open, r)
		case strings.ContainsRune(")]}", r):
			want := map[rune]rune{')': '(', ']': '[', '}': '{'}[r]
			if len(open) == 0 || open[len(open)-1] != want {
				return false
			}
			open = open[:len(open)-1]
		}
	}
	return len(open) == 0 && !quoted
}
