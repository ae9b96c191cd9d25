package supervisor_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// TestRealWorkerThroughHTTP runs the real ntp-worker under the supervisor,
// started through the HTTP API on the server-side veth of a testnet
// topology with a real chronyd, real client queries, a real ingestion
// server and SQLite store. The worker is killed with SIGKILL; the supervisor
// restarts it and sessions keep arriving.
func TestRealWorkerThroughHTTP(t *testing.T) {
	testnet.Require(t)
	dir := t.TempDir()
	bin := supervisor.ForTestRealWorker(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	n := testnet.New(t)
	srvHost := n.AddHost("srv")
	cli := n.AddHost("cli")
	srvHost.StartChronyd(t, testnet.ChronyOptions{})

	st, err := store.Open(ctx, filepath.Join(dir, "ntp.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ln, err := ingest.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ing := ingest.New(ingest.Config{Listener: ln, Token: "ingest-token", BatchSize: 1, BatchInterval: 100 * time.Millisecond}, st)
	ingDone := make(chan error, 1)
	go func() { ingDone <- ing.Serve(ctx) }()

	cfg := supervisor.ForTestConfig(t, dir, bin, st)
	cfg.IngestionPort = ln.Addr().(*net.TCPAddr).Port
	cfg.Token = "ingest-token"
	cfg.WorkerStats = ing.LatestStats
	cfg.WorkerArgs = []string{"--stats-interval=1s"}
	cfg.RunningAfter = time.Second
	cfg.StopTimeout = 10 * time.Second
	sup := supervisor.ForTestNew(t, cfg)
	// The supervisor must stop before ingestion drains (as in the
	// collector): cleanups run last-registered first.
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
		defer c()
		sup.Shutdown(sctx)
		cancel()
		<-ingDone
	})
	c := newAPI(t, sup, st)
	base := "/api/ntp/interfaces/" + srvHost.Peer

	var status supervisor.Status
	if code := c.do("POST", base+"/start", `{"port":123,"timeout":1.0}`, &status); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	first := status.PID
	supervisor.ForTestWaitFor(t, "the worker to connect", func() bool {
		for _, w := range ing.Snapshot().Workers {
			if w.Interface == srvHost.Peer && w.Connected {
				return true
			}
		}
		return false
	})

	// query sends NTP requests from the client until the store has more
	// than base sessions committed.
	query := func(base uint64) uint64 {
		t.Helper()
		var got uint64
		supervisor.ForTestWaitFor(t, "sessions to be committed", func() bool {
			if _, err := cli.ChronyQuery(ctx, srvHost.V4); err != nil {
				t.Logf("chronyd -Q: %v", err)
			}
			got = ing.Snapshot().CommittedSessions
			return got > base
		})
		return got
	}
	committed := query(0)
	// acked returns the ID of a connected worker on the interface whose
	// sessions the collector has acknowledged, other than skip.
	acked := func(skip string) string {
		for _, w := range ing.Snapshot().Workers {
			if w.Interface == srvHost.Peer && w.Connected && w.Acked > 0 && w.WorkerID != skip {
				return w.WorkerID
			}
		}
		return ""
	}
	firstID := acked("")
	if firstID == "" {
		t.Fatal("no acknowledged sessions from the first worker")
	}

	supervisor.ForTestWaitFor(t, "capture statistics in the status", func() bool {
		return c.do("GET", base+"/status", "", &status) == http.StatusOK && status.Stats != nil && status.Stats.Packets > 0
	})

	supervisor.ForTestKill(first)
	supervisor.ForTestWaitFor(t, "a restarted worker", func() bool {
		return c.do("GET", base+"/status", "", &status) == http.StatusOK &&
			status.PID != 0 && status.PID != first && status.State == supervisor.StateRunning
	})
	if status.Restarts != 1 || status.LastExit == nil || status.LastExit.Signal != "killed" {
		t.Errorf("after SIGKILL: %+v", status)
	}
	// Sessions keep arriving: from the new worker process (a new worker
	// ID), not just late commits of the killed one's.
	var after uint64
	supervisor.ForTestWaitFor(t, "sessions from the restarted worker", func() bool {
		after = query(committed)
		return acked(firstID) != ""
	})
	t.Logf("sessions committed: %d before SIGKILL, %d after", committed, after)
	// The sessions are the client's, seen on the supervised interface.
	var answered int64
	if err := st.ReadDB().QueryRowContext(ctx,
		"SELECT answered_count FROM ntp_clients WHERE client_ip = ? AND interface_name = ?",
		cli.V4.String(), srvHost.Peer).Scan(&answered); err != nil {
		t.Fatalf("the client's row: %v", err)
	}
	if uint64(answered) != after {
		t.Errorf("client row has %d answered sessions, %d committed in all", answered, after)
	}

	var stopped supervisor.Status
	if code := c.do("POST", base+"/stop", "", &stopped); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	if stopped.LastExit == nil || stopped.LastExit.Code != 0 {
		t.Errorf("worker did not exit cleanly on SIGTERM: %+v", stopped.LastExit)
	}
	if supervisor.ForTestAlive(status.PID) {
		t.Error("worker alive after stop")
	}
	// Stopped with SIGTERM while ingestion still ran, the worker had every
	// session acknowledged before it exited.
	logb, err := os.ReadFile(stopped.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(logb)), "\n")
	last := ""
	for _, l := range lines {
		if strings.Contains(l, "capture stopped") {
			last = l
		}
	}
	if !strings.Contains(last, " unacked=0") || !strings.Contains(last, " lost=0") || strings.Contains(last, " sent=0 ") {
		t.Errorf("worker's summary does not show its sessions sent and all acknowledged: %q", last)
	}
}
