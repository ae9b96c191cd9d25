package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateFixture = flag.Bool("update-fixture", false, "rewrite the fixtures testdata/ntp_clients_v*.db")

// The fixtures: databases as releases left them. v1 is the first
// release's; v4 the last one's before the traffic series (migration 6).
const (
	fixtureV1 = "testdata/ntp_clients_v1.db"
	fixtureV4 = "testdata/ntp_clients_v4.db"
)

// TestWriteFixtureV1 rewrites the schema-version-1 fixture when run with
// -update-fixture. The fixture stands for a database left by the first
// release: it must keep opening and upgrading as migrations are added.
func TestWriteFixtureV1(t *testing.T) {
	if !*updateFixture {
		t.Skip("run with -update-fixture to rewrite " + fixtureV1)
	}
	ctx := context.Background()
	os.Remove(fixtureV1)
	s := &Store{path: fixtureV1, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(fixtureV1, Options{}.withDefaults(), false)); err != nil {
		t.Fatal(err)
	}
	defer s.w.Close()
	s.w.SetMaxOpenConns(1)
	if err := s.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO ntp_clients (client_ip, client_port, server_ip, server_port, interface_name, ntp_version,
			stratum, precision, root_delay, root_dispersion, reference_id, leap_indicator, poll_interval,
			reference_timestamp, originate_timestamp, receive_timestamp, transmit_timestamp,
			client_to_server_latency_seconds, server_processing_time_seconds, total_process_time_seconds,
			packet_length, session_timestamp, first_seen_timestamp, last_seen_timestamp, session_count,
			created_at, updated_at, client_ip_bytes, mode, answered_count, unanswered_count,
			latency_count, latency_min, latency_max, latency_sum, processing_min, processing_max, processing_sum,
			total_min, total_max, total_sum)
		VALUES ('198.51.100.10', 40123, '192.0.2.1', 123, 'eth0', 4, 2, -24, 0.001, 0.002, '192.0.2.53',
			'no_warning', 6, 1795600000.5, 1795600100.25, 1795600100.26, 1795600100.2601, 0.01, 0.0001, 0.0003,
			48, '2026-11-25T09:00:00.000000000Z', '2026-11-24T09:00:00.000000000Z', '2026-11-25T09:00:00.000000000Z',
			12, '2026-11-24T09:00:01.000000000Z', '2026-11-25T09:00:01.000000000Z',
			X'00000000000000000000FFFFC633640A', 3, 10, 2, 10, 0.005, 0.02, 0.1, 0.0001, 0.0002, 0.0012,
			0.0002, 0.0005, 0.003)`,
		`INSERT INTO ntp_clients (client_ip, client_port, server_ip, server_port, interface_name, ntp_version,
			mode, poll_interval, packet_length, session_timestamp, first_seen_timestamp, last_seen_timestamp,
			session_count, created_at, updated_at, client_ip_bytes, unanswered_count)
		VALUES ('2001:db8::10', 123, '2001:db8::1', 123, 'eth0', 3, 3, 10, 48,
			'2026-11-25T08:00:00.000000000Z', '2026-11-25T07:00:00.000000000Z', '2026-11-25T08:00:00.000000000Z',
			3, '2026-11-25T07:00:01.000000000Z', '2026-11-25T08:00:01.000000000Z',
			X'20010DB8000000000000000000000010', 3)`,
		`INSERT INTO ntp_clients (client_ip, client_port, server_ip, server_port, interface_name, ntp_version,
			mode, packet_length, session_timestamp, first_seen_timestamp, last_seen_timestamp,
			created_at, updated_at, client_ip_bytes, mode7_count)
		VALUES ('198.51.100.66', 5555, '192.0.2.1', 123, 'eth1', 2, 7, 8,
			'2026-11-25T06:00:00.000000000Z', '2026-11-25T06:00:00.000000000Z', '2026-11-25T06:00:00.000000000Z',
			'2026-11-25T06:00:01.000000000Z', '2026-11-25T06:00:01.000000000Z',
			X'00000000000000000000FFFFC6336442', 1)`,
		`INSERT INTO worker_seq (worker_id, interface_name, last_seq, updated_at)
		VALUES ('fixture-worker', 'eth0', 100, '2026-11-25T09:00:01.000000000Z')`,
		`PRAGMA journal_mode=DELETE`, // one self-contained file
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestWriteFixtureV4 rewrites the schema-version-4 fixture when run with
// -update-fixture: the v1 fixture's rows, migrated as far as version 4,
// the schema the last release before the traffic series left.
func TestWriteFixtureV4(t *testing.T) {
	if !*updateFixture {
		t.Skip("run with -update-fixture to rewrite " + fixtureV4)
	}
	ctx := context.Background()
	b, err := os.ReadFile(fixtureV1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixtureV4, b, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(fixtureV4)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{path: path, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if s.w, err = sql.Open("sqlite", dsn(path, Options{}.withDefaults(), false)); err != nil {
		t.Fatal(err)
	}
	defer s.w.Close()
	s.w.SetMaxOpenConns(1)
	if err := s.migrateTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA journal_mode=DELETE`); err != nil {
		t.Fatal(err)
	}
}

// copyFixture copies the v1 fixture into a temporary directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	return copyFixtureFile(t, fixtureV1)
}

