package sender

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

func testConfig(addr string, lb *logBuffer) Config {
	return Config{
		Addr: addr, WorkerID: "worker-test", Interface: "veth-test", Spool: 10_000,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		DialTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, AckTimeout: 10 * time.Second,
		Logger: lb.logger(),
	}
}

// startRun runs s until the returned stop is called (or the test ends) and
// checks that Run returns promptly and cleanly.
func startRun(t *testing.T, s *Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var stopped atomic.Bool
	stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel; want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func sendN(s *Sender, from, to uint64) {
	for i := from; i <= to; i++ {
		sess := genSession(i)
		s.Send(&sess)
	}
}

func flush(t *testing.T, s *Sender) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (counters %+v)", err, s.Counters())
	}
}

func TestHandshakeOrderAndAcks(t *testing.T) {
	c := newCollector(t)
	c.setToken("s3cret")
	var lb logBuffer
	cfg := testConfig(c.addr(), &lb)
	cfg.Token = "s3cret"
	s := New(cfg)
	startRun(t, s)

	sendN(s, 1, 1000)
	flush(t, s)
	c.checkDelivered(t, 1, 1000)

	v := c.view()
	if len(v.hellos) != 1 {
		t.Fatalf("%d hellos; want 1", len(v.hellos))
	}
	want := wire.Hello{Protocol: wire.Protocol, WorkerID: "worker-test", Interface: "veth-test", Token: "s3cret",
		Secret: s.Config().Secret} // the run's own, random
	if v.hellos[0] != want {
		t.Errorf("hello = %+v; want %+v", v.hellos[0], want)
	}
	got := s.Counters()
	wantC := Counters{Seq: 1000, Sent: 1000, Acked: 1000, Lost: 0, Spooled: 0, Reconnects: 0, Connected: true}
	if got != wantC {
		t.Errorf("counters = %+v; want %+v", got, wantC)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v while connected", err)
	}
}

func TestAcksTrimSpool(t *testing.T) {
	c := newCollector(t)
	c.acking.Store(false)
	var lb logBuffer
	s := New(testConfig(c.addr(), &lb))
	startRun(t, s)

	sendN(s, 1, 50)
	waitFor(t, "50 lines at the collector", 10*time.Second, func() bool {
		return c.view().received == 50 && s.Counters().Sent == 50
	})
	time.Sleep(50 * time.Millisecond) // more than the collector's idle-commit interval
	if got := s.Counters(); got.Spooled != 50 || got.Acked != 0 || got.Sent != 50 {
		t.Fatalf("before acks: %+v; want 50 spooled and sent, none acked", got)
	}
	c.acking.Store(true)
	waitFor(t, "acks to empty the spool", 10*time.Second, func() bool { return s.Counters().Spooled == 0 })
	if got := s.Counters(); got.Acked != 50 {
		t.Fatalf("after acks: %+v; want acked 50", got)
	}
	sendN(s, 51, 60)
	flush(t, s)
	c.checkDelivered(t, 1, 60)
}

func TestReconnectResendsUnacked(t *testing.T) {
	tests := []struct {
		name      string
		ackEvery  int
		dropAfter []int // session lines per connection before the collector hangs up
		n         uint64
	}{
		{"drop mid-batch", 100, []int{250}, 1000},
		{"drop before any ack", 100, []int{50}, 300},
		{"drop on every connection", 64, []int{100, 100, 100, 100}, 700},
		{"drop right after the first line", 10, []int{1, 1, 1}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t)
			c.ackEvery, c.dropAfter = tt.ackEvery, tt.dropAfter
			var lb logBuffer
			s := New(testConfig(c.addr(), &lb))
			sendN(s, 1, tt.n) // all spooled before the first connection
			startRun(t, s)
			flush(t, s)
			c.checkDelivered(t, 1, tt.n)

			v := c.view()
			if len(v.welcomes) != len(tt.dropAfter)+1 {
				t.Fatalf("welcomes %v; want %d connections", v.welcomes, len(tt.dropAfter)+1)
			}
			// Each welcome resumes after what was committed, which is short
			// of what that connection carried: the tail was resent.
			if v.received <= int(tt.n) {
				t.Errorf("collector received %d lines for %d sessions; the dropped tails were not resent", v.received, tt.n)
			}
			for i := 1; i < len(v.welcomes); i++ {
				if v.welcomes[i] < v.welcomes[i-1] {
					t.Errorf("welcome last_seq went back: %v", v.welcomes)
				}
			}
			if got := s.Counters(); got.Reconnects != uint64(len(tt.dropAfter)) || got.Lost != 0 || got.Acked != tt.n {
				t.Errorf("counters %+v; want %d reconnects, none lost, acked %d", got, len(tt.dropAfter), tt.n)
			}
		})
	}
}

