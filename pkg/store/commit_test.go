package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// TestCommitFold checks how sessions fold into a row, within one batch and
// across batches, including sessions that arrive out of order.
func TestCommitFold(t *testing.T) {
	// null marks a column that must be NULL.
	null := struct{}{}
	responseNull := map[string]any{
		"stratum": null, "precision": null, "root_delay": null, "root_dispersion": null,
		"reference_id": null, "leap_indicator": null, "reference_timestamp": null,
		"originate_timestamp": null, "receive_timestamp": null, "transmit_timestamp": null,
		"client_to_server_latency_seconds": null, "server_processing_time_seconds": null,
		"total_process_time_seconds": null,
	}
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		batches [][]session.Session
		ip, ifc string
		want    map[string]any
	}{
		{
			name:    "one answered session",
			batches: [][]session.Session{{sess("198.51.100.7", 1, port(123), answered(0.01, 0.0002, 0.0003))}},
			ip:      "198.51.100.7", ifc: "eth0",
			want: map[string]any{
				"client_port": 123, "server_ip": "192.0.2.1", "server_port": 123, "ntp_version": 4, "mode": 3,
				"stratum": 2, "precision": -24, "root_delay": 0.001, "root_dispersion": 0.002,
				"reference_id": "192.0.2.53", "leap_indicator": "no_warning", "poll_interval": 6,
				"client_to_server_latency_seconds": 0.01, "server_processing_time_seconds": 0.0002,
				"total_process_time_seconds": 0.0003, "packet_length": 48,
				"session_timestamp": ts(1), "first_seen_timestamp": ts(1), "last_seen_timestamp": ts(1),
				"session_count": 1, "answered_count": 1, "unanswered_count": 0, "kod_count": 0, "last_kod_code": null,
				"latency_count": 1, "latency_min": 0.01, "latency_max": 0.01, "latency_sum": 0.01,
				"processing_min": 0.0002, "processing_max": 0.0002, "processing_sum": 0.0002,
				"total_min": 0.0003, "total_max": 0.0003, "total_sum": 0.0003,
				"mode1_count": 0, "mode7_count": 0,
			},
		},
		{
			name:    "unanswered only",
			batches: [][]session.Session{{sess("198.51.100.7", 1)}},
			ip:      "198.51.100.7", ifc: "eth0",
			want: with(responseNull, "session_count", 1, "answered_count", 0, "unanswered_count", 1,
				"latency_count", 0, "latency_min", null, "latency_max", null, "latency_sum", 0.0,
				"processing_min", null, "total_max", null, "mode", 3, "client_port", 40000),
		},
		{
			name: "out of order within a batch",
			batches: [][]session.Session{{
				sess("198.51.100.7", 10, port(1000), answered(0.02, 0.001, 0.002)),
				sess("198.51.100.7", 5, port(2000)),
				sess("198.51.100.7", 7, port(3000), answered(0.01, 0.003, 0.001)),
			}},
			ip: "198.51.100.7", ifc: "eth0",
			want: map[string]any{
				"client_port": 1000, "stratum": 2, "client_to_server_latency_seconds": 0.02,
				"session_timestamp": ts(10), "first_seen_timestamp": ts(5), "last_seen_timestamp": ts(10),
				"session_count": 3, "answered_count": 2, "unanswered_count": 1,
				"latency_min": 0.01, "latency_max": 0.02, "latency_sum": 0.03,
				"processing_min": 0.001, "processing_max": 0.003, "total_min": 0.001, "total_max": 0.002,
			},
		},
		{
			name: "out of order across batches",
			batches: [][]session.Session{
				{sess("198.51.100.7", 10, port(1000), answered(0.02, 0.001, 0.002))},
				{sess("198.51.100.7", 5, port(2000)), sess("198.51.100.7", 3, port(2500), answered(0.5, 0.1, 0.2))},
			},
			ip: "198.51.100.7", ifc: "eth0",
			want: map[string]any{
				"client_port": 1000, "stratum": 2, "client_to_server_latency_seconds": 0.02,
				"server_processing_time_seconds": 0.001,
				"session_timestamp":              ts(10), "first_seen_timestamp": ts(3), "last_seen_timestamp": ts(10),
				"session_count": 3, "answered_count": 2, "unanswered_count": 1,
				"latency_count": 2, "latency_min": 0.02, "latency_max": 0.5,
				"processing_max": 0.1, "total_sum": 0.202,
			},
		},
		{
			// The last-packet columns describe the latest session exactly;
			// older answers live on in the aggregates.
			name: "latest unanswered clears the response columns",
			batches: [][]session.Session{
				{sess("198.51.100.7", 1, answered(0.02, 0.001, 0.002))},
				{sess("198.51.100.7", 2, port(999))},
			},
			ip: "198.51.100.7", ifc: "eth0",
			want: with(responseNull, "client_port", 999, "session_timestamp", ts(2),
				"answered_count", 1, "unanswered_count", 1, "latency_min", 0.02, "processing_max", 0.001),
		},
		{
			name: "hidden transmit time leaves latency NULL but folds the other metrics",
			batches: [][]session.Session{
				{sess("2001:db8::5", 1, answered(-1, 0.001, 0.002))},
				{sess("2001:db8::5", 2, answered(-1, 0.003, 0.004))},
			},
			ip: "2001:db8::5", ifc: "eth0",
			want: map[string]any{
				"client_to_server_latency_seconds": null, "server_processing_time_seconds": 0.003,
				"latency_count": 0, "latency_min": null, "latency_max": null, "latency_sum": 0.0,
				"processing_min": 0.001, "processing_max": 0.003, "total_sum": 0.006,
			},
		},
		{
			name: "metrics NULL on one side of a min/max fold",
			batches: [][]session.Session{
				{sess("198.51.100.7", 1, answered(-1, 0.001, 0.002))},
				{sess("198.51.100.7", 2, answered(0.25, 0.001, 0.002))},
				{sess("198.51.100.7", 3, answered(-1, 0.001, 0.002))},
			},
			ip: "198.51.100.7", ifc: "eth0",
			want: map[string]any{"latency_count": 1, "latency_min": 0.25, "latency_max": 0.25, "latency_sum": 0.25},
		},
		{
			name: "kiss-o'-death codes keep the latest",
			batches: [][]session.Session{
				{sess("198.51.100.9", 10, answered(0.01, 0.001, 0.001), kod("RATE")),
					sess("198.51.100.9", 8, answered(0.01, 0.001, 0.001), kod("DENY"))},
				{sess("198.51.100.9", 9, answered(0.01, 0.001, 0.001), kod("RSTR")),
					sess("198.51.100.9", 11, answered(0.01, 0.001, 0.001))},
			},
			ip: "198.51.100.9", ifc: "eth0",
			want: map[string]any{
				"kod_count": 3, "last_kod_code": "RATE", "last_kod_timestamp": ts(10),
				"answered_count": 4, "stratum": 2, "reference_id": "192.0.2.53", "session_timestamp": ts(11),
			},
		},
		{
			// The newest unanswered request wins; a late batch of older
			// unanswered sessions never lowers it, and answered ones never
			// touch it.
			name: "last unanswered time folds by greatest",
			batches: [][]session.Session{
				{sess("198.51.100.20", 5), sess("198.51.100.20", 7), sess("198.51.100.20", 6),
					sess("198.51.100.20", 9, answered(0.01, 0.001, 0.001))},
				{sess("198.51.100.20", 3), sess("198.51.100.20", 12, answered(0.01, 0.001, 0.001))},
			},
			ip: "198.51.100.20", ifc: "eth0",
			want: map[string]any{"unanswered_count": 4, "answered_count": 2, "last_unanswered_timestamp": ts(7)},
		},
		{
			name: "a later unanswered request raises it",
			batches: [][]session.Session{
				{sess("198.51.100.21", 5)},
				{sess("198.51.100.21", 8), sess("198.51.100.21", 1)},
			},
			ip: "198.51.100.21", ifc: "eth0",
			want: map[string]any{"unanswered_count": 3, "last_unanswered_timestamp": ts(8)},
		},
		{
			name: "never unanswered stays NULL",
			batches: [][]session.Session{
				{sess("198.51.100.22", 1, answered(0.01, 0.001, 0.001)), sess("198.51.100.22", 2, mode(4, 6))},
				{sess("198.51.100.22", 3, answered(0.01, 0.001, 0.001))},
			},
			ip: "198.51.100.22", ifc: "eth0",
			want: map[string]any{"unanswered_count": 0, "last_unanswered_timestamp": null},
		},
		{
			name: "a later KoD replaces the code",
			batches: [][]session.Session{
				{sess("198.51.100.9", 10, answered(0.01, 0.001, 0.001), kod("RATE"))},
				{sess("198.51.100.9", 12, answered(0.01, 0.001, 0.001), kod("DENY"))},
			},
			ip: "198.51.100.9", ifc: "eth0",
			want: map[string]any{"kod_count": 2, "last_kod_code": "DENY", "stratum": 0, "reference_id": "DENY"},
		},
		{
			name: "non-finite metrics are left out, never poison the batch",
			batches: [][]session.Session{
				{sess("198.51.100.8", 1, answered(0.01, math.Inf(1), 0.002), func(s *session.Session) { s.Latency = math.NaN() }),
					sess("198.51.100.8", 2, answered(0.03, 0.001, 0.002))},
			},
			ip: "198.51.100.8", ifc: "eth0",
			want: map[string]any{"answered_count": 2, "latency_count": 1, "latency_sum": 0.03,
				"processing_sum": 0.001, "processing_max": 0.001, "total_sum": 0.002},
		},
		{
			name:    "mode 7 only still makes a row",
			batches: [][]session.Session{{sess("198.51.100.66", 4, mode(2, 7)), sess("198.51.100.66", 3, mode(2, 7))}},
			ip:      "198.51.100.66", ifc: "eth0",
			want: with(responseNull, "session_count", 0, "mode7_count", 2, "mode6_count", 0, "mode", 7, "ntp_version", 2,
				"answered_count", 0, "unanswered_count", 0, "first_seen_timestamp", ts(3), "last_seen_timestamp", ts(4)),
		},
		{
			name: "other modes counted beside requests",
			batches: [][]session.Session{
				{sess("198.51.100.66", 1, answered(0.01, 0.001, 0.001)), sess("198.51.100.66", 2, mode(4, 6)),
					sess("198.51.100.66", 3, mode(4, 1)), sess("198.51.100.66", 4, mode(4, 2))},
				{sess("198.51.100.66", 0.5, mode(4, 5)), sess("198.51.100.66", 0.6, mode(2, 7))},
			},
			ip: "198.51.100.66", ifc: "eth0",
			want: map[string]any{
				"session_count": 1, "mode1_count": 1, "mode2_count": 1, "mode5_count": 1, "mode6_count": 1,
				"mode7_count": 1, "mode": 2, "first_seen_timestamp": ts(0.5), "last_seen_timestamp": ts(4),
			},
		},
		{
			name:    "NTPv1 request has mode 0",
			batches: [][]session.Session{{sess("198.51.100.1", 1, mode(1, 0), answered(0.01, 0.001, 0.001))}},
			ip:      "198.51.100.1", ifc: "eth0",
			want: map[string]any{"session_count": 1, "answered_count": 1, "ntp_version": 1, "mode": 0},
		},
		{
			name: "IPv4-mapped IPv6 folds into the IPv4 client",
			batches: [][]session.Session{
				{sess("::ffff:198.51.100.7", 1)},
				{sess("198.51.100.7", 2)},
			},
			ip: "198.51.100.7", ifc: "eth0",
			want: map[string]any{"session_count": 2, "client_ip_bytes": netip.MustParseAddr("::ffff:198.51.100.7").AsSlice()},
		},
		{
			name:    "IPv6 canonical text and bytes",
			batches: [][]session.Session{{sess("2001:0db8:0000:0000:0000:0000:0000:0001", 1)}},
			ip:      "2001:db8::1", ifc: "eth0",
			want: map[string]any{"session_count": 1, "client_ip_bytes": netip.MustParseAddr("2001:db8::1").AsSlice()},
		},
		{
			name: "interfaces are separate rows",
			batches: [][]session.Session{
				{sess("198.51.100.7", 1), sess("198.51.100.7", 2, iface("eth1")), sess("198.51.100.7", 3, iface("eth1"))},
			},
			ip: "198.51.100.7", ifc: "eth1",
			want: map[string]any{"session_count": 2, "first_seen_timestamp": ts(2)},
		},
		{
			name: "equal times: the later arrival wins",
			batches: [][]session.Session{
				{sess("198.51.100.7", 1, port(1))},
				{sess("198.51.100.7", 1, port(2))},
			},
			ip: "198.51.100.7", ifc: "eth0",
			want: map[string]any{"client_port": 2, "session_count": 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			seq := uint64(1)
			for _, b := range tc.batches {
				commitAll(t, s, "w1", seq, b...)
				seq += uint64(len(b))
			}
			got := readRow(t, s.ReadDB(), tc.ip, tc.ifc)
			if got == nil {
				t.Fatalf("no row for %s on %s", tc.ip, tc.ifc)
			}
			for col, want := range tc.want {
				v, ok := got[col]
				if !ok {
					t.Errorf("no column %s", col)
					continue
				}
				if want == null {
					if v != nil {
						t.Errorf("%s = %v, want NULL", col, v)
					}
					continue
				}
				if !sameValue(v, want) {
					t.Errorf("%s = %#v, want %#v", col, v, want)
				}
			}
		})
	}
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case int:
		g, ok := got.(int64)
		return ok && g == int64(w)
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(g-w) <= 1e-12*math.Max(1, math.Abs(w))
	case string:
		g, ok := got.(string)
		return ok && g == w
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func TestCommitResultAndHighWater(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	b := NewBatch()
	a1, a2, a3 := sess("198.51.100.1", 1), sess("198.51.100.2", 2), sess("198.51.100.1", 3)
	b.Add("w1", "eth0", 5, &a1)
	b.Add("w1", "eth0", 7, &a2)
	b.Add("w2", "eth1", 3, &a3)
	if b.Len() != 3 || b.Rows() != 2 || b.Workers() != 2 {
		t.Fatalf("Len, Rows, Workers = %d, %d, %d; want 3, 2, 2", b.Len(), b.Rows(), b.Workers())
	}
	hw := map[string]uint64{}
	for w, seq := range b.HighWater() {
		hw[w] = seq
	}
	if hw["w1"] != 7 || hw["w2"] != 3 || len(hw) != 2 {
		t.Fatalf("batch HighWater = %v", hw)
	}
	res, err := s.Commit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 2 || res.Updated != 0 {
		t.Errorf("first commit: %+v, want 2 inserted", res)
	}
	// Committing the same batch again folds it in a second time: Commit does
	// not deduplicate, the caller skips seqs at or below HighWater.
	b.Reset()
	if b.Len() != 0 || b.Rows() != 0 || b.Workers() != 0 {
		t.Fatalf("after Reset: %d, %d, %d", b.Len(), b.Rows(), b.Workers())
	}
	a4, a5 := sess("198.51.100.2", 4), sess("198.51.100.3", 5)
	b.Add("w1", "eth0", 6, &a4) // lower than the stored 7: must not lower it
	b.Add("w1", "eth0", 2, &a5)
	if res, err = s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 1 {
		t.Errorf("second commit: %+v, want 1 inserted, 1 updated", res)
	}
	for w, want := range map[string]uint64{"w1": 7, "w2": 3, "unknown": 0} {
		got, err := s.HighWater(ctx, w)
		if err != nil || got != want {
			t.Errorf("HighWater(%s) = %d, %v; want %d", w, got, err, want)
		}
	}
	var ifc string
	if err := s.ReadDB().QueryRow("SELECT interface_name FROM worker_seq WHERE worker_id = 'w2'").Scan(&ifc); err != nil || ifc != "eth1" {
		t.Errorf("worker_seq interface of w2 = %q, %v", ifc, err)
	}
	// An empty batch is a no-op.
	b.Reset()
	if res, err := s.Commit(ctx, b); err != nil || res != (CommitResult{}) {
		t.Errorf("empty commit = %+v, %v", res, err)
	}
}

