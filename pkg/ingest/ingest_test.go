package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// harness is a real server on a loopback port writing into a real SQLite
// file.
type harness struct {
	t      testing.TB
	srv    *ingest.Server
	st     *store.Store
	path   string
	addr   string
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, cfg ingest.Config) *harness {
	t.Helper()
	return startOn(t, cfg, filepath.Join(t.TempDir(), "ntp_clients.db"), store.Options{})
}

func startOn(t testing.TB, cfg ingest.Config, path string, opts store.Options) *harness {
	t.Helper()
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Logger = log
	st, err := store.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	cfg.Logger = log
	h := startWith(t, cfg, st, path)
	h.logs = logs
	return h
}

// startWith serves st; it closes st when the test ends.
func startWith(t testing.TB, cfg ingest.Config, st *store.Store, path string) *harness {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	srv := ingest.New(cfg, st)
	if err := srv.Listen(); err != nil {
		st.Close()
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, st: st, path: path, addr: srv.Addr().String(), logs: &syncbuf.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// stop shuts the server down and closes the store; it returns Serve's error.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	err := <-h.done
	h.st.Close()
	return err
}

// testWriter sends logs to t.Log so a failing test shows them.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// packets counts every session the store holds: requests in session_count,
// other modes in their per-mode counters.
func packets(t testing.TB, db *sql.DB) int64 {
	t.Helper()
	var n int64
	err := db.QueryRow(`SELECT coalesce(sum(session_count + mode1_count + mode2_count + mode5_count + mode6_count + mode7_count), 0) FROM ntp_clients`).Scan(&n)
	if err != nil {
		t.Fatalf("counting sessions: %v", err)
	}
	return n
}

func (h *harness) packets() int64 { return packets(h.t, h.st.ReadDB()) }

func connect(t testing.TB, addr, id string) *ingesttest.Client {
	t.Helper()
	c := ingesttest.New(addr, id, "eth0", "")
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatalf("Connect %s: %v", id, err)
	}
	t.Cleanup(c.Close)
	return c
}

func sendAll(t testing.TB, c *ingesttest.Client, ss []session.Session) {
	t.Helper()
	for i := range ss {
		if err := c.Send(&ss[i]); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func waitAcked(t testing.TB, c *ingesttest.Client, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitAcked(ctx, seq); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A connection cut while its sessions sit in an uncommitted batch: the
// welcome on the new connection carries only what is committed (nothing
// yet), the worker resends everything, the copies already in the batch are
// skipped as duplicates, and the store ends up with every session once.
func TestExactlyOnceAcrossConnectionCut(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 2000, BatchInterval: time.Hour})
	ss := storetest.Sessions(4000, 500, 1)
	c := connect(t, h.addr, "w-cut")

	sendAll(t, c, ss[:1500])
	waitFor(t, "1500 sessions in the open batch", func() bool { return h.srv.Snapshot().TotalProcessed == 1500 })
	if got := c.Acked(); got != 0 {
		t.Fatalf("acked %d before any batch closed", got)
	}
	c.Cut()
	last, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last != 0 {
		t.Errorf("welcome last_seq after the cut = %d, want 0: nothing is committed yet", last)
	}
	sendAll(t, c, ss[1500:])
	waitAcked(t, c, 4000)
	if got := h.packets(); got != 4000 {
		t.Errorf("store holds %d sessions, want 4000", got)
	}
	if d := h.srv.Snapshot().DuplicatesSkipped; d != 1500 {
		t.Errorf("duplicates skipped = %d, want 1500 (the resent open batch)", d)
	}

	// A worker that ignores the welcome and resends everything from seq 1
	// changes nothing: every line is a duplicate.
	c.Cut()
	c2 := ingesttest.New(h.addr, "w-cut", "eth0", "")
	if _, err := c2.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	sendAll(t, c2, ss)
	waitFor(t, "4000 resent sessions processed", func() bool { return h.srv.Snapshot().TotalProcessed == 9500 })
	snap := h.srv.Snapshot()
	if snap.DuplicatesSkipped != 5500 {
		t.Errorf("duplicates skipped = %d, want 5500", snap.DuplicatesSkipped)
	}
	if snap.CommittedSessions != 4000 {
		t.Errorf("committed sessions = %d, want 4000", snap.CommittedSessions)
	}
	if got := h.packets(); got != 4000 {
		t.Errorf("store holds %d sessions after the resend, want 4000", got)
	}
}

// A restarted server reads each worker's high-water seq from the store:
// sessions committed before the restart are refused as duplicates, and the
// welcome carries the committed seq.
func TestExactlyOnceAcrossServerRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ntp_clients.db")
	ss := storetest.Sessions(1000, 100, 2)
	h := startOn(t, ingest.Config{BatchSize: 300, BatchInterval: 50 * time.Millisecond}, path, store.Options{})
	c := connect(t, h.addr, "w-restart")
	sendAll(t, c, ss[:600])
	waitAcked(t, c, 600)
	c.Cut()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	h = startOn(t, ingest.Config{BatchSize: 300, BatchInterval: 50 * time.Millisecond}, path, store.Options{})
	c2 := ingesttest.New(h.addr, "w-restart", "eth0", "")
	last, err := c2.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if last != 600 {
		t.Errorf("welcome last_seq after restart = %d, want 600", last)
	}
	sendAll(t, c2, ss) // seq 1..1000 again: 600 duplicates, 400 new
	waitAcked(t, c2, 1000)
	if got := h.packets(); got != 1000 {
		t.Errorf("store holds %d sessions, want 1000", got)
	}
	if d := h.srv.Snapshot().DuplicatesSkipped; d != 600 {
		t.Errorf("duplicates skipped = %d, want 600", d)
	}
}

