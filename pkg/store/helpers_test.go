package store

import (
	"context"
	"database/sql"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// t0 is the base capture time of hand-made sessions.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "data", "ntp_clients.db"), opts)
}

func openAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, quiet(t, opts))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// quiet sends the store's log to the test's output, shown only for failing
// tests or with -v.
func quiet(t testing.TB, opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	return opts
}

// sess builds a session from a client address, a capture time in seconds
// after t0 and options applied in order.
func sess(ip string, sec float64, opts ...func(*session.Session)) session.Session {
	s := session.Session{
		ClientIP:     netip.MustParseAddr(ip),
		ClientPort:   40000,
		ServerIP:     netip.MustParseAddr("192.0.2.1"),
		ServerPort:   123,
		Interface:    "eth0",
		Version:      4,
		Mode:         3,
		Poll:         6,
		PacketLength: 48,
		Timestamp:    t0.Add(time.Duration(sec * float64(time.Second))),
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// answered marks a session answered with the given metrics in seconds; a
// negative latency means the client hid its transmit time.
func answered(lat, proc, total float64) func(*session.Session) {
	return func(s *session.Session) {
		s.Answered = true
		s.Stratum = 2
		s.Precision = -24
		s.RootDelay = 0.001
		s.RootDispersion = 0.002
		s.ReferenceID = "192.0.2.53"
		s.Leap = session.LeapNoWarning
		u := float64(s.Timestamp.UnixNano()) / 1e9
		s.ReferenceTime = u - 10
		s.OriginateTime = u - 0.5
		s.ReceiveTime = u
		s.TransmitTime = u + 0.0001
		if lat >= 0 {
			s.Latency, s.LatencyValid = lat, true
		}
		s.Processing = proc
		s.Total = total
	}
}

func port(p uint16) func(*session.Session)  { return func(s *session.Session) { s.ClientPort = p } }
func iface(n string) func(*session.Session) { return func(s *session.Session) { s.Interface = n } }
func mode(v, m uint8) func(*session.Session) {
	return func(s *session.Session) { s.Version, s.Mode = v, m }
}
func stratum(v uint8) func(*session.Session) { return func(s *session.Session) { s.Stratum = v } }
func kod(code string) func(*session.Session) {
	return func(s *session.Session) { s.Stratum, s.ReferenceID, s.KoD = 0, code, code }
}

// seqCommitter returns a function that adds sessions to a fresh batch as
// worker w, each on its own interface, with seqs that go on from one call
// to the next whichever Store it is given, and commits the batch there.
func seqCommitter(t *testing.T) func(st *Store, ss []session.Session) {
	seq := uint64(1)
	return func(st *Store, ss []session.Session) {
		t.Helper()
		b := NewBatch()
		for i := range ss {
			b.Add("w", ss[i].Interface, seq, &ss[i])
			seq++
		}
		if _, err := st.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// commitAll adds sessions to a fresh batch as worker w with seqs from seq0
// and commits it.
func commitAll(t testing.TB, s *Store, w string, seq0 uint64, ss ...session.Session) CommitResult {
	t.Helper()
	b := NewBatch()
	for i := range ss {
		b.Add(w, "eth0", seq0+uint64(i), &ss[i])
	}
	res, err := s.Commit(context.Background(), b)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return res
}

// readRow returns one ntp_clients row as column → value (int64, float64,
// string, []byte or nil), or nil when there is none.
func readRow(t testing.TB, db *sql.DB, ip, ifc string) map[string]any {
	t.Helper()
	rows, err := db.Query("SELECT * FROM ntp_clients WHERE client_ip = ? AND interface_name = ?", ip, ifc)
	if err != nil {
		t.Fatalf("select %s %s: %v", ip, ifc, err)
	}
	defer rows.Close()
	all := scanMaps(t, rows)
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	t.Fatalf("%d rows for %s on %s", len(all), ip, ifc)
	return nil
}

func scanMaps(t testing.TB, rows *sql.Rows) []map[string]any {
	t.Helper()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ts(sec float64) string {
	return t0.Add(time.Duration(sec * float64(time.Second))).Format("2006-01-02T15:04:05.000000000Z")
}
