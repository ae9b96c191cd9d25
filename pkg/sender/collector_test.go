package sender

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// collector is a small collector speaking the protocol over a real TCP
// listener. It keeps what a real one keeps: a committed high-water seq per
// worker, written only when a batch is acknowledged, and it skips session
// lines at or below it. Lines received but not yet committed when a
// connection ends are forgotten, as an uncommitted batch is.
//
// It also checks the sender: every line must decode, hello must come first,
// seq must strictly increase within a connection, and a committed seq must
// never be sent again.
type collector struct {
	t  testing.TB
	ln net.Listener

	ackEvery int           // commit and ack after this many sessions
	ackIdle  time.Duration // or when no line came for this long
	acking   atomic.Bool   // false: receive but never commit or ack
	// dropAfter[i] closes the i-th connection after that many session lines
	// without committing the batch in progress (0: never).
	dropAfter []int
	// noise is written after the welcome, before any ack.
	noise [][]byte

	mu         sync.Mutex
	token      string
	committed  map[string]uint64
	got        []uint64 // committed seqs in commit order
	sessions   map[uint64]session.Session
	hellos     []wire.Hello
	welcomes   []uint64
	stats      []wire.Stats
	received   int // session lines received, duplicates included
	resentDone int // session lines at or below the committed seq
	violations []string
	conns      int
	open       map[net.Conn]struct{}
	wg         sync.WaitGroup
}

func newCollector(t testing.TB) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startCollector(t, ln)
}

// startCollector serves on ln until the test ends.
func startCollector(t testing.TB, ln net.Listener) *collector {
	c := &collector{
		t: t, ln: ln, ackEvery: 100, ackIdle: 20 * time.Millisecond,
		committed: map[string]uint64{}, sessions: map[uint64]session.Session{},
		open: map[net.Conn]struct{}{},
	}
	c.acking.Store(true)
	c.wg.Add(1)
	go c.serve()
	t.Cleanup(c.close)
	return c
}

func (c *collector) addr() string { return c.ln.Addr().String() }

func (c *collector) close() {
	c.ln.Close()
	c.mu.Lock()
	for conn := range c.open {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *collector) serve() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		idx := c.conns
		c.conns++
		c.open[conn] = struct{}{}
		c.mu.Unlock()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer func() {
				conn.Close()
				c.mu.Lock()
				delete(c.open, conn)
				c.mu.Unlock()
			}()
			c.handle(conn, idx)
		}()
	}
}

func (c *collector) violate(format string, args ...any) {
	c.mu.Lock()
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// readLines delivers copies of the connection's lines until it fails.
func readLines(conn net.Conn) <-chan []byte {
	ch := make(chan []byte, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 0, 4096), wire.MaxLine)
		for sc.Scan() {
			ch <- slices.Clone(sc.Bytes())
		}
	}()
	return ch
}

func (c *collector) handle(conn net.Conn, idx int) {
	lines := readLines(conn)
	dec := wire.NewDecoder()
	var m wire.Message

	first, ok := <-lines
	if !ok {
		return
	}
	if err := dec.Decode(first, &m); err != nil || m.Type != wire.TypeHello {
		c.violate("conn %d: first line is not a hello: %q (%v)", idx, first, err)
		return
	}
	hello := m.Hello
	c.mu.Lock()
	c.hellos = append(c.hellos, hello)
	token := c.token
	c.mu.Unlock()
	if hello.Protocol != wire.Protocol {
		c.violate("conn %d: protocol %d", idx, hello.Protocol)
	}
	if token != "" && hello.Token != token {
		conn.Write(wire.AppendError(nil, "bad token"))
		return
	}
	c.mu.Lock()
	last := c.committed[hello.WorkerID]
	c.welcomes = append(c.welcomes, last)
	c.mu.Unlock()
	if _, err := conn.Write(wire.AppendWelcome(nil, last)); err != nil {
		return
	}
	for _, n := range c.noise {
		conn.Write(n)
	}

	drop := 0
	if idx < len(c.dropAfter) {
		drop = c.dropAfter[idx]
	}
	var (
		batch   []wire.Message
		prevSeq uint64
		count   int
	)
	commit := func() bool {
		if len(batch) == 0 || !c.acking.Load() {
			return true
		}
		c.mu.Lock()
		hw := c.committed[hello.WorkerID]
		for _, b := range batch {
			if b.Seq > hw {
				c.got = append(c.got, b.Seq)
				c.sessions[b.Seq] = b.Session
				hw = b.Seq
			}
		}
		c.committed[hello.WorkerID] = hw
		c.mu.Unlock()
		batch = batch[:0]
		_, err := conn.Write(wire.AppendAck(nil, hw))
		return err == nil
	}
	idle := time.NewTimer(c.ackIdle)
	defer idle.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return
			}
			if err := dec.Decode(line, &m); err != nil {
				c.violate("conn %d: bad line %q: %v", idx, line, err)
				continue
			}
			switch m.Type {
			case wire.TypeStats:
				c.mu.Lock()
				c.stats = append(c.stats, m.Stats)
				c.mu.Unlock()
				continue
			case wire.TypeSession:
			default:
				c.violate("conn %d: unexpected %s", idx, m.Type)
				continue
			}
			if m.Seq <= prevSeq {
				c.violate("conn %d: seq %d after %d", idx, m.Seq, prevSeq)
			}
			prevSeq = m.Seq
			c.mu.Lock()
			c.received++
			if m.Seq <= c.committed[hello.WorkerID] {
				c.resentDone++
			}
			c.mu.Unlock()
			batch = append(batch, m)
			count++
			if drop > 0 && count >= drop {
				return // the batch in progress is never committed
			}
			if len(batch) >= c.ackEvery && !commit() {
				return
			}
			idle.Reset(c.ackIdle)
		case <-idle.C:
			if !commit() {
				return
			}
			idle.Reset(c.ackIdle)
		}
	}
}