type rowWant struct {
	n           int64
	first, last time.Time
}

// Many workers at once, some reporting the same clients on the same
// interface, some on their own interface, with capture times out of order:
// every row's count and first/last seen must be exactly what was sent.
func TestConcurrentWorkers(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 250, BatchInterval: 20 * time.Millisecond})
	const workers, per = 8, 1500
	want := map[[2]string]*rowWant{}
	var all [workers][]session.Session
	for w := range workers {
		ss := storetest.Sessions(per, 300, uint64(100+w))
		iface := "eth0" // workers 0-3 share clients and interface
		if w >= 4 {
			iface = fmt.Sprintf("veth%d", w)
		}
		for i := range ss {
			ss[i].Interface = iface
			// Reverse time within each worker: later seqs carry earlier
			// capture times.
			ss[i].Timestamp = storetest.Base.Add(time.Duration(per-i) * time.Millisecond)
			k := [2]string{ss[i].ClientIP.Unmap().String(), iface}
			r := want[k]
			if r == nil {
				r = &rowWant{first: ss[i].Timestamp, last: ss[i].Timestamp}
				want[k] = r
			}
			r.n++
			if ss[i].Timestamp.Before(r.first) {
				r.first = ss[i].Timestamp
			}
			if ss[i].Timestamp.After(r.last) {
				r.last = ss[i].Timestamp
			}
		}
		all[w] = ss
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ingesttest.New(h.addr, fmt.Sprintf("w-%d", w), "eth0", "")
			if _, err := c.Connect(context.Background()); err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := range all[w] {
				if err := c.Send(&all[w][i]); err != nil {
					errs <- err
					return
				}
				if i%100 == 0 {
					c.Flush()
				}
			}
			c.Flush()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs <- c.WaitAcked(ctx, per)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := h.packets(); got != workers*per {
		t.Fatalf("store holds %d sessions, want %d", got, workers*per)
	}
	rows, err := h.st.ReadDB().Query(`SELECT client_ip, interface_name,
		session_count + mode1_count + mode2_count + mode5_count + mode6_count + mode7_count,
		first_seen_timestamp, last_seen_timestamp FROM ntp_clients`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var ip, iface, first, last string
		var n int64
		if err := rows.Scan(&ip, &iface, &n, &first, &last); err != nil {
			t.Fatal(err)
		}
		seen++
		w := want[[2]string{ip, iface}]
		if w == nil {
			t.Errorf("unexpected row %s %s", ip, iface)
			continue
		}
		if n != w.n {
			t.Errorf("%s %s: %d sessions, want %d", ip, iface, n, w.n)
		}
		if f := w.first.Format("2006-01-02T15:04:05.000000000Z"); first != f {
			t.Errorf("%s %s: first seen %s, want %s", ip, iface, first, f)
		}
		if l := w.last.Format("2006-01-02T15:04:05.000000000Z"); last != l {
			t.Errorf("%s %s: last seen %s, want %s", ip, iface, last, l)
		}
	}
	if seen != len(want) {
		t.Errorf("%d rows, want %d", seen, len(want))
	}
	snap := h.srv.Snapshot()
	if snap.DuplicatesSkipped != 0 || snap.ProcessingErrors != 0 {
		t.Errorf("duplicates %d, errors %d: want none", snap.DuplicatesSkipped, snap.ProcessingErrors)
	}
	if len(snap.Workers) != workers {
		t.Errorf("snapshot lists %d workers, want %d", len(snap.Workers), workers)
	}
	for _, ws := range snap.Workers {
		if ws.Received != per || ws.Acked != per || ws.Lag != 0 {
			t.Errorf("worker %s: received %d acked %d lag %d, want %d %d 0", ws.WorkerID, ws.Received, ws.Acked, ws.Lag, per, per)
		}
	}
}