func TestCommitSeqOutOfRange(t *testing.T) {
	s := openTest(t, Options{})
	b := NewBatch()
	a := sess("198.51.100.1", 1)
	b.Add("w1", "eth0", math.MaxInt64+1, &a)
	if _, err := s.Commit(context.Background(), b); err == nil {
		t.Fatal("Commit accepted a seq above MaxInt64")
	}
	if got := readRow(t, s.ReadDB(), "198.51.100.1", "eth0"); got != nil {
		t.Errorf("row written despite the error: %v", got)
	}
}

// TestInsertsToldApartFromUpdates commits, after the series and the
// worker's seq have taken more rowids in their tables than the client
// table holds, one batch with a stored client first and a new one after
// it: the stored one is an update and the new one an insert, in the
// commit's result, the interface's totals and the series' new clients.
// (Told apart by the connection's last inserted rowid, the stored client
// took the rowid a series row had just been given for an insert's, and the
// new one counted as an update.)
func TestInsertsToldApartFromUpdates(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// One client, one session a minute: a minute bucket, and its rowid,
	// each.
	for i := range 30 {
		commitAll(t, s, "w", uint64(i+1), sess("198.51.100.1", float64(i*60)))
	}
	res := commitAll(t, s, "w", 100, sess("198.51.100.1", 30*60), sess("198.51.100.2", 30*60+1))
	if res.Inserted != 1 || res.Updated != 1 {
		t.Errorf("commit result: %d inserted, %d updated; want 1 and 1", res.Inserted, res.Updated)
	}
	var clients, rows int64
	if err := s.ReadDB().QueryRow("SELECT clients FROM interface_totals WHERE interface_name = 'eth0'").Scan(&clients); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadDB().QueryRow("SELECT count(*) FROM ntp_clients").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if clients != 2 || rows != 2 {
		t.Errorf("interface_totals.clients %d over %d rows, want 2 and 2", clients, rows)
	}
	tot, _, err := s.SeriesTotals(ctx, t0.Add(30*time.Minute), t0.Add(31*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := tot["eth0"]; b == nil || b.NewClients != 1 {
		t.Errorf("the minute of the new client: %+v, want 1 new client", b)
	}
}
