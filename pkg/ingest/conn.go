package ingest

import (
	"container/list"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// writeTimeout bounds every write to a peer: a worker that stops reading its
// acks must not hold anything up.
const writeTimeout = 10 * time.Second

// conn is one TCP connection. Its reader goroutine reads lines and queues
// sessions; its writer goroutine sends welcome, errors and acks, so that
// the batch writer never blocks on a slow peer.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	w      *worker // set by the hello

	// Guarded by srv.mu (slots.go): the place in the list of connections
	// waiting for their hello, and whether the hello was accepted.
	waitElem *list.Element
	authed   bool
	// identity names the client certificate, under mutual TLS; set by the
	// handshake.
	identity string

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

// refuse sends an error line to a peer that never becomes a conn and closes
// it; over TLS after a handshake, bounded by the same second.
func refuse(nc net.Conn, msg string) {
	nc.SetDeadline(time.Now().Add(time.Second))
	nc.Write(wire.AppendError(nil, msg))
	nc.Close()
}

// reject sends an error line through the writer goroutine and closes.
func (c *conn) reject(msg string) {
	c.out <- wire.AppendError(nil, msg)
	c.finish()
}

// detach unlinks the connection from the server and its worker.
func (c *conn) detach() {
	s := c.srv
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.nconns.Add(-1)
		s.releaseLocked(c)
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
