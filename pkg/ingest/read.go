package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// maxWorkerID bounds the hello's worker_id, which is stored with every
// commit; interface names are bounded as in session lines
// (session.MaxInterfaceLen).
const maxWorkerID = 128

// readLoop is the connection's reader goroutine: it reads the hello, then
// queues sessions for the writer and keeps the worker's latest stats, until
// the connection ends or shutdown stops the reading.
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
			if it.refused = s.cfg.Bounds.Check(&it.s, time.Now()); it.refused != session.Valid {
				s.logBad("session refused: a field is out of its physical bounds; acknowledged, not stored",
					"worker_id", w.id, "remote", c.remote, "reason", it.refused.String(), "seq", m.Seq, "line", excerpt(line))
				// Only its seq goes on: a refused session may carry
				// strings of any length, which must not wait in the
				// queue.
				it.s = session.Session{}
			}
			if !c.enqueue(&it) {
				shutdown = true
				return
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

// enqueue hands it to the writer. When the queue is full it blocks, which
// stops reading from the socket and lets TCP push back on the worker; it
// reports false when shutdown stopped the wait.
func (c *conn) enqueue(it *item) bool {
	s := c.srv
	select {
	case s.queue <- *it:
		return true
	default:
	}
	select {
	case s.queue <- *it:
	case <-s.stopReading:
		return false
	}
	c.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	return true
}

// hello runs the TLS handshake (on a TLS listener), reads and checks the
// first line and answers it. It reports whether the connection goes on.
func (c *conn) hello(lr *wire.LineReader, dec *wire.Decoder, m *wire.Message) bool {
	s := c.srv
	deadline := time.Now().Add(s.cfg.HelloTimeout)
	c.nc.SetReadDeadline(deadline)
	if !c.handshake(deadline) {
		return false
	}
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
		// Connected and left (a port scan, a health check), or closed to
		// make room for a newer connection: nothing to count.
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
	// Digests of equal length compared in constant time: neither the
	// time taken nor an early exit says how much of a guess was right, or
	// how long the token is.
	if sum := sha256.Sum256([]byte(h.Token)); s.cfg.Token != "" && subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		s.count(kAuth)
		s.logBad("worker presented a wrong token; closing", "remote", c.remote, "worker_id", h.WorkerID)
		c.reject("invalid token")
		return false
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, s.cfg.HelloTimeout)
	storeHW, storeBinding, err := s.st.WorkerSeq(ctx, h.WorkerID)
	cancel()
	if err != nil {
		s.log.Error("cannot read the worker's committed seq; closing", "worker_id", h.WorkerID, logging.KeyErr, err)
		c.reject("collector store unavailable")
		return false
	}
	// The slot first: a worker registered (and bound) here is welcomed,
	// and its binding goes to the store with the next batch. A refused
	// hello gives the slot back when its connection ends.
	if !s.authenticate(c) {
		s.count(kOverCapacity)
		s.logBad("connection refused: too many connections", "remote", c.remote, "max_connections", s.cfg.MaxConnections)
		c.reject(fmt.Sprintf("too many connections (max %d)", s.cfg.MaxConnections))
		return false
	}
	w, prev, bound, err := s.register(h.WorkerID, h.Interface, storeHW, storeBinding, newCredentials(c.identity, h.Secret))
	if err != nil {
		s.count(kBinding)
		s.logBad("hello for a worker_id bound to another worker refused; the worker keeps its id", "remote", c.remote,
			"worker_id", h.WorkerID, "tls_identity", c.identity, "secret", h.Secret != "")
		c.reject(err.Error())
		return false
	}
	c.w = w
	if bound && !c.enqueue(&item{w: w, bind: true}) {
		return false
	}
	// welcome carries the highest seq committed, never one that is only
	// queued or in an open batch: workers drop from their spool whatever
	// welcome covers, and a collector that died before that commit would
	// have lost it. Sessions resent above it that are already in a batch
	// fall to the duplicate check.
	lastSeq := w.committed.Load()
	c.out <- wire.AppendWelcome(nil, lastSeq)
	w.mu.Lock()
	w.conn, w.remote, w.connectedAt, w.identity = c, c.remote, time.Now(), c.identity
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
	attrs := []any{"worker_id", w.id, "interface", h.Interface, "remote", c.remote,
		"last_seq", lastSeq, "accepted_seq", w.accepted.Load(), "binding", bindingKind(w.binding)}
	if c.identity != "" {
		attrs = append(attrs, "tls_identity", c.identity)
	}
	s.log.Info("worker connected", attrs...)
	if w.binding == "" {
		s.log.Warn("worker is not bound to an identity: it sent no secret in its hello (a worker older than this collector); anyone with the token can connect as it",
			"worker_id", w.id, "remote", c.remote)
	}
	return true
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

// excerpt is the start of a line for a log message, with the values of
// any token or secret in it redacted first.
func excerpt(line []byte) string {
	const n = 120
	line = wire.Redact(line)
	if len(line) > n {
		return string(line[:n]) + "…"
	}
	return string(line)
}
