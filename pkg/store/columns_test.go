package store

import (
	"context"
	"database/sql"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// schemaColumn is one row of PRAGMA table_info.
type schemaColumn struct {
	typ     string
	notNull bool
	pk      bool
}

func tableInfo(t *testing.T, db *sql.DB, table string) map[string]schemaColumn {
	t.Helper()
	rows, err := db.Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]schemaColumn{}
	for rows.Next() {
		var name string
		var c schemaColumn
		if err := rows.Scan(&name, &c.typ, &c.notNull, &c.pk); err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no table %s", table)
	}
	return out
}

// TestColumnsMatchSchema holds clientTable against ntp_clients as the
// migrations make it, in a new database and in one upgraded from the first
// release: every column of the table is described, every described column
// exists, and the declared types and NOT NULL agree.
func TestColumnsMatchSchema(t *testing.T) {
	for name, path := range map[string]func(*testing.T) string{
		"new":             func(t *testing.T) string { return openTest(t, Options{}).Path() },
		"upgraded from 1": copyFixture,
		"upgraded from 4": func(t *testing.T) string { return copyFixtureFile(t, fixtureV4) },
	} {
		t.Run(name, func(t *testing.T) {
			s := openAt(t, path(t), Options{})
			schema := tableInfo(t, s.ReadDB(), "ntp_clients")
			described := map[string]bool{}
			for _, c := range clientTable {
				if described[c.Name] {
					t.Errorf("%s: described twice", c.Name)
				}
				described[c.Name] = true
				sc, ok := schema[c.Name]
				if !ok {
					t.Errorf("%s: described but not in the table", c.Name)
					continue
				}
				if sc.typ != string(c.typ) {
					t.Errorf("%s: type %s in the table, %s described", c.Name, sc.typ, c.typ)
				}
				// An INTEGER PRIMARY KEY is the rowid: never NULL, though
				// not declared NOT NULL.
				notNull := sc.notNull || sc.pk && sc.typ == string(sqlInteger)
				if notNull != c.notNull {
					t.Errorf("%s: NOT NULL %v in the table, %v described", c.Name, notNull, c.notNull)
				}
			}
			for name := range schema {
				if !described[name] {
					t.Errorf("%s: in the table but not described in clientTable", name)
				}
			}
		})
	}
}

// TestColumnFields holds each column's Value to a field of Client of the Go
// type its SQL type and nullability scan into, and every field of Client to
// exactly one column.
func TestColumnFields(t *testing.T) {
	want := map[schemaColumn]reflect.Type{
		{typ: "INTEGER", notNull: true}:  reflect.TypeFor[*int64](),
		{typ: "INTEGER", notNull: false}: reflect.TypeFor[*sql.NullInt64](),
		{typ: "REAL", notNull: true}:     reflect.TypeFor[*float64](),
		{typ: "REAL", notNull: false}:    reflect.TypeFor[*sql.NullFloat64](),
		{typ: "TEXT", notNull: true}:     reflect.TypeFor[*string](),
		{typ: "TEXT", notNull: false}:    reflect.TypeFor[*sql.NullString](),
	}
	var c Client
	base := uintptr(unsafe.Pointer(&c))
	field := map[uintptr]string{} // offset in Client → column
	for _, col := range clientTable {
		if col.Value == nil {
			continue
		}
		v := reflect.ValueOf(col.Value(&c))
		if wt := want[schemaColumn{typ: string(col.typ), notNull: col.notNull}]; v.Type() != wt {
			t.Errorf("%s: Value is %v, want %v for %s (NOT NULL %v)", col.Name, v.Type(), wt, col.typ, col.notNull)
		}
		off := v.Pointer() - base
		if off >= unsafe.Sizeof(c) {
			t.Errorf("%s: Value does not point into the Client", col.Name)
			continue
		}
		if other, ok := field[off]; ok {
			t.Errorf("%s and %s: Value points to the same field", other, col.Name)
		}
		field[off] = col.Name
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Client]()) {
		if _, ok := field[f.Offset]; !ok {
			t.Errorf("Client.%s: no column scans into it", f.Name)
		}
	}
	for _, d := range DerivedColumns() {
		for _, col := range clientTable {
			if d.Name == col.Name {
				t.Errorf("%s: derived and stored", d.Name)
			}
		}
	}
}

