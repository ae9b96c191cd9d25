package top

import (
	"fmt"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// worker is an IngestWorker with capture counters as of capAt.
func worker(id, iface string, received int64, capAt time.Duration, answered, unanswered, drops int64) apiclient.IngestWorker {
	w := apiclient.IngestWorker{WorkerID: id, Interface: iface, Connected: true, Received: received}
	if capAt >= 0 {
		w.Capture = &apiclient.CaptureStats{At: t0.Add(capAt), Answered: answered, Unanswered: unanswered, KernelDrops: drops}
	}
	return w
}

func stats(at time.Duration, kod map[string]int64) *apiclient.InterfaceStatistics {
	s := &apiclient.InterfaceStatistics{GeneratedAt: t0.Add(at)}
	for name, k := range kod {
		s.Data = append(s.Data, apiclient.InterfaceStats{InterfaceName: name, KoD: k, Sessions: 1000, Clients: 10})
	}
	return s
}

func svc(received int64, workers ...apiclient.IngestWorker) *apiclient.ServiceStatistics {
	return &apiclient.ServiceStatistics{
		Ingestion: &apiclient.Ingestion{TotalReceived: received, QueueCapacity: 50000, ConnectedWorkers: int64(len(workers))},
		Workers:   workers,
	}
}

func f64(v float64) *float64 { return &v }

func eq(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

// Rates come from the right window of the right source, and are unknown
// until measured.
func TestSamplerRates(t *testing.T) {
	type want struct {
		req, ans, unans, kod, drops *float64
		workers                     int
	}
	tests := []struct {
		name    string
		samples []sample
		iface   string
		want    want
		ingest  *float64
	}{
		{
			name:    "first frame: nothing measured",
			samples: []sample{{at: t0, service: svc(100, worker("w1", "eth0", 100, 0, 90, 10, 0)), interfaces: stats(0, map[string]int64{"eth0": 5})}},
			iface:   "eth0",
			want:    want{workers: 1},
		},
		{
			name: "requests over our interval, answers over the capture interval, KoD over the statistics'",
			samples: []sample{
				{at: t0, service: svc(100, worker("w1", "eth0", 100, 0, 90, 10, 0)), interfaces: stats(0, map[string]int64{"eth0": 5})},
				// 2 s later: 40 more lines; capture stats 10 s newer; statistics not recomputed.
				{at: t0.Add(2 * time.Second), service: svc(140, worker("w1", "eth0", 140, 10*time.Second, 180, 30, 50)), interfaces: stats(0, map[string]int64{"eth0": 5})},
			},
			iface:  "eth0",
			want:   want{req: f64(20), ans: f64(90.0 / 110.0), unans: f64(2), drops: f64(5), workers: 1},
			ingest: f64(20),
		},
		{
			name: "statistics recomputed: KoD rate between the two computations",
			samples: []sample{
				{at: t0, service: svc(0, worker("w1", "eth0", 0, -1, 0, 0, 0)), interfaces: stats(0, map[string]int64{"eth0": 5})},
				{at: t0.Add(2 * time.Second), service: svc(0, worker("w1", "eth0", 0, -1, 0, 0, 0)), interfaces: stats(0, map[string]int64{"eth0": 5})},
				{at: t0.Add(60 * time.Second), service: svc(0, worker("w1", "eth0", 0, -1, 0, 0, 0)), interfaces: stats(60*time.Second, map[string]int64{"eth0": 65})},
			},
			iface:  "eth0",
			want:   want{req: f64(0), kod: f64(1), workers: 1},
			ingest: f64(0),
		},
		{
			name: "two workers on one interface add up; a third elsewhere does not count",
			samples: []sample{
				{at: t0, service: svc(0, worker("w1", "eth0", 0, 0, 0, 0, 0), worker("w2", "eth0", 0, 0, 0, 0, 0), worker("w3", "eth1", 0, 0, 0, 0, 0)), interfaces: stats(0, nil)},
				{at: t0.Add(time.Second), service: svc(0, worker("w1", "eth0", 10, 10*time.Second, 10, 0, 0), worker("w2", "eth0", 30, 10*time.Second, 0, 10, 0), worker("w3", "eth1", 1000, 10*time.Second, 0, 100, 0)), interfaces: stats(0, nil)},
			},
			iface:  "eth0",
			want:   want{req: f64(40), ans: f64(0.5), unans: f64(1), drops: f64(0), workers: 2},
			ingest: f64(0),
		},
		{
			name: "a restarted worker (new id) has no rate yet; the old one is forgotten",
			samples: []sample{
				{at: t0, service: svc(0, worker("w1", "eth0", 500, 0, 0, 0, 0)), interfaces: stats(0, nil)},
				{at: t0.Add(time.Second), service: svc(0, worker("w2", "eth0", 3, 5*time.Second, 3, 0, 0)), interfaces: stats(0, nil)},
			},
			iface:  "eth0",
			want:   want{workers: 1},
			ingest: f64(0),
		},
		{
			name: "a capture window with no request: answered share unknown, not 0 % or 100 %",
			samples: []sample{
				{at: t0, service: svc(0, worker("w1", "eth0", 0, 0, 7, 1, 0)), interfaces: stats(0, nil)},
				{at: t0.Add(time.Second), service: svc(0, worker("w1", "eth0", 0, 10*time.Second, 7, 1, 0)), interfaces: stats(0, nil)},
			},
			iface:  "eth0",
			want:   want{req: f64(0), unans: f64(0), drops: f64(0), workers: 1},
			ingest: f64(0),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm := newSampler()
			var f *Frame
			for i := range tc.samples {
				f = sm.frame("http://x", &tc.samples[i])
			}
			var r *InterfaceRow
			for i := range f.Interfaces {
				if f.Interfaces[i].Interface == tc.iface {
					r = &f.Interfaces[i]
				}
			}
			if r == nil {
				t.Fatalf("no row for %s in %+v", tc.iface, f.Interfaces)
			}
			got := want{r.RequestsPerSecond, r.AnsweredRatio, r.UnansweredPerSecond, r.KoDPerSecond, r.KernelDropsPerSecond, r.Workers}
			if !eq(got.req, tc.want.req) || !eq(got.ans, tc.want.ans) || !eq(got.unans, tc.want.unans) ||
				!eq(got.kod, tc.want.kod) || !eq(got.drops, tc.want.drops) || got.workers != tc.want.workers {
				t.Errorf("got %s, want %s", show(got.req, got.ans, got.unans, got.kod, got.drops), show(tc.want.req, tc.want.ans, tc.want.unans, tc.want.kod, tc.want.drops))
			}
			if !eq(f.Ingestion.SessionsPerSecond, tc.ingest) {
				t.Errorf("ingestion rate %s, want %s", show(f.Ingestion.SessionsPerSecond), show(tc.ingest))
			}
		})
	}
}

func show(vs ...*float64) string {
	out := ""
	for _, v := range vs {
		if v == nil {
			out += " nil"
		} else {
			out += fmt.Sprintf(" %g", *v)
		}
	}
	return out
}

// An interface known only from the statistics (its worker gone) or only
// from a worker (no rows yet) still gets a row; rows are sorted by name.
func TestSamplerInterfaces(t *testing.T) {
	sm := newSampler()
	f := sm.frame("http://x", &sample{at: t0, service: svc(0, worker("w1", "eth2", 0, -1, 0, 0, 0)), interfaces: stats(0, map[string]int64{"eth1": 0, "br0": 0})})
	var names []string
	for _, r := range f.Interfaces {
		names = append(names, r.Interface)
	}
	if got := names; len(got) != 3 || got[0] != "br0" || got[1] != "eth1" || got[2] != "eth2" {
		t.Errorf("interfaces %v, want br0 eth1 eth2", got)
	}
	if f.TopTalkers == nil || f.LatestKoD == nil || f.LatestUnanswered == nil {
		t.Error("missing client lists are nil, and would be null in JSON")
	}
}