// copyFixtureFile copies a fixture into a temporary directory.
func copyFixtureFile(t *testing.T, fixture string) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ntp_clients.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func schemaVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version, applied_at FROM schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		var at string
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
			t.Errorf("version %d applied_at %q: %v", v, at, err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrateEmpty(t *testing.T) {
	s := openTest(t, Options{})
	vs := schemaVersions(t, s.ReadDB())
	if len(vs) != SchemaVersion() || SchemaVersion() < 3 {
		t.Fatalf("schema_version rows %v, SchemaVersion %d", vs, SchemaVersion())
	}
	for i, v := range vs {
		if v != i+1 {
			t.Fatalf("schema_version rows %v: want 1..%d", vs, SchemaVersion())
		}
	}
	// Opening again applies nothing.
	path := s.Path()
	s2 := openAt(t, path, Options{})
	if got := schemaVersions(t, s2.ReadDB()); len(got) != len(vs) {
		t.Errorf("reopen: schema_version rows %v", got)
	}
}

func TestMigrateFromV1Fixture(t *testing.T) {
	path := copyFixture(t)
	s := openAt(t, path, Options{})
	ctx := context.Background()
	if vs := schemaVersions(t, s.ReadDB()); len(vs) != SchemaVersion() || vs[0] != 1 {
		t.Fatalf("after upgrade: schema_version %v", vs)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Rows != 3 || st.SchemaVersion != SchemaVersion() {
		t.Fatalf("Stats = %+v, %v; want 3 rows at version %d", st, err, SchemaVersion())
	}
	r := readRow(t, s.ReadDB(), "198.51.100.10", "eth0")
	for col, want := range map[string]any{
		"session_count": 12, "answered_count": 10, "latency_min": 0.005, "reference_id": "192.0.2.53",
		"first_seen_timestamp": "2026-11-24T09:00:00.000000000Z", "created_at": "2026-11-24T09:00:01.000000000Z",
	} {
		if !sameValue(r[col], want) {
			t.Errorf("kept row: %s = %#v, want %#v", col, r[col], want)
		}
	}
	// Columns added since hold NULL: the past they would describe is not known.
	for _, col := range []string{"last_kod_timestamp", "last_unanswered_timestamp"} {
		if v, ok := r[col]; !ok || v != nil {
			t.Errorf("new column %s = %v (present %v), want NULL", col, v, ok)
		}
	}
	for _, m := range allRows(t, s) {
		a := netip.MustParseAddr(m["client_ip"].(string))
		if b16 := a.As16(); !bytes.Equal(m["client_ip_bytes"].([]byte), b16[:]) {
			t.Errorf("%s: client_ip_bytes %x", a, m["client_ip_bytes"])
		}
	}
	if hw, err := s.HighWater(ctx, "fixture-worker"); hw != 100 || err != nil {
		t.Errorf("HighWater(fixture-worker) = %d, %v", hw, err)
	}

	// New sessions fold into the upgraded rows.
	res := commitAll(t, s, "fixture-worker", 101,
		sess("198.51.100.10", 0, answered(0.001, 0.0001, 0.0002), kod("RATE")), // t0 = 10:00, after the fixture's 09:00
		sess("198.51.100.11", 1))
	if res.Inserted != 1 || res.Updated != 1 {
		t.Errorf("commit into upgraded DB: %+v", res)
	}
	r = readRow(t, s.ReadDB(), "198.51.100.10", "eth0")
	for col, want := range map[string]any{
		"session_count": 13, "answered_count": 11, "kod_count": 1, "last_kod_code": "RATE",
		"latency_min": 0.001, "latency_max": 0.02, "session_timestamp": ts(0),
		"first_seen_timestamp": "2026-11-24T09:00:00.000000000Z", "id": 1,
	} {
		if !sameValue(r[col], want) {
			t.Errorf("after commit: %s = %#v, want %#v", col, r[col], want)
		}
	}
	if err := s.SetMonitored(ctx, "eth0", "{}", true); err != nil {
		t.Errorf("monitored_interfaces after upgrade: %v", err)
	}
}

// TestMigrateFailureRollsBack makes migration 2 fail on a v1 database and
// checks that nothing of it or of later migrations stays behind.
func TestMigrateFailureRollsBack(t *testing.T) {
	path := copyFixture(t)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE monitored_interfaces (x)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = Open(context.Background(), path, quiet(t, Options{}))
	if err == nil || !strings.Contains(err.Error(), "0002_monitored_interfaces.sql") {
		t.Fatalf("Open = %v, want an error naming migration 0002", err)
	}
	raw, _ = sql.Open("sqlite", path)
	defer raw.Close()
	if vs := schemaVersions(t, raw); len(vs) != 1 {
		t.Errorf("schema_version after failed migration: %v, want [1]", vs)
	}
	if _, err := raw.Exec("DROP TABLE monitored_interfaces"); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, Options{})
	if vs := schemaVersions(t, s.ReadDB()); len(vs) != SchemaVersion() {
		t.Errorf("after fixing: schema_version %v", vs)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ntp.db")
	s, err := Open(context.Background(), path, quiet(t, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, s, "w", 1, sess("198.51.100.1", 1))
	newer := SchemaVersion() + 1
	if _, err := s.w.Exec("INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01T00:00:00.000000000Z')", newer); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(context.Background(), path, quiet(t, Options{}))
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
	want := fmt.Sprintf("database schema version %d is newer than this ntp-collector supports (%d); upgrade ntp-collector", newer, newer-1)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// The refused file is left as it was.
	raw, _ := sql.Open("sqlite", path)
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM ntp_clients").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows after refusal: %d, %v", n, err)
	}
}
