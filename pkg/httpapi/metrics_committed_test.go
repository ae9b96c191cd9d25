package httpapi

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// timingTally is the exact count of what /metrics should have counted for
// one interface.
type timingTally struct {
	processing, wire []float64
	kod              map[string]int
}

// The timing histograms and KoD counters of /metrics equal an exact count
// of the sessions sent over TCP per interface: not the duplicates resent,
// not a session refused by the bounds, not the unanswered. Classic buckets
// and sums come from a scrape of the text format; the native histogram
// (protobuf scrapes) from the same registry. A collector started again over
// the same store counts from zero and takes the resent sessions for the
// duplicates they are.
func TestMetricsCommittedTimings(t *testing.T) {
	st := openStore(t)
	in, addr, m, stop := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })

	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]*timingTally{"eth0": {kod: map[string]int{}}, "eth1": {kod: map[string]int{}}}
	lines := map[string][][]byte{}
	for iface, n := range map[string]int{"eth0": 400, "eth1": 150} {
		for i := range n {
			s := sess(fmt.Sprintf("198.51.100.%d", i%200), onIface(iface), at(time.Duration(i)*7*time.Second))
			// Log-normal processing around 40 µs, a few answers of
			// seconds (beyond the last classic bound), wire times a
			// little longer.
			s.Processing = math.Exp(math.Log(40e-6) + 1.5*r.NormFloat64())
			if i%97 == 0 {
				s.Processing = 5 + float64(i%3)
			}
			s.Total = s.Processing + math.Exp(math.Log(200e-6)+r.NormFloat64())
			switch {
			case i%10 == 3:
				unanswered()(&s)
			case i%25 == 5:
				kod("RATE")(&s)
			case i%61 == 7:
				kod("XQZ9")(&s) // no RFC kiss code: counted as _other
			}
			if i == 11 {
				s.Processing = -1 // refused: out of session.Bounds
			}
			lines[iface] = append(lines[iface], wire.AppendSession(nil, uint64(i+1), &s))
			if s.Processing < 0 || !s.Answered {
				continue
			}
			tl := want[iface]
			tl.processing = append(tl.processing, s.Processing)
			tl.wire = append(tl.wire, s.Total)
			if s.KoD == "RATE" {
				tl.kod["RATE"]++
			} else if s.KoD != "" {
				tl.kod[otherKissCode]++
			}
		}
	}
	send := func(addr, iface string, from int) *worker {
		w := dialWorker(t, addr, "w-"+iface, iface)
		for _, l := range lines[iface][from:] {
			w.send(l)
		}
		return w
	}
	for iface, ls := range lines {
		w := send(addr, iface, 0)
		w.waitAck(uint64(len(ls)))
		// The first hundred again: duplicates, skipped.
		for _, l := range ls[:100] {
			w.send(l)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); in.Snapshot().DuplicatesSkipped < 200; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d duplicates skipped, want 200", in.Snapshot().DuplicatesSkipped)
		}
	}

	res := ts.do("GET", "/metrics", nil)
	wantStatus(t, res, http.StatusOK)
	samples := parseText(t, res.Body.String())
	for iface, tl := range want {
		for _, h := range []struct {
			name string
			v    []float64
		}{{"ntp_server_processing_seconds", tl.processing}, {"ntp_wire_time_seconds", tl.wire}} {
			checkClassic(t, samples, h.name, iface, h.v)
		}
		for code, n := range tl.kod {
			key := fmt.Sprintf(`ntp_kod_answers_total{code=%q,interface=%q}`, code, iface)
			if got := samples[key]; got != float64(n) {
				t.Errorf("%s = %v, want %d", key, got, n)
			}
		}
	}
	if strings.Contains(res.Body.String(), `code="XQZ9"`) {
		t.Error("a kiss code outside the RFCs has a label value of its own")
	}

	native := nativeHistograms(t, m)
	for iface, tl := range want {
		for _, h := range []struct {
			name string
			v    []float64
		}{{"ntp_server_processing_seconds", tl.processing}, {"ntp_wire_time_seconds", tl.wire}} {
			checkNative(t, native[h.name+"/"+iface], h.name+" "+iface, h.v)
		}
	}

	// Another collector over the same store: the resent sessions are
	// duplicates, and its counters start from zero.
	stop()
	in2, addr2, m2, _ := startIngest(t, st)
	ts2 := newTestServer(t, st, func(c *Config) { c.Ingest = in2; c.Metrics = m2 })
	send(addr2, "eth0", 0)
	n := uint64(len(lines["eth0"]))
	for deadline := time.Now().Add(10 * time.Second); in2.Snapshot().DuplicatesSkipped < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted collector skipped %d duplicates, want %d", in2.Snapshot().DuplicatesSkipped, n)
		}
	}
	body := ts2.do("GET", "/metrics", nil).Body.String()
	if strings.Contains(body, "ntp_server_processing_seconds_count") || strings.Contains(body, "ntp_kod_answers_total{") {
		t.Errorf("a restarted collector counted resent sessions:\n%s", grepLines(body, "ntp_server_processing_seconds_count", "ntp_kod_answers_total"))
	}
}