func TestSpoolOverflowDropsOldest(t *testing.T) {
	tests := []struct {
		spool    int
		n        uint64
		wantLost uint64
	}{
		{1, 10, 9},
		{100, 250, 150},
		{1000, 1000, 0},
		{1000, 1001, 1},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			var lb logBuffer
			c := newCollector(t)
			cfg := testConfig(c.addr(), &lb)
			cfg.Spool = tt.spool
			s := New(cfg)
			sendN(s, 1, tt.n) // not running: nothing can drain the spool
			got := s.Counters()
			if got.Lost != tt.wantLost || got.Spooled != tt.n-tt.wantLost || got.Seq != tt.n {
				t.Fatalf("counters %+v; want lost %d, spooled %d", got, tt.wantLost, tt.n-tt.wantLost)
			}
			startRun(t, s)
			flush(t, s)
			c.checkDelivered(t, tt.wantLost+1, tt.n) // the newest survive
		})
	}
}

func TestSpoolFullBlocks(t *testing.T) {
	c := newCollector(t)
	c.ackEvery = 5
	var lb logBuffer
	cfg := testConfig(c.addr(), &lb)
	cfg.Spool, cfg.Block = 10, true
	s := New(cfg)

	const n = 3000 // many laps of a 10-slot ring
	var returned atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(1); i <= n; i++ {
			sess := genSession(i)
			s.Send(&sess)
			returned.Add(1)
		}
	}()
	waitFor(t, "the spool to fill", 5*time.Second, func() bool { return returned.Load() == 10 })
	time.Sleep(50 * time.Millisecond)
	if r := returned.Load(); r != 10 {
		t.Fatalf("%d Sends returned with a 10-session spool and no collector connected; want Send to block", r)
	}
	startRun(t, s)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("Send still blocked with the collector acking: %+v", s.Counters())
	}
	flush(t, s)
	c.checkDelivered(t, 1, n)
	if got := s.Counters(); got.Lost != 0 {
		t.Errorf("lost %d with Block=true", got.Lost)
	}
}

func TestSendAfterStopNeverBlocks(t *testing.T) {
	var lb logBuffer
	c := newCollector(t)
	cfg := testConfig(c.addr(), &lb)
	cfg.Spool, cfg.Block = 4, true
	c.acking.Store(false)
	s := New(cfg)
	stop := startRun(t, s)
	sendN(s, 1, 4)
	stop()
	done := make(chan struct{})
	go func() { sendN(s, 5, 10); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Send blocked on a stopped sender")
	}
	if got := s.Counters(); got.Lost != 6 || got.Spooled != 4 {
		t.Errorf("counters %+v; want 6 lost, 4 spooled", got)
	}
}

func TestUnreachableCollectorThenAppears(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the port is closed: connections are refused

	var lb logBuffer
	s := New(testConfig(addr, &lb))
	sendN(s, 1, 500)
	startRun(t, s)
	waitFor(t, "a dial error", 5*time.Second, func() bool { return s.Err() != nil })
	time.Sleep(100 * time.Millisecond) // many 5–50 ms backoff steps
	if got := s.Counters(); got.Connected || got.Spooled != 500 {
		t.Fatalf("counters %+v while unreachable", got)
	}
	logs := lb.String()
	if n := strings.Count(logs, "cannot reach collector at "+addr); n != 1 {
		t.Errorf("%d 'cannot reach' lines in 100 ms of retries; want 1 (rate-limited):\n%s", n, logs)
	}
	if !strings.Contains(logs, "sessions are held in memory (500/10000") {
		t.Errorf("the failure line does not say what is held:\n%s", logs)
	}

	var ln2 net.Listener
	waitFor(t, "the port to be free again", 5*time.Second, func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	})
	c := startCollector(t, ln2)
	flush(t, s)
	c.checkDelivered(t, 1, 500)
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v after connecting", err)
	}
	if !strings.Contains(lb.String(), "connected to collector") {
		t.Errorf("no line saying the collector is reachable again:\n%s", lb.String())
	}
}

