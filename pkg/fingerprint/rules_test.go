package fingerprint_test

import (
	"path/filepath"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
)

// TestRulesTable checks the table's rows: unique names, evidence, a
// confidence in (0, 1] and a real implementation.
func TestRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range fingerprint.Rules() {
		if r.Name == "" || seen[r.Name] {
			t.Errorf("rule name %q empty or repeated", r.Name)
		}
		seen[r.Name] = true
		if r.Evidence == "" || r.Match == nil {
			t.Errorf("%s: no evidence or no predicate", r.Name)
		}
		if r.Confidence <= 0 || r.Confidence > 1 {
			t.Errorf("%s: confidence %v", r.Name, r.Confidence)
		}
		if r.Implementation == fingerprint.Unknown || r.Implementation > fingerprint.Other {
			t.Errorf("%s: implementation %v", r.Name, r.Implementation)
		}
	}
}

// TestEveryRuleDecides checks that each rule is the one that decides at
// least one request of the captures or of the documented clients: a rule
// that never fires is shadowed by the rows above it.
func TestEveryRuleDecides(t *testing.T) {
	decided := map[string]int{}
	for _, set := range []string{"tuning", "heldout"} {
		for _, c := range expected(t) {
			var seq fingerprint.Sequence
			for _, r := range readRequests(t, filepath.Join("testdata", set, c.file)) {
				seq.Add(r.features, r.port, r.at)
				decided[ruleOf(fingerprint.Classify(r.features, &seq))]++
			}
		}
	}
	for _, c := range documentedCases() {
		decided[ruleOf(runDocCase(t, c))]++
	}
	for _, r := range fingerprint.Rules() {
		if decided[r.Name] == 0 {
			t.Errorf("rule %s decides nothing", r.Name)
		}
	}
	if decided["no-rule"] == 0 {
		t.Error("no case reaches the fallback")
	}
}
