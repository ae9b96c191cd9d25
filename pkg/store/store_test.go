package store

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// TestCommitOrderIndependent folds the same sessions twice: once in one
// batch in capture order, once shuffled and cut into random batches. The
// rows must come out the same: arrival order and batching cannot matter.
func TestCommitOrderIndependent(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		ss := storetest.Sessions(3000, 150, seed)
		for i := range ss {
			ss[i].Timestamp = ss[i].Timestamp.Add(time.Duration(i)) // unique times: no ties
		}
		whole := openTest(t, Options{})
		commitAll(t, whole, "w", 1, ss...)

		rng := rand.New(rand.NewPCG(seed, 99))
		shuffled := append([]session.Session(nil), ss...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		split := openTest(t, Options{})
		b := NewBatch()
		for i := 0; i < len(shuffled); {
			n := 1 + rng.IntN(300)
			b.Reset()
			for j := i; j < min(i+n, len(shuffled)); j++ {
				b.Add("w", "eth0", uint64(j+1), &shuffled[j])
			}
			if _, err := split.Commit(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			i += n
		}

		a, c := allRows(t, whole), allRows(t, split)
		if len(a) != len(c) || len(a) == 0 {
			t.Fatalf("seed %d: %d rows in one batch, %d split", seed, len(a), len(c))
		}
		var requests, other int64
		for k, ra := range a {
			rc, ok := c[k]
			if !ok {
				t.Fatalf("seed %d: row %s missing when split", seed, k)
			}
			for col, va := range ra {
				switch col {
				case "id", "created_at", "updated_at":
					continue
				}
				if !sameValue(rc[col], va) && !closeFloat(rc[col], va) {
					t.Errorf("seed %d: %s %s: split %#v, whole %#v", seed, k, col, rc[col], va)
				}
			}
			requests += ra["session_count"].(int64)
			other += ra["mode6_count"].(int64) + ra["mode7_count"].(int64)
		}
		var wantReq, wantOther int64
		for i := range ss {
			if ss[i].IsRequest() {
				wantReq++
			} else {
				wantOther++
			}
		}
		if requests != wantReq || other != wantOther {
			t.Errorf("seed %d: rows count %d requests and %d other, sent %d and %d", seed, requests, other, wantReq, wantOther)
		}
	}
}

func closeFloat(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	return ok1 && ok2 && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))
}

func allRows(t *testing.T, s *Store) map[string]map[string]any {
	t.Helper()
	rows, err := s.ReadDB().Query("SELECT * FROM ntp_clients")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]any{}
	for _, m := range scanMaps(t, rows) {
		out[m["client_ip"].(string)+"%"+m["interface_name"].(string)] = m
	}
	return out
}

// TestConcurrentReaders reads through the read pool while the writer
// commits: every read sees a whole number of batches, never a partial one,
// totals never go backwards, and the pool refuses writes.
func TestConcurrentReaders(t *testing.T) {
	s := openTest(t, Options{ReadConns: 4})
	const batches, per = 20, 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	reads := make([]int, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for ctx.Err() == nil {
				var n int64
				err := s.ReadDB().QueryRowContext(ctx, `SELECT coalesce(sum(session_count + mode1_count + mode2_count
					+ mode5_count + mode6_count + mode7_count), 0) FROM ntp_clients`).Scan(&n)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if n%per != 0 || n < last {
					t.Errorf("reader saw %d sessions after %d: not a whole number of batches", n, last)
					return
				}
				last = n
				reads[r]++
				time.Sleep(time.Millisecond) // leave the writer some CPU
			}
		}()
	}

	g := storetest.NewGenerator(2000, 7)
	b := NewBatch()
	var sess session.Session
	seq := uint64(0)
	for range batches {
		b.Reset()
		for range per {
			seq++
			g.Next(&sess)
			b.Add("w", "eth0", seq, &sess)
		}
		if _, err := s.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads[0]+reads[1]+reads[2]+reads[3] == 0 {
		t.Error("readers never completed a query")
	}
	if _, err := s.ReadDB().Exec("DELETE FROM ntp_clients"); err == nil {
		t.Error("read pool accepted a DELETE")
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows == 0 || st.Rows > 2000 || st.SchemaVersion != SchemaVersion() || st.SizeBytes() == 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestReopen checks that rows and high-water marks survive Close and Open.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "ntp.db") // directories created
	s, err := Open(context.Background(), path, quiet(t, Options{Synchronous: SynchronousFull}))
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, s, "w9", 41, sess("198.51.100.3", 1), sess("2001:db8::3", 2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Options{})
	if hw, err := s.HighWater(context.Background(), "w9"); err != nil || hw != 42 {
		t.Errorf("HighWater after reopen = %d, %v; want 42", hw, err)
	}
	if readRow(t, s.ReadDB(), "2001:db8::3", "eth0") == nil {
		t.Error("row lost across reopen")
	}
	if s.Path() != path {
		t.Errorf("Path = %s, want %s", s.Path(), path)
	}
}