func TestBadTokenIsReportedAndRetried(t *testing.T) {
	c := newCollector(t)
	c.setToken("right")
	var lb logBuffer
	cfg := testConfig(c.addr(), &lb)
	cfg.Token = "wrong"
	s := New(cfg)
	sendN(s, 1, 20)
	startRun(t, s)

	var rej *RejectedError
	waitFor(t, "a rejection", 5*time.Second, func() bool { return errors.As(s.Err(), &rej) })
	if rej.Message != "bad token" {
		t.Errorf("rejection message %q; want the collector's %q", rej.Message, "bad token")
	}
	waitFor(t, "retries", 5*time.Second, func() bool { return len(c.view().hellos) >= 3 })
	logs := lb.String()
	if n := strings.Count(logs, "rejected this worker: bad token; check that --token matches"); n != 1 {
		t.Errorf("%d rejection lines; want exactly 1 (rate-limited) naming the cause and the fix:\n%s", n, logs)
	}
	if got := s.Counters(); got.Connected || got.Spooled != 20 {
		t.Errorf("counters %+v while rejected", got)
	}

	c.setToken("wrong") // the operator fixes the collector's side
	flush(t, s)
	c.checkDelivered(t, 1, 20)
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v after being accepted", err)
	}
}

func TestFlush(t *testing.T) {
	t.Run("nothing sent", func(t *testing.T) {
		var lb logBuffer
		s := New(testConfig("127.0.0.1:1", &lb)) // never run
		if err := s.Flush(context.Background()); err != nil {
			t.Fatalf("Flush with nothing sent: %v", err)
		}
	})
	t.Run("deadline names the unacked", func(t *testing.T) {
		c := newCollector(t)
		c.acking.Store(false)
		var lb logBuffer
		s := New(testConfig(c.addr(), &lb))
		startRun(t, s)
		sendN(s, 1, 10)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := s.Flush(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "10 sessions not acknowledged") {
			t.Fatalf("Flush = %v; want a deadline error naming 10 unacked sessions", err)
		}
		c.acking.Store(true)
		flush(t, s) // and it succeeds once acks come
		c.checkDelivered(t, 1, 10)
	})
	t.Run("waits only for what was sent before it", func(t *testing.T) {
		c := newCollector(t)
		var lb logBuffer
		s := New(testConfig(c.addr(), &lb))
		sendN(s, 1, 100)
		startRun(t, s)
		flush(t, s)
		if got := s.Counters(); got.Acked < 100 {
			t.Fatalf("Flush returned with acked %d < 100", got.Acked)
		}
	})
	t.Run("stopped sender", func(t *testing.T) {
		c := newCollector(t)
		c.acking.Store(false)
		var lb logBuffer
		s := New(testConfig(c.addr(), &lb))
		stop := startRun(t, s)
		sendN(s, 1, 7)
		stop()
		err := s.Flush(context.Background())
		if err == nil || !strings.Contains(err.Error(), "stopped with 7 sessions") {
			t.Fatalf("Flush on a stopped sender = %v; want an error naming 7 sessions", err)
		}
	})
}

func TestDeadCollectorIsDetected(t *testing.T) {
	c := newCollector(t)
	c.acking.Store(false) // reads, never acknowledges
	var lb logBuffer
	cfg := testConfig(c.addr(), &lb)
	cfg.AckTimeout = 200 * time.Millisecond
	s := New(cfg)
	startRun(t, s)
	sendN(s, 1, 10)
	waitFor(t, "a reconnect after the ack timeout", 10*time.Second, func() bool { return c.view().conns >= 2 })
	if err := s.Err(); err != nil && !strings.Contains(err.Error(), "no ack from the collector") {
		t.Errorf("Err() = %v; want the ack timeout", err)
	}
	c.acking.Store(true)
	flush(t, s)
	c.checkDelivered(t, 1, 10)
}