// TestColumnsRoundTrip commits sessions that give every column a value and
// reads the rows back as Clients: each column's field holds what the table
// holds under the column's name.
func TestColumnsRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	commitAll(t, s, "w", 1,
		sess("198.51.100.7", 1, port(123), answered(0.01, 0.0002, 0.0003)),
		sess("198.51.100.7", 2, mode(4, 6)),
		sess("198.51.100.7", 3, mode(2, 1)),
		sess("198.51.100.7", 4, mode(4, 2)),
		sess("198.51.100.7", 5, mode(4, 5)),
		sess("198.51.100.7", 6, mode(3, 7)),
		sess("198.51.100.7", 7, port(5555)), // unanswered
		sess("198.51.100.7", 8, answered(0.02, 0.0004, 0.0005), kod("RATE")),
		// On a second interface: an answer without latency, then a request
		// left unanswered, whose response columns are NULL.
		sess("198.51.100.7", 9, iface("eth1"), answered(-1, 0.001, 0.002)),
		sess("198.51.100.7", 10, iface("eth1")),
	)
	clients, err := s.ClientsByIP(context.Background(), netip.MustParseAddr("198.51.100.7"))
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 2 {
		t.Fatalf("%d rows, want 2", len(clients))
	}
	// What each field must hold, written in terms of Client's fields, so
	// that a column whose Value points to the wrong field fails here even
	// though it scans and renders consistently.
	u := func(sec float64) float64 { return float64(t0.UnixNano())/1e9 + sec }
	add := func(a, b float64) float64 { return a + b } // at run time, as the batch sums
	i := func(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: true} }
	f := func(v float64) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: true} }
	str := func(v string) sql.NullString { return sql.NullString{String: v, Valid: true} }
	want := []Client{{
		ClientIP: "198.51.100.7", ClientPort: i(40000), ServerIP: str("192.0.2.1"), ServerPort: i(123),
		InterfaceName: "eth0", NTPVersion: i(4), Mode: i(3),
		Stratum: i(0), Precision: i(-24), RootDelay: f(0.001), RootDispersion: f(0.002),
		ReferenceID: str("RATE"), LeapIndicator: str(session.LeapNoWarning), PollInterval: i(6),
		ReferenceTimestamp: f(u(8) - 10), OriginateTimestamp: f(u(8) - 0.5), ReceiveTimestamp: f(u(8)),
		TransmitTimestamp: f(u(8) + 0.0001),
		Latency:           f(0.02), Processing: f(0.0004), Total: f(0.0005), PacketLength: i(48),
		SessionTimestamp: str(ts(8)), FirstSeen: ts(1), LastSeen: ts(8),
		SessionCount: 3, AnsweredCount: 2, UnansweredCount: 1, LastUnansweredTimestamp: str(ts(7)),
		KoDCount: 1, LastKoDCode: str("RATE"), LastKoDTimestamp: str(ts(8)),
		Mode1Count: 1, Mode2Count: 1, Mode5Count: 1, Mode6Count: 1, Mode7Count: 1,
		LatencyCount: 2, LatencyMin: f(0.01), LatencyMax: f(0.02), LatencySum: add(0.01, 0.02),
		ProcessingMin: f(0.0002), ProcessingMax: f(0.0004), ProcessingSum: add(0.0002, 0.0004),
		TotalMin: f(0.0003), TotalMax: f(0.0005), TotalSum: add(0.0003, 0.0005),
	}, {
		ClientIP: "198.51.100.7", ClientPort: i(40000), ServerIP: str("192.0.2.1"), ServerPort: i(123),
		InterfaceName: "eth1", NTPVersion: i(4), Mode: i(3), PollInterval: i(6), PacketLength: i(48),
		SessionTimestamp: str(ts(10)), FirstSeen: ts(9), LastSeen: ts(10),
		SessionCount: 2, AnsweredCount: 1, UnansweredCount: 1, LastUnansweredTimestamp: str(ts(10)),
		ProcessingMin: f(0.001), ProcessingMax: f(0.001), ProcessingSum: 0.001,
		TotalMin: f(0.002), TotalMax: f(0.002), TotalSum: 0.002,
	}}
	for i := range clients {
		c := &clients[i]
		// The id and the commit's own times are the database's to choose.
		w := want[i]
		w.ID, w.CreatedAt, w.UpdatedAt = c.ID, c.CreatedAt, c.UpdatedAt
		if *c != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, *c, w)
		}
		if c.ID == 0 || c.CreatedAt == "" || c.CreatedAt != c.UpdatedAt {
			t.Errorf("row %d: id %d, created_at %q, updated_at %q", i, c.ID, c.CreatedAt, c.UpdatedAt)
		}
		raw := readRow(t, s.ReadDB(), c.ClientIP, c.InterfaceName)
		for _, col := range ClientColumns() {
			got := scanned(col.Value(c))
			if want := raw[col.Name]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s row %s: field holds %#v, table %#v", c.InterfaceName, col.Name, got, want)
			}
		}
	}
}

// scanned is the value behind a Value pointer as database/sql reads it
// into an any: nil for NULL.
func scanned(p any) any {
	switch v := p.(type) {
	case *int64:
		return *v
	case *float64:
		return *v
	case *string:
		return *v
	case *sql.NullInt64:
		if v.Valid {
			return v.Int64
		}
	case *sql.NullFloat64:
		if v.Valid {
			return v.Float64
		}
	case *sql.NullString:
		if v.Valid {
			return v.String
		}
	}
	return nil
}
