package httpapi

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// alertsFile is the shipped Prometheus rule file.
const alertsFile = "../../scripts/prometheus/alerts.yml"

// The shipped alert rules are a well-formed rule file (groups of rules,
// each with an expression, a duration, a severity and a summary) and read
// only metrics this collector exports, labelled by interface rather than
// by worker run.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	exported := exportedNames()
	var alerts []string
	for _, g := range doc.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a name and rules are needed", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" || r.For == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q: alert, expr, for and a summary are needed", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("rule %s: severity %q, want warning or critical", r.Alert, s)
			}
			if strings.Contains(r.Expr, "worker_id") {
				t.Errorf("rule %s reads worker_id, which changes at every worker restart", r.Alert)
			}
			names, unknown := exprMetrics(r.Expr, exported)
			if len(names) == 0 {
				t.Errorf("rule %s reads no ntp_ metric", r.Alert)
			}
			for _, n := range unknown {
				t.Errorf("rule %s reads %s, which /metrics does not export", r.Alert, n)
			}
		}
	}
	for _, want := range []string{"NTPAnsweredRatioFalling", "NTPKissOfDeathRate", "NTPServerProcessingSlow", "NTPKernelDrops", "NTPIngestionLag", "NTPWorkerDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}
