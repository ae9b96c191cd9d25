package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// writeTimeout bounds every write to a peer: a worker that stops reading its
// acks must not hold anything up.
const writeTimeout = 10 * time.Second

// maxWorkerID bounds the hello's worker_id, which is stored with every
// commit; interface names are bounded as in session lines
// (session.MaxInterfaceLen).
const maxWorkerID = 128

// worker is one worker run, identified by its worker_id, across all of its
// connections.
type worker struct {
	// id and iface are fixed when the worker is first seen: a worker run
	// captures on one interface.
	id    string
	iface string

	// accepted is the highest seq the writer has taken into a batch (or
	// found committed in the store); committed the highest one committed.
	// Only the writer raises them, except that a hello raises accepted to
	// the store's high-water mark before the worker's first session.
	accepted  atomic.Uint64
	committed atomic.Uint64
	received  atomic.Uint64
	lastSeq   atomic.Uint64
	lastSeen  atomic.Int64 // unix nanoseconds

	mu             sync.Mutex // guards the fields below
	conn           *conn
	remote         string
	connectedAt    time.Time
	disconnectedAt time.Time
	connections    int
	stats          wire.Stats
	statsAt        time.Time
}

func (w *worker) raiseAccepted(seq uint64) {
	for {
		cur := w.accepted.Load()
		if seq <= cur || w.accepted.CompareAndSwap(cur, seq) {
			return
		}
	}
}

func (w *worker) current() *conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn
}

func (w *worker) snapshot() WorkerSnapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := WorkerSnapshot{
		WorkerID: w.id, Interface: w.iface, RemoteAddr: w.remote, Connected: w.conn != nil,
		ConnectedAt: w.connectedAt, Connections: w.connections,
		Received: w.received.Load(), LastSeq: w.lastSeq.Load(), Acked: w.committed.Load(),
		Stats: w.stats, StatsAt: w.statsAt,
	}
	if t := w.lastSeen.Load(); t != 0 {
		ws.LastSeen = time.Unix(0, t)
	}
	if ws.LastSeq > ws.Acked {
		ws.Lag = ws.LastSeq - ws.Acked
	}
	return ws
}

// conn is one TCP connection. Its reader goroutine reads lines and queues
// sessions; its writer goroutine sends welcome, errors and acks, so that
// the batch writer never blocks on a slow peer.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	w      *worker // set by the hello

	out      chan []byte   // welcome or error, before any ack
	ackSeq   atomic.Uint64 // latest ack to send
	ackReady chan struct{} // cap 1: an ack is waiting
	finishC  chan struct{} // shutdown: send the last ack and close
	done     chan struct{} // closed by close
	once     sync.Once
	finOnce  sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		srv: s, nc: nc, remote: nc.RemoteAddr().String(),
		out:      make(chan []byte, 1),
		ackReady: make(chan struct{}, 1),
		finishC:  make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// close closes the socket; idempotent.
func (c *conn) close() {
	c.once.Do(func() {
		c.nc.Close()
		close(c.done)
	})
}

// finish asks the writer goroutine to send the pending ack and close.
func (c *conn) finish() { c.finOnce.Do(func() { close(c.finishC) }) }

// ack queues an ack for seq without blocking; a later ack replaces an
// earlier one that has not gone out yet.
func (c *conn) ack(seq uint64) {
	for {
		cur := c.ackSeq.Load()
		if seq <= cur || c.ackSeq.CompareAndSwap(cur, seq) {
			break
		}
	}
	select {
	case c.ackReady <- struct{}{}:
	default:
	}
}

func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) writeLoop() {
	defer c.srv.ackers.Done()
	var sent uint64
	var buf []byte
	sendAck := func() error {
		seq := c.ackSeq.Load()
		if seq <= sent {
			return nil
		}
		buf = wire.AppendAck(buf[:0], seq)
		if err := c.write(buf); err != nil {
			return err
		}
		sent = seq
		return nil
	}
	// Welcome or error always goes out before any ack: select picks at
	// random among ready cases, so every wake drains out first.
	flushOut := func() error {
		select {
		case b := <-c.out:
			return c.write(b)
		default:
			return nil
		}
	}
	for {
		select {
		case b := <-c.out:
			if err := c.write(b); err != nil {
				c.close()
				return
			}
		case <-c.ackReady:
			if err := flushOut(); err != nil {
				c.close()
				return
			}
			if err := sendAck(); err != nil {
				c.srv.log.Debug("ack write failed; closing", "remote", c.remote, logging.KeyErr, err)
				c.close()
				return
			}
		case <-c.finishC:
			if flushOut() == nil {
				sendAck()
			}
			c.close()
			return
		case <-c.done:
			return
		}
	}
}

