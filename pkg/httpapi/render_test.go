package httpapi

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/render")

// renderClients are client rows made by hand, so that their rendering does
// not depend on the clock: a fully answered row, one that has nothing but
// its counters, and one whose strings and numbers need escaping, quoting or
// null.
func renderClients() []store.Client {
	i := func(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: true} }
	f := func(v float64) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: true} }
	s := func(v string) sql.NullString { return sql.NullString{String: v, Valid: true} }
	return []store.Client{{
		ID: 1, ClientIP: "192.0.2.1", ClientPort: i(40123), ServerIP: s("192.0.2.254"), ServerPort: i(123),
		InterfaceName: "eth0", NTPVersion: i(4), Stratum: i(2), Precision: i(-24),
		RootDelay: f(0.01), RootDispersion: f(0.02), ReferenceID: s("192.0.2.200"), LeapIndicator: s("no_warning"),
		PollInterval: i(6), ReferenceTimestamp: f(1764072000.5), OriginateTimestamp: f(1764072001.25),
		ReceiveTimestamp: f(1764072001.2505), TransmitTimestamp: f(1764072001.2506),
		Latency: f(0.0005), Processing: f(0.0001), Total: f(0.0008), PacketLength: i(48),
		SessionTimestamp: s("2026-11-25T12:00:30.000000000Z"),
		FirstSeen:        "2026-11-25T12:00:10.000000000Z", LastSeen: "2026-11-25T12:00:30.000000000Z",
		SessionCount: 3, CreatedAt: "2026-11-25T12:01:00.000000000Z", UpdatedAt: "2026-11-25T12:02:00.000000000Z",
		Mode: i(3), AnsweredCount: 3, KoDCount: 1, LastKoDCode: s("RATE"), LastKoDTimestamp: s("2026-11-25T12:00:20.000000000Z"),
		Mode1Count: 1, Mode2Count: 2, Mode5Count: 5, Mode6Count: 6, Mode7Count: 7,
		LatencyCount: 3, LatencyMin: f(0.001), LatencyMax: f(0.003), LatencySum: 0.006,
		ProcessingMin: f(0.0001), ProcessingMax: f(0.0001), ProcessingSum: 0.0003,
		TotalMin: f(0.0008), TotalMax: f(0.0008), TotalSum: 0.0024,
	}, {
		ID: 2, ClientIP: "2001:db8::2:1", InterfaceName: "eth1",
		FirstSeen: "2026-11-25T12:00:05.000000000Z", LastSeen: "2026-11-25T12:00:05.000000000Z",
		SessionCount: 1, UnansweredCount: 1,
		CreatedAt: "2026-11-25T12:01:00.000000000Z", UpdatedAt: "2026-11-25T12:01:00.000000000Z",
	}, {
		ID: math.MaxInt64, ClientIP: "2001:db8::1", InterfaceName: weirdIface + "\n\t\x01é", NTPVersion: i(0),
		Precision: i(math.MinInt64), RootDelay: f(math.NaN()), RootDispersion: f(math.Inf(1)),
		ReferenceID: s(` leading space`), LeapIndicator: s(""), Latency: f(-0.25), Total: f(1e21),
		FirstSeen: "2026-11-25T12:00:00.000000000Z", LastSeen: "2026-11-25T11:00:00.000000000Z",
		SessionCount: 2, AnsweredCount: 1, UnansweredCount: 1, LatencySum: math.NaN(), ProcessingSum: 5e-324,
		CreatedAt: "x,y", UpdatedAt: `"quoted"`,
	}}
}

// TestRenderGolden holds the byte-for-byte form of client rows in JSON,
// NDJSON and CSV: the columns' order, names and number formats are the API.
// Run with -update to rewrite the files after a deliberate change.
func TestRenderGolden(t *testing.T) {
	rows := renderClients()
	var js, nd, cs []byte
	js = append(js, '[')
	cs = appendCSVHeader(cs)
	for i := range rows {
		if i > 0 {
			js = append(js, ',')
		}
		js = appendClientJSON(js, &rows[i])
		nd = append(appendClientJSON(nd, &rows[i]), '\n')
		cs = appendClientCSV(cs, &rows[i])
	}
	js = append(js, "]\n"...)

	var objs []map[string]any
	if err := json.Unmarshal(js, &objs); err != nil || len(objs) != len(rows) {
		t.Fatalf("JSON does not parse into %d rows: %v\n%s", len(rows), err, js)
	}
	recs, err := csv.NewReader(bytes.NewReader(cs)).ReadAll()
	if err != nil || len(recs) != len(rows)+1 {
		t.Fatalf("CSV does not parse into header + %d rows: %v\n%s", len(rows), err, cs)
	}
	if got := recs[3][5]; got != rows[2].InterfaceName {
		t.Errorf("CSV round trip of interface_name: %q, want %q", got, rows[2].InterfaceName)
	}

	for name, got := range map[string][]byte{"clients.json": js, "clients.ndjson": nd, "clients.csv": cs} {
		path := filepath.Join("testdata", "render", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, got, want)
		}
	}
}

// TestRenderAllocs holds rendering to no allocation once the buffer is big
// enough: an export renders every row of the table.
func TestRenderAllocs(t *testing.T) {
	rows := renderClients()
	b := make([]byte, 0, 64<<10)
	for name, render := range map[string]func([]byte, *store.Client) []byte{
		"json": appendClientJSON, "csv": appendClientCSV,
	} {
		allocs := testing.AllocsPerRun(100, func() {
			b = b[:0]
			for i := range rows {
				b = render(b, &rows[i])
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per %d rows, want 0", name, allocs, len(rows))
		}
	}
}

func BenchmarkRenderJSON(b *testing.B) { benchRender(b, appendClientJSON) }

func BenchmarkRenderCSV(b *testing.B) { benchRender(b, appendClientCSV) }

// benchRender renders the hand-made rows over and over into one buffer, as
// an export's reader does into its chunk; a row counts as one op.
func benchRender(b *testing.B, render func([]byte, *store.Client) []byte) {
	rows := renderClients()
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		if i%len(rows) == 0 {
			buf = buf[:0]
		}
		buf = render(buf, &rows[i%len(rows)])
		n += len(buf)
	}
	if n == 0 {
		b.Fatal("nothing rendered")
	}
}
