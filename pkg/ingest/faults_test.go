package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

type badLine struct {
	kind, name string
	line       []byte
}

func readBadLines(t *testing.T) []badLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bad_lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []badLine
	for l := range strings.SplitSeq(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.SplitN(l, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("testdata/bad_lines.txt: bad entry %q", l)
		}
		out = append(out, badLine{f[0], f[1], unescapeBytes(f[2])})
	}
	return out
}

// unescapeBytes turns \xNN into the byte.
func unescapeBytes(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

// Every bad line is counted under its kind, and the same connection goes on
// delivering: the valid session sent right after it is committed and acked.
func TestBadLinesAreCountedAndIngestionGoesOn(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	c := connect(t, h.addr, "w-bad")
	ss := storetest.Sessions(200, 50, 4)
	next := 0
	sendGood := func() {
		t.Helper()
		sendAll(t, c, ss[next:next+1])
		next++
		waitAcked(t, c, uint64(next))
	}
	sendGood()

	cases := readBadLines(t)
	// Over the limit: a line of MaxLine bytes plus its newline, which must
	// be skipped up to its newline without ending the connection.
	long := append(bytes.Repeat([]byte("x"), wire.MaxLine), '\n')
	cases = append(cases, badLine{ingest.ErrKindOversize, "line over 64 KiB", long},
		badLine{ingest.ErrKindOversize, "long line that looks like a session", append([]byte(`{"type":"session","seq":99,"pad":"`+strings.Repeat("y", 3*wire.MaxLine)), "\"}\n"...)})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.srv.Snapshot()
			line := tc.line
			if !bytes.HasSuffix(line, []byte("\n")) {
				line = append(line, '\n')
			}
			if err := c.SendRaw(line); err != nil {
				t.Fatal(err)
			}
			sendGood()
			after := h.srv.Snapshot()
			if d := after.ErrorsByKind[tc.kind] - before.ErrorsByKind[tc.kind]; d != 1 {
				t.Errorf("%s errors went up by %d, want 1 (by kind: %v)", tc.kind, d, after.ErrorsByKind)
			}
			if d := after.ProcessingErrors - before.ProcessingErrors; d != 1 {
				t.Errorf("processing errors went up by %d, want 1", d)
			}
		})
	}
	if got, want := h.packets(), int64(next); got != want {
		t.Errorf("store holds %d sessions, want %d (every valid one)", got, want)
	}
	if !strings.Contains(h.logs.String(), "bad line from worker skipped") {
		t.Error("no log line for the bad lines")
	}
}

// dialRaw connects and sends lines without the protocol client.
func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc, bufio.NewReader(nc)
}

// dialRawWrite connects and sends first as it is.
func dialRawWrite(t *testing.T, addr, first string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, br := dialRaw(t, addr)
	if _, err := nc.Write([]byte(first)); err != nil {
		t.Fatal(err)
	}
	return nc, br
}

// expectRefusal reads an error line naming want, then the end of the
// connection.
func expectRefusal(t *testing.T, br *bufio.Reader, want string) {
	t.Helper()
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading the refusal: %v (got %q)", err, line)
	}
	var m wire.Message
	if err := wire.NewDecoder().Decode(line, &m); err != nil || m.Type != wire.TypeError {
		t.Fatalf("want an error line, got %q (%v)", line, err)
	}
	if !strings.Contains(m.Error, want) {
		t.Errorf("error message %q does not mention %q", m.Error, want)
	}
	if rest, err := br.ReadBytes('\n'); !errors.Is(err, io.EOF) {
		t.Errorf("connection not closed after the refusal: %q %v", rest, err)
	}
}