func (c *collector) setToken(tok string) {
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
}

type collectorView struct {
	got        []uint64
	sessions   map[uint64]session.Session
	hellos     []wire.Hello
	welcomes   []uint64
	stats      []wire.Stats
	received   int
	resentDone int
	violations []string
	conns      int
}

func (c *collector) view() collectorView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return collectorView{
		got: slices.Clone(c.got), sessions: c.sessions, hellos: slices.Clone(c.hellos),
		welcomes: slices.Clone(c.welcomes), stats: slices.Clone(c.stats), received: c.received,
		resentDone: c.resentDone, violations: slices.Clone(c.violations), conns: c.conns,
	}
}

// checkDelivered asserts that exactly seqs lo..hi were committed, each once,
// in order, with the content genSession gave them, and that the collector saw
// no protocol violation.
func (c *collector) checkDelivered(t *testing.T, lo, hi uint64) {
	t.Helper()
	v := c.view()
	for _, s := range v.violations {
		t.Errorf("collector: %s", s)
	}
	if v.resentDone != 0 {
		t.Errorf("%d session lines were resent after the collector committed them", v.resentDone)
	}
	want := make([]uint64, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		want = append(want, i)
	}
	if !slices.Equal(v.got, want) {
		t.Fatalf("committed seqs: %s; want %d..%d once each", summarize(v.got), lo, hi)
	}
	for _, seq := range want {
		if got, exp := v.sessions[seq], genSession(seq); !sameSession(got, exp) {
			t.Fatalf("seq %d: collector stored %+v, want %+v", seq, got, exp)
		}
	}
}

// summarize shortens a seq list for a failure message.
func summarize(s []uint64) string {
	if len(s) <= 20 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%d seqs %v … %v", len(s), s[:10], s[len(s)-10:])
}

// genSession is the session the tests send as the i-th one.
func genSession(i uint64) session.Session {
	s := session.Session{
		ClientIP:   netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		ClientPort: uint16(1024 + i%60000),
		ServerIP:   netip.MustParseAddr("198.51.100.1"),
		ServerPort: 123, Interface: "veth-test", Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Timestamp: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Microsecond),
	}
	if i%3 != 0 {
		s.Answered, s.Stratum, s.Precision = true, 2, -26
		s.RootDelay, s.RootDispersion = 0.0123, 0.25
		s.ReferenceID, s.Leap = "192.0.2.254", session.LeapNoWarning
		s.ReceiveTime, s.TransmitTime = 1764072000.5, 1764072000.500125
		s.Processing, s.Total = 0.000125, 0.0003
	}
	if i%7 == 0 {
		s.ClientIP = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i))
	}
	if i%11 == 0 && s.Answered {
		s.Stratum, s.KoD, s.ReferenceID = 0, "RATE", "RATE"
	}
	return s
}

func sameSession(a, b session.Session) bool {
	return a.ClientIP == b.ClientIP && a.ClientPort == b.ClientPort && a.ServerIP == b.ServerIP &&
		a.ServerPort == b.ServerPort && a.Interface == b.Interface && a.Answered == b.Answered &&
		a.Stratum == b.Stratum && a.ReferenceID == b.ReferenceID && a.KoD == b.KoD &&
		a.Timestamp.Equal(b.Timestamp) && a.Processing == b.Processing && a.TransmitTime == b.TransmitTime
}

// logBuffer collects a Sender's log lines for assertions.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) logger() *slog.Logger {
	var w io.Writer = l
	if testing.Verbose() {
		w = io.MultiWriter(l, os.Stderr)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond until it holds or fails the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var errTestDone = errors.New("test done")
