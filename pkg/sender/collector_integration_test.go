package sender

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// realCollector is the collector's ingestion server over a SQLite file.
type realCollector struct {
	srv    *ingest.Server
	st     *store.Store
	cancel context.CancelFunc
	done   chan error
}

func startRealCollector(t *testing.T, addr, dbPath, token string, lb *logBuffer) *realCollector {
	t.Helper()
	st, err := store.Open(context.Background(), dbPath, store.Options{Logger: lb.logger()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	srv := ingest.New(ingest.Config{Addr: addr, Token: token, BatchSize: 100, BatchInterval: 20 * time.Millisecond, Logger: lb.logger()}, st)
	// The port of a collector that just stopped may take a moment to free.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := srv.Listen()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			st.Close()
			t.Fatalf("Listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc := &realCollector{srv: srv, st: st, cancel: cancel, done: make(chan error, 1)}
	go func() { rc.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { rc.stop(t) })
	return rc
}

func (rc *realCollector) stop(t *testing.T) {
	if rc.cancel == nil {
		return
	}
	rc.cancel()
	rc.cancel = nil
	if err := <-rc.done; err != nil {
		t.Logf("collector shutdown: %v", err)
	}
	rc.st.Close()
}

func (rc *realCollector) sessions(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := rc.st.ReadDB().QueryRow(`SELECT coalesce(sum(session_count), 0) FROM ntp_clients`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRealCollectorRestart streams to the collector's real ingestion server
// and SQLite store, restarts the collector mid-stream, and checks that the
// store holds every session exactly once.
func TestRealCollectorRestart(t *testing.T) {
	var lb logBuffer
	db := filepath.Join(t.TempDir(), "ntp_clients.db")
	rc := startRealCollector(t, "127.0.0.1:0", db, "", &lb)
	addr := rc.srv.Addr().String()

	cfg := testConfig(addr, &lb)
	cfg.Spool, cfg.Block = 500, true // a small spool: Send waits through the restart
	s := New(cfg)
	startRun(t, s)

	const n = 3000
	sent := make(chan struct{})
	go func() { sendN(s, 1, n); close(sent) }()
	waitFor(t, "the first acks", 10*time.Second, func() bool { return s.Counters().Acked >= 500 })
	rc.stop(t)
	rc = startRealCollector(t, addr, db, "", &lb)
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		t.Fatalf("Send still blocked after the collector came back: %+v", s.Counters())
	}
	flush(t, s)

	if got := rc.sessions(t); got != n {
		t.Errorf("store holds %d sessions; want %d", got, n)
	}
	hw, err := rc.st.HighWater(context.Background(), cfg.WorkerID)
	if err != nil {
		t.Fatal(err)
	}
	if hw != n {
		t.Errorf("store's high-water seq %d; want %d", hw, n)
	}
	if c := s.Counters(); c.Lost != 0 || c.Acked != n || c.Reconnects < 1 {
		t.Errorf("counters %+v; want none lost, all acked, at least one reconnect", c)
	}
}

func TestRealCollectorBadToken(t *testing.T) {
	var lb logBuffer
	rc := startRealCollector(t, "127.0.0.1:0", filepath.Join(t.TempDir(), "ntp_clients.db"), "right-token", &lb)
	cfg := testConfig(rc.srv.Addr().String(), &lb)
	cfg.Token = "wrong-token"
	s := New(cfg)
	startRun(t, s)
	sendN(s, 1, 5)
	var rej *RejectedError
	waitFor(t, "the rejection", 10*time.Second, func() bool { return errors.As(s.Err(), &rej) })
	if rej.Message == "" {
		t.Error("rejection carries no message from the collector")
	}
	if got := rc.sessions(t); got != 0 {
		t.Errorf("store holds %d sessions from a rejected worker", got)
	}
}