// Peers that are not workers, or not allowed in, get an error line and are
// closed; each is counted; workers keep ingesting.
func TestHandshakeRefusals(t *testing.T) {
	const token = "s3cret-token"
	h := start(t, ingest.Config{Token: token, HelloTimeout: 200 * time.Millisecond, BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	hello := func(proto int, tok string) string {
		return string(wire.AppendHello(nil, &wire.Hello{Protocol: proto, WorkerID: "w-x", Interface: "eth0", Token: tok}))
	}
	tests := []struct {
		name, first, kind, msg string
	}{
		{"HTTP request", "GET / HTTP/1.1\r\n", ingest.ErrKindHandshake, "expected a hello"},
		{"session before hello", string(wire.AppendSession(nil, 1, &storetest.Sessions(1, 1, 5)[0])), ingest.ErrKindHandshake, "expected a hello"},
		{"hello without worker_id", `{"type":"hello","protocol":1}` + "\n", ingest.ErrKindHandshake, "worker_id"},
		{"over-long worker_id", string(wire.AppendHello(nil, &wire.Hello{Protocol: 1, WorkerID: strings.Repeat("w", 129), Token: token})),
			ingest.ErrKindHandshake, "worker_id must be at most 128 bytes"},
		{"newer protocol", hello(2, token), ingest.ErrKindProtocol, "unsupported protocol version 2"},
		{"wrong token", hello(1, "guess"), ingest.ErrKindAuth, "invalid token"},
		{"token prefix", hello(1, token[:5]), ingest.ErrKindAuth, "invalid token"},
		{"no token", hello(1, ""), ingest.ErrKindAuth, "invalid token"},
		{"silent peer", "", ingest.ErrKindHelloTimeout, "no hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.srv.Snapshot().ErrorsByKind[tc.kind]
			nc, br := dialRaw(t, h.addr)
			if tc.first != "" {
				if _, err := nc.Write([]byte(tc.first)); err != nil {
					t.Fatal(err)
				}
			}
			expectRefusal(t, br, tc.msg)
			waitFor(t, tc.kind+" counted", func() bool { return h.srv.Snapshot().ErrorsByKind[tc.kind] == before+1 })
		})
	}

	c := ingesttest.New(h.addr, "w-good", "eth0", token)
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatalf("worker with the right token: %v", err)
	}
	defer c.Close()
	sendAll(t, c, storetest.Sessions(10, 5, 6))
	waitAcked(t, c, 10)
	if got := h.packets(); got != 10 {
		t.Errorf("store holds %d sessions, want 10", got)
	}
	if snap := h.srv.Snapshot(); snap.Connections != 1 || snap.ConnectedWorkers != 1 {
		t.Errorf("connections %d, connected workers %d: want 1 and 1", snap.Connections, snap.ConnectedWorkers)
	}
}