// refuse sends an error line to a peer that never becomes a conn and closes it.
func refuse(nc net.Conn, msg string) {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write(wire.AppendError(nil, msg))
	nc.Close()
}

// reject sends an error line through the writer goroutine and closes.
func (c *conn) reject(msg string) {
	c.out <- wire.AppendError(nil, msg)
	c.finish()
}

func (c *conn) readLoop() {
	s := c.srv
	shutdown := false
	defer func() {
		s.readers.Done()
		if shutdown {
			// The connection stays open for the acks of the final
			// commit; Serve finishes it.
			return
		}
		c.finish()
		c.detach()
	}()

	lr := wire.NewLineReader(c.nc)
	dec := wire.NewDecoder()
	var m wire.Message
	if !c.hello(lr, dec, &m) {
		return
	}
	w := c.w

	idle := s.cfg.IdleTimeout
	for {
		if s.stopping.Load() {
			shutdown = true
			return
		}
		if lr.Buffered() == 0 {
			now := time.Now()
			w.lastSeen.Store(now.UnixNano())
			c.nc.SetReadDeadline(now.Add(idle))
		}
		line, err := lr.Next()
		if errors.Is(err, wire.ErrLineTooLong) {
			// Counted as soon as it is over the limit; the next read
			// skips the rest of it.
			s.count(kOversize)
			s.logBad("line over the limit skipped", "worker_id", w.id, "remote", c.remote, "limit", wire.MaxLine)
			continue
		}
		if err != nil {
			shutdown = s.stopping.Load()
			switch {
			case shutdown:
			case errors.Is(err, os.ErrDeadlineExceeded):
				s.count(kIdleTimeout)
				s.logBad("worker idle too long; closing", "worker_id", w.id, "remote", c.remote, "idle_timeout", idle)
			case errors.Is(err, io.EOF) && len(line) == 0:
				s.log.Info("worker disconnected", "worker_id", w.id, "remote", c.remote)
			default:
				// A line cut by the connection's end is not counted: its
				// session was never acknowledged and will be resent.
				s.log.Info("worker connection ended", "worker_id", w.id, "remote", c.remote, logging.KeyErr, err)
			}
			return
		}
		if isBlank(line) {
			continue
		}
		if err := dec.Decode(line, &m); err != nil {
			c.badLine(err, line)
			continue
		}
		switch m.Type {
		case wire.TypeSession:
			s.received.Add(1)
			w.received.Add(1)
			if m.Seq > w.lastSeq.Load() {
				w.lastSeq.Store(m.Seq)
			}
			it := item{w: w, seq: m.Seq, s: m.Session}
			select {
			case s.queue <- it:
			default:
				// Queue full: block, which stops reading from the
				// socket and lets TCP push back on the worker.
				select {
				case s.queue <- it:
				case <-s.stopReading:
					shutdown = true
					return
				}
				c.nc.SetReadDeadline(time.Now().Add(idle))
			}
		case wire.TypeStats:
			now := time.Now()
			w.mu.Lock()
			w.stats, w.statsAt = m.Stats, now
			w.mu.Unlock()
		default:
			s.count(kUnexpected)
			s.logBad("unexpected message from worker ignored", "worker_id", w.id, "remote", c.remote, "type", m.Type.String())
		}
	}
}

