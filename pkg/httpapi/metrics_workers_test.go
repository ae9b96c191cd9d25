package httpapi

import (
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

func runOn(id, iface string, connectedAt time.Duration, packets, pending uint64, connected bool) ingest.WorkerSnapshot {
	return ingest.WorkerSnapshot{WorkerID: id, Interface: iface, Connected: connected, ConnectedAt: base.Add(connectedAt),
		Lag: 1, Stats: wire.Stats{Packets: packets, Pending: pending}, StatsAt: base}
}

// TestWorkerSeriesFold: counters add up over runs and never go back when
// a run leaves; gauges are the runs' current values; labels beyond the
// bound fold into OtherInterface and stay where they were handed out.
func TestWorkerSeriesFold(t *testing.T) {
	w := newWorkerSeries(2)
	get := func(out []interfaceSeries, label string) interfaceSeries {
		for _, s := range out {
			if s.label == label {
				return s
			}
		}
		t.Fatalf("no series %q in %+v", label, out)
		return interfaceSeries{}
	}
	steps := []struct {
		workers []ingest.WorkerSnapshot
		// packets and pending per label after the step
		want map[string][2]uint64
	}{
		{[]ingest.WorkerSnapshot{runOn("b", "eth1", 2, 5, 1, true), runOn("a", "eth0", 1, 10, 2, true), runOn("c", "eth9", 3, 7, 3, true)},
			map[string][2]uint64{"eth0": {10, 2}, "eth1": {5, 1}, OtherInterface: {7, 3}}},
		// a counts on, b disconnects (its pending no longer counts), c is
		// forgotten: nothing it counted is taken back.
		{[]ingest.WorkerSnapshot{runOn("a", "eth0", 1, 25, 4, true), runOn("b", "eth1", 2, 6, 1, false)},
			map[string][2]uint64{"eth0": {25, 4}, "eth1": {6, 0}, OtherInterface: {7, 0}}},
		// a restarts as run d, counting from zero again; eth9 keeps its
		// place in OtherInterface though a label is free of workers now.
		{[]ingest.WorkerSnapshot{runOn("d", "eth0", 4, 3, 0, true), runOn("e", "eth9", 5, 2, 0, true)},
			map[string][2]uint64{"eth0": {28, 0}, "eth1": {6, 0}, OtherInterface: {9, 0}}},
	}
	for i, st := range steps {
		out := w.fold(st.workers)
		if len(out) != len(st.want) {
			t.Fatalf("step %d: %d series, want %d: %+v", i, len(out), len(st.want), out)
		}
		for label, want := range st.want {
			s := get(out, label)
			if s.total.packets != want[0] || s.pending != want[1] {
				t.Errorf("step %d %s: packets %d pending %d, want %d and %d", i, label, s.total.packets, s.pending, want[0], want[1])
			}
		}
	}
	if n := len(w.last); n != 2 {
		t.Errorf("%d runs remembered after the last step, want the 2 listed", n)
	}
	clients := w.foldClients(map[string]int64{"eth0": 3, "eth1": 4, "eth9": 5, "zz": 6})
	if clients["eth0"] != 3 || clients["eth1"] != 4 || clients[OtherInterface] != 11 || len(clients) != 3 {
		t.Errorf("client counts folded to %v", clients)
	}
}