// Beyond --max-connections a peer gets an error line and is closed; once a
// slot frees up, a worker gets in again.
func TestMaxConnections(t *testing.T) {
	h := start(t, ingest.Config{MaxConnections: 2, BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	a := connect(t, h.addr, "w-a")
	connect(t, h.addr, "w-b")
	_, br := dialRaw(t, h.addr)
	expectRefusal(t, br, "too many connections")
	if n := h.srv.Snapshot().ErrorsByKind[ingest.ErrKindOverCapacity]; n != 1 {
		t.Errorf("over-capacity count %d, want 1", n)
	}
	a.Close()
	waitFor(t, "a free slot", func() bool { return h.srv.Snapshot().Connections == 1 })
	c := connect(t, h.addr, "w-c")
	sendAll(t, c, storetest.Sessions(3, 3, 7))
	waitAcked(t, c, 3)
}

// A worker that goes silent past the idle timeout is closed and counted; it
// can reconnect and go on.
func TestIdleTimeout(t *testing.T) {
	h := start(t, ingest.Config{IdleTimeout: 200 * time.Millisecond, BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	c := connect(t, h.addr, "w-idle")
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("idle worker not closed")
	}
	if n := h.srv.Snapshot().ErrorsByKind[ingest.ErrKindIdleTimeout]; n != 1 {
		t.Errorf("idle-timeout count %d, want 1", n)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	sendAll(t, c, storetest.Sessions(3, 3, 8))
	waitAcked(t, c, 3)
}

// Worker stats lines are kept per worker, latest first.
func TestWorkerStatsKept(t *testing.T) {
	h := start(t, ingest.Config{})
	c := connect(t, h.addr, "w-stats")
	for i := uint64(1); i <= 3; i++ {
		st := wire.Stats{Time: storetest.Base.Add(time.Duration(i) * time.Second), Packets: 100 * i, KernelDrops: i, Sent: 10 * i}
		if err := c.SendRaw(wire.AppendStats(nil, &st)); err != nil {
			t.Fatal(err)
		}
	}
	c.Flush()
	waitFor(t, "latest stats", func() bool {
		s := h.srv.Snapshot()
		return len(s.Workers) == 1 && s.Workers[0].Stats.Packets == 300
	})
	w := h.srv.Snapshot().Workers[0]
	if w.Stats.KernelDrops != 3 || w.Stats.Sent != 30 || w.StatsAt.IsZero() || !w.Connected || w.Interface != "eth0" {
		t.Errorf("worker snapshot %+v", w)
	}

	// A later run of a worker on the same interface (a restarted worker
	// has a new worker_id) is the one LatestStats reports.
	time.Sleep(10 * time.Millisecond) // arrival times must differ
	c2 := connect(t, h.addr, "w-stats-2")
	st := wire.Stats{Time: storetest.Base.Add(time.Hour), Packets: 7}
	if err := c2.SendRaw(wire.AppendStats(nil, &st)); err != nil {
		t.Fatal(err)
	}
	c2.Flush()
	waitFor(t, "second worker's stats", func() bool {
		got, _, ok := h.srv.LatestStats("eth0")
		return ok && got.Packets == 7
	})
	if _, _, ok := h.srv.LatestStats("eth9"); ok {
		t.Error("LatestStats found stats for an interface no worker reported")
	}
}

// A commit that fails (the database locked by another process) is retried
// with the batch kept and nothing acknowledged; meanwhile the queue fills
// and the readers stop reading, so the workers are pushed back and nothing
// is dropped. Health reports the stuck writer. Once the lock goes, every
// session is committed exactly once.
func TestCommitRetryWithBackpressure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ntp_clients.db")
	const queue, batch, maxBatch = 50, 10, 20
	h := startOn(t, ingest.Config{QueueSize: queue, BatchSize: batch, MaxBatchSize: maxBatch, BatchInterval: 10 * time.Millisecond, StuckAfter: 300 * time.Millisecond},
		path, store.Options{BusyTimeout: 20 * time.Millisecond})
	c := connect(t, h.addr, "w-locked")
	ss := storetest.Sessions(3000, 2000, 9)
	sendAll(t, c, ss[:5])
	waitAcked(t, c, 5)

	// Another process's write lock, as a backup tool or a sqlite3 shell
	// holding a transaction would take.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lockConn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockConn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 5; i < len(ss); i++ {
			c.Send(&ss[i])
		}
		c.Flush()
	}()
	waitFor(t, "a full queue and an unhealthy writer", func() bool {
		s := h.srv.Snapshot()
		return s.QueueSize == queue && s.CommitFailures > 0 && h.srv.Health() != nil
	})
	time.Sleep(200 * time.Millisecond)
	snap := h.srv.Snapshot()
	if c.Acked() != 5 {
		t.Errorf("acked %d while the database was locked, want 5", c.Acked())
	}
	// Beyond the queue: one batch committing, one filled up to maxBatch
	// while it waits, and the one session the reader holds.
	if max := uint64(5 + queue + batch + maxBatch + 1); snap.TotalReceived > max {
		t.Errorf("received %d sessions while the writer was stuck, want at most %d: the reader did not stop", snap.TotalReceived, max)
	}
	// Group commit: the waiting batch took sessions past batch-size.
	if min := uint64(5 + queue + batch + maxBatch); snap.TotalReceived < min {
		t.Errorf("received %d sessions with a full queue, want at least %d: the waiting batch did not grow to max-batch-size", snap.TotalReceived, min)
	}
	if snap.LastCommitError == "" {
		t.Error("LastCommitError empty while commits fail")
	}
	t.Logf("while locked: received %d, queue %d/%d, commit failures %d, health: %v",
		snap.TotalReceived, snap.QueueSize, snap.QueueCapacity, snap.CommitFailures, h.srv.Health())
	if !strings.Contains(h.logs.String(), "batch commit failed; batch kept, not acknowledged, retrying") {
		t.Error("no log line for the failing commit")
	}

	if _, err := lockConn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	lockConn.Close()
	<-done
	waitAcked(t, c, uint64(len(ss)))
	if got := h.packets(); got != int64(len(ss)) {
		t.Errorf("store holds %d sessions, want %d", got, len(ss))
	}
	if err := h.srv.Health(); err != nil {
		t.Errorf("Health after recovery: %v", err)
	}
	if s := h.srv.Snapshot(); s.LastCommitError != "" || s.DuplicatesSkipped != 0 {
		t.Errorf("after recovery: last commit error %q, duplicates %d", s.LastCommitError, s.DuplicatesSkipped)
	}
}