// hello reads and checks the first line and answers it. It reports whether
// the connection goes on.
func (c *conn) hello(lr *wire.LineReader, dec *wire.Decoder, m *wire.Message) bool {
	s := c.srv
	c.nc.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	line, err := lr.Next()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if s.stopping.Load() {
			return false
		}
		s.count(kHelloTimeout)
		s.logBad("peer sent no hello in time; closing", "remote", c.remote, "hello_timeout", s.cfg.HelloTimeout)
		c.reject(fmt.Sprintf("no hello within %s", s.cfg.HelloTimeout))
		return false
	case errors.Is(err, wire.ErrLineTooLong):
		s.count(kHandshake)
		s.logBad("peer is not a worker: first line over the limit; closing", "remote", c.remote)
		c.reject("expected a hello line")
		return false
	case err != nil:
		// Connected and left (a port scan, a health check): nothing to count.
		return false
	}
	if err := dec.Decode(line, m); err != nil || m.Type != wire.TypeHello {
		s.count(kHandshake)
		reason := "not a hello"
		if err != nil {
			reason = err.Error()
		}
		s.logBad("peer is not a worker: first line is not a hello; closing", "remote", c.remote,
			"reason", reason, "line", excerpt(line))
		c.reject("expected a hello line: " + reason)
		return false
	}
	h := m.Hello
	if len(h.WorkerID) > maxWorkerID || len(h.Interface) > session.MaxInterfaceLen {
		s.count(kHandshake)
		s.logBad("hello with an over-long worker_id or interface; closing", "remote", c.remote,
			"worker_id", excerpt([]byte(h.WorkerID)))
		c.reject(fmt.Sprintf("worker_id must be at most %d bytes and interface at most %d", maxWorkerID, session.MaxInterfaceLen))
		return false
	}
	if h.Protocol != wire.Protocol {
		s.count(kProtocol)
		s.logBad("worker speaks another protocol version; closing", "remote", c.remote,
			"worker_id", h.WorkerID, "protocol", h.Protocol, "want", wire.Protocol)
		c.reject(fmt.Sprintf("unsupported protocol version %d, this collector speaks %d", h.Protocol, wire.Protocol))
		return false
	}
	if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(h.Token), []byte(s.cfg.Token)) != 1 {
		s.count(kAuth)
		s.logBad("worker presented a wrong token; closing", "remote", c.remote, "worker_id", h.WorkerID)
		c.reject("invalid token")
		return false
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, s.cfg.HelloTimeout)
	storeHW, err := s.st.HighWater(ctx, h.WorkerID)
	cancel()
	if err != nil {
		s.log.Error("cannot read the worker's committed seq; closing", "worker_id", h.WorkerID, logging.KeyErr, err)
		c.reject("collector store unavailable")
		return false
	}
	w, prev := s.register(h.WorkerID, h.Interface, storeHW)
	c.w = w
	// welcome carries the highest seq committed, never one that is only
	// queued or in an open batch: workers drop from their spool whatever
	// welcome covers, and a collector that died before that commit would
	// have lost it. Sessions resent above it that are already in a batch
	// fall to the duplicate check.
	lastSeq := w.committed.Load()
	c.out <- wire.AppendWelcome(nil, lastSeq)
	w.mu.Lock()
	w.conn, w.remote, w.connectedAt = c, c.remote, time.Now()
	w.connections++
	w.mu.Unlock()
	if prev != nil {
		// The worker reconnected while its old connection still looked
		// open (a half-open TCP connection): the new one wins.
		prev.close()
	}
	if cs := w.committed.Load(); cs > lastSeq {
		// A commit landed between the welcome and the registration,
		// and its ack went to the old connection.
		c.ack(cs)
	}
	s.log.Info("worker connected", "worker_id", w.id, "interface", h.Interface, "remote", c.remote,
		"last_seq", lastSeq, "accepted_seq", w.accepted.Load())
	return true
}

// register finds or creates the worker and raises its accepted and committed
// marks to what the store has committed. It returns the worker's previous
// connection.
func (s *Server) register(id, iface string, storeHW uint64) (*worker, *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workers[id]
	if w == nil {
		s.pruneLocked()
		w = &worker{id: id, iface: iface}
		w.committed.Store(storeHW)
		s.workers[id] = w
	}
	// For a known worker both marks are at least storeHW already: only
	// this process commits, and it raises them as it does.
	w.raiseAccepted(storeHW)
	w.mu.Lock()
	prev := w.conn
	w.mu.Unlock()
	return w, prev
}

// pruneLocked forgets workers that have been disconnected longer than the
// retention and have nothing waiting to commit.
func (s *Server) pruneLocked() {
	cutoff := time.Now().Add(-s.cfg.WorkerRetention)
	for id, w := range s.workers {
		w.mu.Lock()
		gone := w.conn == nil && !w.disconnectedAt.IsZero() && w.disconnectedAt.Before(cutoff)
		w.mu.Unlock()
		if gone && w.accepted.Load() == w.committed.Load() {
			delete(s.workers, id)
		}
	}
}

// detach unlinks the connection from the server and its worker.
func (c *conn) detach() {
	s := c.srv
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.nconns.Add(-1)
	}
	s.mu.Unlock()
	if w := c.w; w != nil {
		w.mu.Lock()
		if w.conn == c {
			w.conn = nil
			w.disconnectedAt = time.Now()
		}
		w.mu.Unlock()
	}
}

func (c *conn) badLine(err error, line []byte) {
	k := kField
	if errors.Is(err, wire.ErrSyntax) {
		k = kSyntax
	}
	c.srv.count(k)
	c.srv.logBad("bad line from worker skipped", "worker_id", c.w.id, "remote", c.remote, logging.KeyErr, err, "line", excerpt(line))
}

func isBlank(line []byte) bool {
	for _, b := range line {
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return false
		}
	}
	return true
}

// excerpt is the start of a line, for a log message.
func excerpt(line []byte) string {
	const n = 120
	if len(line) > n {
		return string(line[:n]) + "…"
	}
	return string(line)
}
