package httpapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// TestStatisticsNewUser is what a new user does: start the collector on
// an empty store with the default settings, open the statistics, let a
// worker send five clients over TCP, and open them again at once. The
// second answer has the five clients: once, the first answer's "data": []
// was served from a cache for minutes after.
func TestStatisticsNewUser(t *testing.T) {
	st := openStore(t)
	in, addr, m, _ := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })

	type statsBody struct {
		Data []struct {
			InterfaceName string `json:"interface_name"`
			Clients       int64  `json:"clients"`
			Sessions      int64  `json:"sessions"`
			Processing    struct {
				P50 *float64 `json:"p50_of_client_means"`
			} `json:"server_processing_time_seconds"`
			Range struct {
				Requests        int64  `json:"requests"`
				DistinctClients uint64 `json:"distinct_clients"`
				NewClients      int64  `json:"new_clients"`
			} `json:"range"`
		} `json:"data"`
		ClientMeansAge *float64 `json:"client_means_age_seconds"`
	}
	get := func() statsBody {
		r := ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
		wantStatus(t, r, http.StatusOK)
		return decode[statsBody](t, r)
	}
	if b := get(); len(b.Data) != 0 {
		t.Fatalf("empty store: %+v", b.Data)
	}

	w := dialWorker(t, addr, "w-1", "veth-new")
	var buf []byte
	for i := range 5 {
		s := sess(fmt.Sprintf("198.51.100.%d", i+1), onIface("veth-new"), at(time.Duration(i)*time.Second))
		buf = wire.AppendSession(buf[:0], uint64(i+1), &s)
		w.send(buf)
	}
	w.waitAck(5)

	b := get()
	if len(b.Data) != 1 {
		t.Fatalf("after five clients were stored: %+v", b.Data)
	}
	d := b.Data[0]
	if d.InterfaceName != "veth-new" || d.Clients != 5 || d.Sessions != 5 {
		t.Errorf("after five clients were stored: %+v", d)
	}
	if d.Range.Requests != 5 || d.Range.DistinctClients != 5 || d.Range.NewClients != 5 {
		t.Errorf("range after five clients were stored: %+v", d.Range)
	}
	// The percentiles of the client means are of the new clients too.
	if d.Processing.P50 == nil || b.ClientMeansAge == nil || *b.ClientMeansAge != 0 {
		t.Errorf("client means: p50 %v, age %v", d.Processing.P50, b.ClientMeansAge)
	}
}