// Shutdown drains: sessions queued and batched when the context is cancelled
// are committed and acknowledged before Serve returns.
func TestShutdownDrainsAndAcks(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 100000, BatchInterval: time.Hour})
	c := connect(t, h.addr, "w-drain")
	sendAll(t, c, storetest.Sessions(5000, 1000, 3))
	waitFor(t, "sessions queued", func() bool { return h.srv.Snapshot().TotalReceived == 5000 })
	began := time.Now()
	db := h.st // stop closes it; read through a fresh store afterwards
	_ = db
	if err := h.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Logf("shutdown with 5000 queued sessions took %s", time.Since(began))
	waitAcked(t, c, 5000)
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("connection still open after shutdown")
	}
	st, err := store.Open(context.Background(), h.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := packets(t, st.ReadDB()); got != 5000 {
		t.Errorf("store holds %d sessions after shutdown, want 5000", got)
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Error("listener still accepting after shutdown")
	}
}

// A worker that reconnects while its old connection still looks open (a
// half-open TCP connection) takes over: the old connection is closed and the
// acks come on the new one.
func TestReconnectTakesOver(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 100, BatchInterval: 20 * time.Millisecond})
	ss := storetest.Sessions(300, 50, 12)
	old := connect(t, h.addr, "w-takeover")
	sendAll(t, old, ss[:100])
	waitAcked(t, old, 100)

	c := ingesttest.New(h.addr, "w-takeover", "eth0", "")
	last, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if last != 100 {
		t.Errorf("welcome last_seq %d, want 100", last)
	}
	select {
	case <-old.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the old connection was not closed")
	}
	// Numbering goes on where the worker left off.
	for i := 100; i < 300; i++ {
		if err := c.SendRaw(wire.AppendSession(nil, uint64(i+1), &ss[i])); err != nil {
			t.Fatal(err)
		}
	}
	c.Flush()
	waitFor(t, "acks on the new connection", func() bool {
		snap := h.srv.Snapshot()
		return len(snap.Workers) == 1 && snap.Workers[0].Acked == 300
	})
	if got := h.packets(); got != 300 {
		t.Errorf("store holds %d sessions, want 300", got)
	}
	w := h.srv.Snapshot().Workers[0]
	if !w.Connected || w.Connections != 2 {
		t.Errorf("worker connected %v after %d connections, want true after 2", w.Connected, w.Connections)
	}
}