// checkClassic holds a classic histogram of the scrape to the exact values.
func checkClassic(t *testing.T, samples map[string]float64, name, iface string, v []float64) {
	t.Helper()
	count := samples[fmt.Sprintf("%s_count{interface=%q}", name, iface)]
	sum := samples[fmt.Sprintf("%s_sum{interface=%q}", name, iface)]
	if count != float64(len(v)) {
		t.Errorf("%s{%s} count %v, want %d", name, iface, count, len(v))
	}
	var exact float64
	for _, x := range v {
		exact += x
	}
	if math.Abs(sum-exact) > 1e-9*math.Abs(exact) {
		t.Errorf("%s{%s} sum %v, want %v", name, iface, sum, exact)
	}
	buckets := 0
	for k := classicMinExp; k <= classicMaxExp; k++ {
		le := math.Ldexp(1, k)
		var n int
		for _, x := range v {
			if x <= le {
				n++
			}
		}
		key := fmt.Sprintf("%s_bucket{interface=%q,le=%q}", name, iface, strconv.FormatFloat(le, 'g', -1, 64))
		got, ok := samples[key]
		if !ok || got != float64(n) {
			t.Errorf("%s = %v (present %v), want %d", key, got, ok, n)
		}
		if n > 0 && n < len(v) {
			buckets++
		}
	}
	if inf := samples[fmt.Sprintf("%s_bucket{interface=%q,le=\"+Inf\"}", name, iface)]; inf != float64(len(v)) {
		t.Errorf("%s{%s} +Inf bucket %v, want %d", name, iface, inf, len(v))
	}
	if buckets < 5 {
		t.Errorf("%s{%s}: only %d buckets tell the values apart", name, iface, buckets)
	}
}

// checkNative holds a native histogram to the exact values: count, sum,
// schema, and every bucket, its spans and deltas decoded.
func checkNative(t *testing.T, h *dto.Histogram, name string, v []float64) {
	t.Helper()
	if h == nil {
		t.Errorf("%s: no native histogram", name)
		return
	}
	if h.GetSchema() != loghist.Schema || h.GetSampleCount() != uint64(len(v)) || h.GetZeroThreshold() != loghist.ZeroThreshold {
		t.Errorf("%s: schema %d, count %d, zero threshold %g; want %d, %d, %g", name, h.GetSchema(), h.GetSampleCount(),
			h.GetZeroThreshold(), loghist.Schema, len(v), loghist.ZeroThreshold)
	}
	if h.GetCreatedTimestamp() == nil {
		t.Errorf("%s: no created timestamp", name)
	}
	want := map[int]uint64{}
	for _, x := range v {
		want[int(math.Ceil(math.Log2(x)*(1<<loghist.Schema)))]++
	}
	got := map[int]uint64{}
	idx, count := 0, int64(0)
	deltas := h.GetPositiveDelta()
	for _, sp := range h.GetPositiveSpan() {
		idx += int(sp.GetOffset())
		for range sp.GetLength() {
			count += deltas[0]
			deltas = deltas[1:]
			if count != 0 {
				got[idx] = uint64(count)
			}
			idx++
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d buckets in use, want %d", name, len(got), len(want))
	}
	for i, n := range want {
		if got[i] != n {
			t.Errorf("%s: bucket %d holds %d, want %d", name, i, got[i], n)
		}
	}
	if len(h.GetNegativeSpan()) != 0 || h.GetZeroCount() != 0 {
		t.Errorf("%s: negative or zero buckets for positive values", name)
	}
}

// nativeHistograms gathers the registry /metrics serves and returns its
// histograms by name and interface.
func nativeHistograms(t *testing.T, m *Metrics) map[string]*dto.Histogram {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Histogram{}
	for _, f := range fams {
		if f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "interface" {
					out[f.GetName()+"/"+l.GetValue()] = mt.GetHistogram()
				}
			}
		}
	}
	return out
}

// textSample is one sample line of the text format.
var textSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// parseText reads the samples of a text-format scrape, by name and labels
// as written.
func parseText(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		s := textSample.FindStringSubmatch(line)
		if s == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(s[2], 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out[s[1]] = v
	}
	return out
}