// TestOddPaths opens databases whose paths hold characters that mean
// something in a URI.
func TestOddPaths(t *testing.T) {
	for _, name := range []string{"with space/ntp.db", "q?x=1/ntp.db", "pct%41/ntp#1.db", "ünï/ntp.db", "rel"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		s, err := Open(context.Background(), path, quiet(t, Options{}))
		if err != nil {
			t.Errorf("Open(%q): %v", name, err)
			continue
		}
		commitAll(t, s, "w", 1, sess("198.51.100.1", 1))
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("%q: database not at its path: %v", name, err)
		}
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), quiet(t, Options{Synchronous: "OFF"})); err == nil {
		t.Error("Open accepted synchronous OFF")
	}
	if _, err := Open(context.Background(), "", quiet(t, Options{})); err == nil {
		t.Error("Open accepted an empty path")
	}
	if _, err := Open(context.Background(), t.TempDir(), quiet(t, Options{})); err == nil {
		t.Error("Open accepted a directory as the database file")
	}
	for _, sync := range []string{SynchronousNormal, SynchronousFull, "full"} {
		s := openTest(t, Options{Synchronous: sync})
		var mode string
		var level int
		if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v", mode, err)
		}
		if err := s.w.QueryRow("PRAGMA synchronous").Scan(&level); err != nil || level != map[string]int{SynchronousNormal: 1, SynchronousFull: 2, "full": 2}[sync] {
			t.Errorf("synchronous = %d for %s, %v", level, sync, err)
		}
	}
}

func TestMonitored(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if m, err := s.Monitored(ctx); err != nil || len(m) != 0 {
		t.Fatalf("Monitored on a new DB = %v, %v", m, err)
	}
	if err := s.SetMonitored(ctx, "eth1", `{"timeout":2}`, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMonitored(ctx, "eth0", "", false); err != nil {
		t.Fatal(err)
	}
	m, err := s.Monitored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Name != "eth0" || m[0].Options != "{}" || m[0].Enabled ||
		m[1].Name != "eth1" || m[1].Options != `{"timeout":2}` || !m[1].Enabled || m[1].CreatedAt.IsZero() {
		t.Fatalf("Monitored = %+v", m)
	}
	created := m[1].CreatedAt
	if err := s.SetMonitored(ctx, "eth1", `{"timeout":3}`, false); err != nil {
		t.Fatal(err)
	}
	m, _ = s.Monitored(ctx)
	if m[1].Options != `{"timeout":3}` || m[1].Enabled || !m[1].CreatedAt.Equal(created) || m[1].UpdatedAt.Before(created) {
		t.Errorf("after update: %+v", m[1])
	}
	for _, bad := range []string{"[1]", "null", "{", `"x"`} {
		if err := s.SetMonitored(ctx, "eth2", bad, true); err == nil {
			t.Errorf("SetMonitored accepted options %s", bad)
		}
	}
	if err := s.SetMonitored(ctx, "", "{}", true); err == nil {
		t.Error("SetMonitored accepted an empty name")
	}
	if ok, err := s.DeleteMonitored(ctx, "eth0"); !ok || err != nil {
		t.Errorf("DeleteMonitored(eth0) = %v, %v", ok, err)
	}
	if ok, err := s.DeleteMonitored(ctx, "eth0"); ok || err != nil {
		t.Errorf("second DeleteMonitored(eth0) = %v, %v", ok, err)
	}
}

func TestSync(t *testing.T) {
	s := openTest(t, Options{Synchronous: SynchronousNormal})
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync on a new store: %v", err)
	}
	commitAll(t, s, "w", 1, sess("198.51.100.1", 1))
	if _, err := os.Stat(s.Path() + "-wal"); err != nil {
		t.Fatalf("no WAL after a commit: %v", err)
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync after a commit: %v", err)
	}
	gone := &Store{path: filepath.Join(t.TempDir(), "missing", "ntp.db")}
	if err := gone.Sync(); err == nil {
		t.Error("Sync of a missing database succeeded")
	}
}
