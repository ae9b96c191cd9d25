package worker

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// collector is a minimal collector on a real TCP socket: it speaks the wire
// protocol (hello → welcome, acks after every few sessions), decodes every
// line with package wire and keeps the sessions in arrival order.
type collector struct {
	ln   net.Listener
	mu   sync.Mutex
	seqs map[uint64]bool
	sess []session.Session
	stat []wire.Stats
	errs []error
	wg   sync.WaitGroup
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln, seqs: map[uint64]bool{}}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(func() {
		ln.Close()
		c.wg.Wait()
		for _, err := range c.errors() {
			t.Errorf("collector: %v", err)
		}
	})
	return c
}

func (c *collector) addr() string { return c.ln.Addr().String() }

func (c *collector) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.serve(conn)
		}()
	}
}

func (c *collector) fail(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

func (c *collector) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, wire.MaxLine)
	dec := wire.NewDecoder()
	var m wire.Message
	line, err := r.ReadSlice('\n')
	if err != nil {
		return
	}
	if err := dec.Decode(line, &m); err != nil || m.Type != wire.TypeHello {
		c.fail(errors.New("first line is not a hello"))
		return
	}
	c.mu.Lock()
	var last uint64
	for s := range c.seqs {
		last = max(last, s)
	}
	c.mu.Unlock()
	if _, err := conn.Write(wire.AppendWelcome(nil, last)); err != nil {
		return
	}
	var high uint64
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			// A worker that ends closes its connection; when an ack of
			// ours was still unread there, its kernel answers with a reset
			// rather than a FIN. Either way the stream is over.
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
				c.fail(err)
			}
			return
		}
		if err := dec.Decode(line, &m); err != nil {
			c.fail(err)
			return
		}
		switch m.Type {
		case wire.TypeStats:
			c.mu.Lock()
			c.stat = append(c.stat, m.Stats)
			c.mu.Unlock()
			if r.Buffered() == 0 && high > 0 {
				if _, err := conn.Write(wire.AppendAck(nil, high)); err != nil {
					return
				}
			}
			continue
		case wire.TypeSession:
		default:
			c.fail(errors.New("unexpected line " + string(line)))
			continue
		}
		c.mu.Lock()
		if c.seqs[m.Seq] {
			c.errs = append(c.errs, errors.New("duplicate seq"))
		}
		c.seqs[m.Seq] = true
		s := m.Session
		c.sess = append(c.sess, s)
		c.mu.Unlock()
		high = max(high, m.Seq)
		// Acknowledge every 100 sessions, and whenever the worker pauses.
		if n++; n%100 == 0 || r.Buffered() == 0 {
			if _, err := conn.Write(wire.AppendAck(nil, high)); err != nil {
				return
			}
		}
	}
}

func (c *collector) sessions() []session.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]session.Session(nil), c.sess...)
}

func (c *collector) stats() []wire.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.Stats(nil), c.stat...)
}

func (c *collector) errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

// testLogger writes the worker's log into the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}

// runFile runs a worker over a capture file into the collector and
// returns its summary.
func runFile(t *testing.T, c *collector, path string, cfg Config) Summary {
	t.Helper()
	sum, err := runFileErr(t, c, path, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum
}

func runFileErr(t *testing.T, c *collector, path string, cfg Config) (Summary, error) {
	t.Helper()
	cfg.PcapFile = path
	cfg.Logger = testLogger(t)
	snd := sender.New(sender.Config{Addr: c.addr(), Block: true, Spool: 1000, Interface: cfg.Interface, MinBackoff: 10 * time.Millisecond})
	w, err := New(cfg, snd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return w.Run(ctx)
}
