package httpapi

// The committed-traffic series of /metrics: timing histograms and KoD
// counters per interface, added up from every batch the collector commits
// (Metrics.ObserveCommit), so that a duplicate the writer skipped or a
// session refused by the bounds is never counted, and the figures agree
// with the traffic series the API reads (the traffic of clients that
// --max-clients keeps out of the inventory is in both). They count from the
// collector's start; the created timestamp tells Prometheus when that was.
//
// The histograms are the series' own: schema-5 log buckets (package
// loghist), exported two ways at once. As a native histogram (protobuf
// scrapes, Prometheus with native histograms on) they keep the series'
// precision: any percentile within 1.09 %, over any range. As a classic
// histogram (the text format, every Prometheus) their bounds are powers of
// two (classicMinExp to classicMaxExp), which are boundaries of the
// schema-5 buckets, so the classic counts are exact sums of the native ones.

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// The classic bounds are the powers of two from 2^classicMinExp s (7.6 µs)
// to 2^classicMaxExp s (4 s). A server answers in a few to a few hundred
// microseconds, a loaded or virtualised one in milliseconds, and the wire
// time of an answer is bounded by the worker's --timeout (2 s by default);
// twenty buckets per interface keep the series count small while
// histogram_quantile still tells 20 µs from 40 µs. Whoever wants finer
// percentiles scrapes the native histogram.
const (
	classicMinExp = -17
	classicMaxExp = 2
)

// isKissCode reports whether code gets a label value of its own in
// ntp_kod_answers_total: the kiss codes of RFC 5905 (7.4) and NTSN of RFC
// 8915. A code is four bytes any spoofed response can set, and a counter is
// exported for good, so the others share otherKissCode.
func isKissCode(code string) bool {
	switch code {
	case "ACST", "AUTH", "AUTO", "BCST", "CRYP", "DENY", "DROP", "RSTR", "INIT", "MCST", "NKEY", "NTSN", "RATE", "RMOT", "STEP":
		return true
	}
	return false
}

// otherKissCode is the code label of the kiss codes isKissCode refuses.
const otherKissCode = "_other"

var (
	descProcessing = prometheus.NewDesc("ntp_server_processing_seconds",
		"Server processing time T3−T2 of the answered sessions committed since the collector started, by interface.",
		[]string{"interface"}, nil)
	descWireTime = prometheus.NewDesc("ntp_wire_time_seconds",
		"Wire time C2−C1 (request to answer as captured on the interface) of the answered sessions committed since the collector started, by interface.",
		[]string{"interface"}, nil)
	descKoDTotal = prometheus.NewDesc("ntp_kod_answers_total",
		"Kiss-o'-Death answers committed since the collector started, by interface and kiss code (codes outside RFC 5905 and 8915 as _other).",
		[]string{"interface", "code"}, nil)
)

// committedTraffic is what the committed batches added up to, by
// interface label.
type committedTraffic struct {
	since time.Time // when counting began: the series' created timestamp

	mu     sync.Mutex
	labels func(string) string // the label of an interface: workerSeries.label
	ifaces map[string]*interfaceTraffic
}

// interfaceTraffic is the committed traffic of one interface label.
type interfaceTraffic struct {
	processing, wire loghist.Histogram
	kod              map[string]uint64 // by code label
}

func newCommittedTraffic(labels func(string) string) *committedTraffic {
	return &committedTraffic{since: time.Now(), labels: labels, ifaces: map[string]*interfaceTraffic{}}
}

// ObserveCommit adds a committed batch to the histograms and counters; its
// signature matches the ingestion server's OnCommit hook. It merges the
// batch's minute buckets, a few per interface, not its sessions one by one.
func (m *Metrics) ObserveCommit(b *store.Batch) { m.committed.add(b) }

func (c *committedTraffic) add(b *store.Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for iface, bk := range b.Series() {
		if bk.Processing.Count() == 0 && bk.Wire.Count() == 0 && len(bk.KoDCodes) == 0 {
			continue // no answer: nothing of it is exported here
		}
		label := c.labels(iface)
		t := c.ifaces[label]
		if t == nil {
			t = &interfaceTraffic{kod: map[string]uint64{}}
			c.ifaces[label] = t
		}
		t.processing.Merge(&bk.Processing)
		t.wire.Merge(&bk.Wire)
		for code, n := range bk.KoDCodes {
			if !isKissCode(code) {
				code = otherKissCode
			}
			t.kod[code] += uint64(n)
		}
	}
}

func (c *committedTraffic) Describe(ch chan<- *prometheus.Desc) {
	ch <- descProcessing
	ch <- descWireTime
	ch <- descKoDTotal
}

func (c *committedTraffic) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for label, t := range c.ifaces {
		for _, h := range []struct {
			desc *prometheus.Desc
			h    *loghist.Histogram
		}{{descProcessing, &t.processing}, {descWireTime, &t.wire}} {
			m, err := exportHistogram(h.desc, h.h, c.since, label)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(h.desc, err)
				continue
			}
			ch <- m
		}
		for code, n := range t.kod {
			ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(descKoDTotal, prometheus.CounterValue, float64(n), c.since, label, code)
		}
	}
}

// exportHistogram is h as one metric that is a native histogram of schema
// loghist.Schema and a classic one with power-of-two bounds.
func exportHistogram(desc *prometheus.Desc, h *loghist.Histogram, since time.Time, label string) (prometheus.Metric, error) {
	pos, neg := map[int]int64{}, map[int]int64{}
	for i, n := range h.PositiveBuckets() {
		pos[i] = int64(n)
	}
	for i, n := range h.NegativeBuckets() {
		neg[i] = int64(n)
	}
	native, err := prometheus.NewConstNativeHistogram(desc, h.Count(), h.Sum(), pos, neg, h.ZeroCount(),
		loghist.Schema, loghist.ZeroThreshold, since, label)
	if err != nil {
		return nil, err
	}
	classic := make([]*dto.Bucket, 0, classicMaxExp-classicMinExp+1)
	for k := classicMinExp; k <= classicMaxExp; k++ {
		le := math.Ldexp(1, k)
		n := h.CountAtMost(k << loghist.Schema)
		classic = append(classic, &dto.Bucket{UpperBound: &le, CumulativeCount: &n})
	}
	return dualHistogram{native, classic}, nil
}

// dualHistogram adds classic buckets to a native histogram: client_golang
// has no constructor of a constant histogram with both.
type dualHistogram struct {
	prometheus.Metric
	classic []*dto.Bucket
}

func (d dualHistogram) Write(out *dto.Metric) error {
	if err := d.Metric.Write(out); err != nil {
		return err
	}
	out.Histogram.Bucket = d.classic
	return nil
}
