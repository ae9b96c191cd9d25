package top

import (
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable/termtabletest"
)

func row(ip, iface string, reqs, unans, kod int64, code string, interval float64, ago time.Duration) apiclient.ClientRow {
	ratio := float64(reqs-unans) / float64(reqs)
	r := apiclient.ClientRow{ClientIP: ip, InterfaceName: iface, SessionCount: reqs, UnansweredCount: unans, KoDCount: kod,
		AnswerRatio: &ratio, AvgRequestInterval: &interval, LastSeen: t0.Add(-ago)}
	if code != "" {
		r.LastKoDCode = &code
	}
	return r
}

func TestRenderGolden(t *testing.T) {
	talkers := []apiclient.ClientRow{
		row("192.0.2.11", "eth0", 123456, 0, 0, "", 4.2, 3*time.Second),
		row("2001:db8:0:1::c", "eth0", 980, 12, 0, "", 64, 2*time.Hour),
		row("198.51.100.7", "eth1", 77, 3, 5, "RATE", 0.5, 4*time.Minute),
	}
	full := &Frame{
		At: t0, API: "http://127.0.0.1:8000", IntervalSeconds: 2.0004,
		Ingestion: &IngestionRow{SessionsPerSecond: f64(1234.4), QueueSize: 12, QueueCapacity: 50000, ConnectedWorkers: 2, Rows: 1234567, DatabaseBytes: 868220928},
		Interfaces: []InterfaceRow{
			{Interface: "eth0", Workers: 1, RequestsPerSecond: f64(1180.5), AnsweredRatio: f64(0.9987), UnansweredPerSecond: f64(1.5),
				KoDPerSecond: f64(0), KernelDropsPerSecond: f64(0), Clients: 1200000, ActiveClientsLastHour: 45000, Sessions: 98765432, Answered: 98000000, Unanswered: 765432, KoD: 0},
			{Interface: "eth1", Workers: 1, RequestsPerSecond: f64(53.9), Clients: 34567, ActiveClientsLastHour: 1200, Sessions: 4567890, Unanswered: 1234, KoD: 567},
		},
		StatisticsAt:     t0.Add(-40 * time.Second),
		TopTalkers:       talkers,
		LatestUnanswered: []apiclient.ClientRow{talkers[1], talkers[2]},
		LatestKoD:        []apiclient.ClientRow{talkers[2]},
	}
	tests := []struct {
		name string
		h    header
		f    *Frame
	}{
		{"frame.txt", header{every: 2 * time.Second, keys: true}, full},
		{"first-frame.txt", header{every: 2 * time.Second}, &Frame{At: t0, API: "http://127.0.0.1:8000",
			Ingestion:  &IngestionRow{QueueCapacity: 50000, ConnectedWorkers: 1, Rows: 4, DatabaseBytes: 4096},
			Interfaces: []InterfaceRow{{Interface: "eth0", Workers: 1, Clients: 4, Sessions: 25}}, StatisticsAt: t0,
			TopTalkers: []apiclient.ClientRow{}, LatestUnanswered: []apiclient.ClientRow{}, LatestKoD: []apiclient.ClientRow{}}},
		{"empty.txt", header{every: 500 * time.Millisecond}, &Frame{At: t0, API: "http://127.0.0.1:8000",
			Ingestion: &IngestionRow{QueueCapacity: 50000}}},
		{"error.txt", header{every: 2 * time.Second, keys: true}, &Frame{At: t0, API: "http://127.0.0.1:8000",
			Error: "cannot reach the collector at http://127.0.0.1:8000: dial tcp 127.0.0.1:8000: connect: connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := tc.h.writeText(&b, tc.f); err != nil {
				t.Fatal(err)
			}
			termtabletest.Golden(t, tc.name, b.String())
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 0, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"842 µs ago", 5, "842 µ"},
		{"", 3, ""},
	}
	for _, tc := range tests {
		if got := cut(tc.in, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