func TestIdleConnectionIsNotDead(t *testing.T) {
	c := newCollector(t)
	var lb logBuffer
	cfg := testConfig(c.addr(), &lb)
	cfg.AckTimeout = 50 * time.Millisecond
	s := New(cfg)
	startRun(t, s)
	sendN(s, 1, 5)
	flush(t, s)
	// Only the idle time is judged: while sessions are outstanding, an ack
	// slower than the 50 ms timeout on a loaded machine rightly counts as
	// a dead connection, so the connections are counted around the idle
	// time alone.
	before := c.view().conns
	time.Sleep(300 * time.Millisecond) // six ack timeouts with nothing outstanding
	if after := c.view().conns; after != before {
		t.Errorf("%d connections after the idle time, %d before; an idle connection was taken for a dead one", after, before)
	}
	sendN(s, 6, 10)
	flush(t, s)
	c.checkDelivered(t, 1, 10)
}

// TestCollectorNoise feeds the sender the lines in testdata/collector_noise.txt
// (and one over-long line) mid-stream: each must be logged and ignored, with
// nothing lost or resent.
func TestCollectorNoise(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "collector_noise.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(t)
	for _, l := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(l) > 0 && l[0] != '#' {
			c.noise = append(c.noise, l)
		}
	}
	c.noise = append(c.noise, append(bytes.Repeat([]byte("x"), wire.MaxLine+100), '\n'))
	var lb logBuffer
	s := New(testConfig(c.addr(), &lb))
	sendN(s, 1, 300)
	startRun(t, s)
	flush(t, s)
	c.checkDelivered(t, 1, 300)
	if v := c.view(); v.conns != 1 {
		t.Errorf("%d connections; noise must not end the stream", v.conns)
	}
	if !strings.Contains(lb.String(), "ignoring a bad line from the collector") {
		t.Errorf("noise was not logged:\n%s", lb.String())
	}
}

func TestWelcomeAheadRenumbers(t *testing.T) {
	c := newCollector(t)
	c.committed["worker-test"] = 5000 // a previous run with the same ID
	var lb logBuffer
	s := New(testConfig(c.addr(), &lb))
	sendN(s, 1, 10)
	startRun(t, s)
	flush(t, s)
	v := c.view()
	if len(v.got) != 10 || v.got[0] != 5001 || v.got[9] != 5010 {
		t.Fatalf("committed %v; want 5001..5010", v.got)
	}
	for i := uint64(1); i <= 10; i++ {
		if !sameSession(v.sessions[5000+i], genSession(i)) {
			t.Errorf("seq %d holds the wrong session", 5000+i)
		}
	}
	if !strings.Contains(lb.String(), "worker ID reused") {
		t.Errorf("renumbering was not logged:\n%s", lb.String())
	}
}

func TestStatsAreSent(t *testing.T) {
	c := newCollector(t)
	var lb logBuffer
	s := New(testConfig(c.addr(), &lb))
	startRun(t, s)
	sendN(s, 1, 30)
	flush(t, s)
	s.SendStats(&wire.Stats{Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Packets: 12345, KernelDrops: 7})
	waitFor(t, "stats at the collector", 5*time.Second, func() bool { return len(c.view().stats) > 0 })
	st := c.view().stats[0]
	if st.Packets != 12345 || st.KernelDrops != 7 || st.Sent != 30 || st.Acked != 30 || st.Spooled != 0 {
		t.Errorf("stats at the collector %+v; want the caller's counters plus sent=30 acked=30 spooled=0", st)
	}
}

// TestRunStopsCleanly cancels Run in each state it can be in and checks that
// no goroutine of the package survives.
func TestRunStopsCleanly(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers hello
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name  string
		addr  func(t *testing.T) string
		ready func(s *Sender) bool
	}{
		{"streaming", func(t *testing.T) string { return newCollector(t).addr() },
			func(s *Sender) bool { return s.Counters().Connected }},
		{"in handshake", func(*testing.T) string { return silent.Addr().String() },
			func(*Sender) bool { time.Sleep(50 * time.Millisecond); return true }},
		{"backing off", func(*testing.T) string { return closedAddr },
			func(s *Sender) bool { return s.Err() != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lb logBuffer
			cfg := testConfig(tt.addr(t), &lb)
			cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
			s := New(cfg)
			stop := startRun(t, s)
			sendN(s, 1, 10)
			waitFor(t, "the state", 5*time.Second, func() bool { return tt.ready(s) })
			stop()
			waitFor(t, "the package's goroutines to end", 5*time.Second, func() bool {
				return !strings.Contains(allStacks(), "pkg/sender.(*Sender)")
			})
		})
	}
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

