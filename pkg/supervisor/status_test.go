package supervisor

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// TestStatusStatsJSON holds the stats of a status, as the API renders them,
// to testdata/status_stats.json: each counter of the worker's stats line
// under its own name, in the order of api/openapi.yaml, and the counters
// the status does not show left out.
func TestStatusStatsJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC)
	line := wire.Stats{
		Time: at.Add(-time.Second), Packets: 1, KernelReceived: 2, KernelDrops: 3, InterfaceDrops: 4,
		DecodeErrors: 5, Pending: 6, Evicted: 7, Sessions: 8, Answered: 9, Unanswered: 10,
		OtherModes: 11, Unmatched: 12, Sent: 13, Acked: 14, Lost: 15, Spooled: 16,
	}
	s := &Supervisor{cfg: Config{WorkerStats: func(iface string) (wire.Stats, time.Time, bool) {
		return line, at, iface == "eth0"
	}}}
	st := Status{Interface: "eth0", State: StateRunning}
	s.addStats(&st)
	got, err := json.MarshalIndent(st.Stats, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/status_stats.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("stats render as\n%s\nwant\n%s", got, want)
	}

	// No stats for a worker that is not running, or when ingestion has none.
	for _, st := range []Status{{Interface: "eth0", State: StateStopped}, {Interface: "eth1", State: StateRunning}} {
		s.addStats(&st)
		if st.Stats != nil {
			t.Errorf("%s %s: stats %+v, want none", st.Interface, st.State, st.Stats)
		}
	}
}
