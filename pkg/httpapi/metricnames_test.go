package httpapi

import (
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ntp-monitor/ntp-monitor/pkg/retention"
)

// exportedNames are the ntp_ metric names the collector's /metrics
// describes: the exporter's own collectors and the retention counter that
// cmd/ntp-collector registers on its registry. The shipped alert rules and
// Grafana dashboard are held to this list.
func exportedNames() []string {
	var out []string
	for _, d := range exportedMetrics() {
		out = append(out, d.name)
	}
	return out
}

// metricDesc is one described metric: its name and variable labels.
type metricDesc struct {
	name   string
	labels []string
}

// exportedMetrics are the metrics of exportedNames with their labels.
func exportedMetrics() []metricDesc {
	m := NewMetrics()
	ret := retention.New(retention.Config{}, nil)
	return describe((*scrapeCollector)(m), m.committed, m.batchSeconds, m.batchSize, ret.Collector())
}

// describe reads the name and variable labels of what cs describe from
// each Desc's String: client_golang exposes no accessor for them.
func describe(cs ...prometheus.Collector) []metricDesc {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	vl := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	var out []metricDesc
	for d := range ch {
		s := fq.FindStringSubmatch(d.String())
		if s == nil {
			continue
		}
		md := metricDesc{name: s[1]}
		if l := vl.FindStringSubmatch(d.String()); l != nil && l[1] != "" {
			md.labels = strings.Split(l[1], ",")
		}
		out = append(out, md)
	}
	return out
}

// metricName is an ntp_ metric name in a PromQL expression.
var metricName = regexp.MustCompile(`\bntp_[a-z0-9_]+`)

// histogramSuffixes are the series a histogram named X is exported as
// (X_bucket, X_sum, X_count) while it is described as X.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// exprMetrics returns the ntp_ metric names expr reads, and those of them
// that are not in exported (a histogram's _bucket, _sum and _count series
// count as its described name).
func exprMetrics(expr string, exported []string) (names, unknown []string) {
	names = metricName.FindAllString(expr, -1)
	for _, n := range names {
		if slices.Contains(exported, n) {
			continue
		}
		known := false
		for _, suf := range histogramSuffixes {
			if base, ok := strings.CutSuffix(n, suf); ok && slices.Contains(exported, base) {
				known = true
			}
		}
		if !known {
			unknown = append(unknown, n)
		}
	}
	return names, unknown
}