func TestRunTwiceFails(t *testing.T) {
	c := newCollector(t)
	var lb logBuffer
	s := New(testConfig(c.addr(), &lb))
	startRun(t, s)
	waitFor(t, "connection", 5*time.Second, func() bool { return s.Counters().Connected })
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("a second concurrent Run succeeded")
	}
}

func TestBadAddress(t *testing.T) {
	for _, addr := range []string{"", "no-port", "127.0.0.1"} {
		var lb logBuffer
		s := New(testConfig(addr, &lb))
		if err := s.Run(context.Background()); err == nil {
			t.Errorf("Run with address %q succeeded", addr)
		}
	}
}

func TestNewWorkerID(t *testing.T) {
	a, b := NewWorkerID(), NewWorkerID()
	if len(a) != 32 || a == b {
		t.Fatalf("NewWorkerID gave %q and %q; want two different 32-digit IDs", a, b)
	}
}

// With ShedUnanswered, a flood of unanswered sessions cannot push answered
// ones out of the spool: once it is half full, unanswered sessions are
// shed and counted, and only answered sessions beyond a full spool drop the
// oldest.
func TestShedUnansweredKeepsHalfForAnswered(t *testing.T) {
	var lb logBuffer
	c := newCollector(t)
	cfg := testConfig(c.addr(), &lb)
	cfg.Spool, cfg.ShedUnanswered = 100, true
	s := New(cfg)
	var answered, unanswered []session.Session
	for i := uint64(1); len(answered) < 110 || len(unanswered) < 200; i++ {
		if g := genSession(i); g.Answered {
			answered = append(answered, g)
		} else {
			unanswered = append(unanswered, g)
		}
	}
	// Not running: nothing drains the spool. 30 unanswered fit below the
	// half, then 20 answered (50), then the flood: all shed.
	for i := range 30 {
		s.Send(&unanswered[i])
	}
	for i := range 20 {
		s.Send(&answered[i])
	}
	for i := 30; i < 200; i++ {
		s.Send(&unanswered[i])
	}
	// 60 more answered: 50 fill the spool, 10 push out the 10 oldest
	// (unanswered) sessions.
	for i := 20; i < 80; i++ {
		s.Send(&answered[i])
	}
	got := s.Counters()
	want := Counters{Seq: 110, Lost: 10, Shed: 170, Spooled: 100}
	if got != want {
		t.Fatalf("counters %+v, want %+v", got, want)
	}
	startRun(t, s)
	flush(t, s)
	v := c.view()
	if len(v.got) != 100 {
		t.Fatalf("collector got %d sessions, want 100", len(v.got))
	}
	nAnswered := 0
	for _, seq := range v.got {
		if v.sessions[seq].Answered {
			nAnswered++
		}
	}
	if nAnswered != 80 {
		t.Errorf("%d answered sessions delivered, want all 80", nAnswered)
	}
}

// Every reason the collector gives for refusing a hello gets advice that
// fits it: a full collector is not a token problem.
func TestRejectionHints(t *testing.T) {
	for _, tc := range []struct{ message, want string }{
		{"invalid token", "--token"},
		{"too many connections (max 256)", "--max-connections"},
		{"worker_id is bound to another worker", "--worker-id"},
		{"unsupported protocol version 2, this collector speaks 1", "same release"},
		{"collector store unavailable", "database"},
		{"something new", "collector's log"},
	} {
		e := &RejectedError{Addr: "c:4444", Message: tc.message}
		if h := e.Hint(); !strings.Contains(h, tc.want) {
			t.Errorf("Hint for %q = %q; want it to mention %q", tc.message, h, tc.want)
		}
	}
}
