package ingesttest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Client is one worker's connection to a collector. Send and the connection
// methods belong to one goroutine; Acked and WaitAcked may be called from any.
type Client struct {
	Addr      string
	WorkerID  string
	Interface string
	Token     string
	// Secret, when set, goes in the hello: the collector binds WorkerID
	// to it.
	Secret string
	// TLS, when set, makes the connection TLS.
	TLS *tls.Config

	conn net.Conn
	bw   *bufio.Writer
	buf  []byte

	mu       sync.Mutex
	pending  []entry // unacknowledged, in seq order
	next     uint64  // last seq assigned
	acked    uint64
	ackCond  chan struct{} // closed and replaced on every ack
	errLines []string
	readDone chan struct{}
}

type entry struct {
	seq  uint64
	line []byte
}

// ErrRefused is wrapped by Connect when the collector answers with an error line.
var ErrRefused = errors.New("collector refused the connection")

// New returns a client that is not connected yet.
func New(addr, workerID, iface, token string) *Client {
	return &Client{Addr: addr, WorkerID: workerID, Interface: iface, Token: token, ackCond: make(chan struct{})}
}

// Connect dials, says hello and, once welcomed, resends every pending
// session above the welcome's last_seq. It returns that last_seq.
func (c *Client) Connect(ctx context.Context) (uint64, error) {
	c.Cut()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return 0, err
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if c.TLS != nil {
		tc := tls.Client(nc, c.TLS)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return 0, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	h := wire.Hello{Protocol: wire.Protocol, WorkerID: c.WorkerID, Interface: c.Interface, Token: c.Token, Secret: c.Secret}
	if _, err := nc.Write(wire.AppendHello(nil, &h)); err != nil {
		nc.Close()
		return 0, fmt.Errorf("hello: %w", err)
	}
	br := bufio.NewReaderSize(nc, wire.MaxLine)
	line, err := br.ReadSlice('\n')
	if err != nil {
		nc.Close()
		return 0, fmt.Errorf("reading welcome: %w", err)
	}
	var m wire.Message
	dec := wire.NewDecoder()
	if err := dec.Decode(line, &m); err != nil {
		nc.Close()
		return 0, fmt.Errorf("welcome %q: %w", line, err)
	}
	switch m.Type {
	case wire.TypeWelcome:
	case wire.TypeError:
		nc.Close()
		return 0, fmt.Errorf("%w: %s", ErrRefused, m.Error)
	default:
		nc.Close()
		return 0, fmt.Errorf("expected welcome, got %s", m.Type)
	}
	last := m.Seq
	nc.SetDeadline(time.Time{})
	c.conn = nc
	c.bw = bufio.NewWriterSize(nc, 256<<10)
	c.readDone = make(chan struct{})
	go c.readAcks(br, c.readDone)

	c.mu.Lock()
	resend := make([]entry, 0, len(c.pending))
	for _, e := range c.pending {
		if e.seq > last {
			resend = append(resend, e)
		}
	}
	c.mu.Unlock()
	for _, e := range resend {
		if _, err := c.bw.Write(e.line); err != nil {
			return last, err
		}
	}
	return last, c.bw.Flush()
}

func (c *Client) readAcks(br *bufio.Reader, done chan struct{}) {
	defer close(done)
	dec := wire.NewDecoder()
	var m wire.Message
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if err := dec.Decode(line, &m); err != nil {
			continue
		}
		c.mu.Lock()
		switch m.Type {
		case wire.TypeAck:
			if m.Seq > c.acked {
				c.acked = m.Seq
				i := 0
				for i < len(c.pending) && c.pending[i].seq <= m.Seq {
					i++
				}
				c.pending = append(c.pending[:0], c.pending[i:]...)
				close(c.ackCond)
				c.ackCond = make(chan struct{})
			}
		case wire.TypeError:
			c.errLines = append(c.errLines, m.Error)
		}
		c.mu.Unlock()
	}
}

// Send assigns the next seq to s, keeps it until acknowledged and writes it
// (buffered: call Flush).
func (c *Client) Send(s *session.Session) error {
	c.mu.Lock()
	c.next++
	seq := c.next
	line := wire.AppendSession(nil, seq, s)
	c.pending = append(c.pending, entry{seq, line})
	c.mu.Unlock()
	return c.write(line)
}

// SendRaw writes a line as is; it is not kept for resending.
func (c *Client) SendRaw(line []byte) error { return c.write(line) }

func (c *Client) write(line []byte) error {
	if c.bw == nil {
		return errors.New("not connected")
	}
	_, err := c.bw.Write(line)
	return err
}

// Flush writes out what Send has buffered.
func (c *Client) Flush() error {
	if c.bw == nil {
		return errors.New("not connected")
	}
	return c.bw.Flush()
}

// Cut closes the connection abruptly, dropping anything buffered and not
// yet written; pending sessions stay for the next Connect.
func (c *Client) Cut() {
	if c.conn != nil {
		c.conn.Close()
		<-c.readDone
		c.conn, c.bw = nil, nil
	}
}

// Close closes the connection.
func (c *Client) Close() { c.Cut() }

// Sent is the last seq assigned.
func (c *Client) Sent() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next
}

// Acked is the highest seq acknowledged.
func (c *Client) Acked() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

// Pending is how many sessions wait for an ack.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Errors are the error lines received after the welcome.
func (c *Client) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errLines...)
}

// WaitAcked blocks until seq is acknowledged or ctx ends.
func (c *Client) WaitAcked(ctx context.Context, seq uint64) error {
	for {
		c.mu.Lock()
		acked, ch := c.acked, c.ackCond
		c.mu.Unlock()
		if acked >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for ack of seq %d (acked %d): %w", seq, acked, ctx.Err())
		}
	}
}

// Closed reports whether the collector has closed the connection.
func (c *Client) Closed() <-chan struct{} { return c.readDone }
