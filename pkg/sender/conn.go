package sender

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

const (
	// writeBatch is how many sessions the writer copies out of the spool per
	// lock; encoding happens after the lock is released.
	writeBatch = 256
	// flushAt is how much encoded data the writer gathers before a write;
	// it also writes whenever the spool has nothing more to give.
	flushAt = 64 << 10
	// logEvery rate-limits repeated warnings of one kind.
	logEvery = 30 * time.Second
)

var errStopped = errors.New("sender stopped")

// connect dials, sends hello and reads the welcome, then resumes the spool
// after the welcome's last_seq.
func (s *Sender) connect(ctx context.Context) (net.Conn, *wire.LineReader, error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout, KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, err
	}
	// The deadline bounds the whole handshake; ctx may end it sooner.
	_ = conn.SetDeadline(time.Now().Add(s.cfg.DialTimeout))
	stopWatch := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	if s.cfg.TLS != nil {
		if conn, err = s.tlsHandshake(conn); err != nil {
			stopWatch()
			return nil, nil, err
		}
	}
	lr := wire.NewLineReader(conn)
	lastSeq, err := s.handshake(conn, lr)
	stopWatch()
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	s.resume(lastSeq)
	return conn, lr, nil
}

// tlsHandshake runs the TLS handshake on conn, under its deadline. A
// collector that speaks plaintext answers with a line that is no TLS
// record; the error says so.
func (s *Sender) tlsHandshake(conn net.Conn) (net.Conn, error) {
	cfg := s.cfg.TLS
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(s.cfg.Addr)
	}
	tc := tls.Client(conn, cfg)
	err := tc.Handshake()
	if err == nil {
		return tc, nil
	}
	conn.Close()
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return nil, fmt.Errorf("TLS handshake: the collector does not speak TLS (give it --tls-cert and --tls-key, or connect with --tls=false where plaintext is safe): %w", err)
	}
	return nil, fmt.Errorf("TLS handshake: %w", err)
}

func (s *Sender) handshake(conn net.Conn, lr *wire.LineReader) (uint64, error) {
	hello := wire.AppendHello(nil, &wire.Hello{
		Protocol:  wire.Protocol,
		WorkerID:  s.cfg.WorkerID,
		Interface: s.cfg.Interface,
		Token:     s.cfg.Token,
		Secret:    s.cfg.Secret,
	})
	if _, err := conn.Write(hello); err != nil {
		return 0, fmt.Errorf("sending hello: %w", err)
	}
	line, err := lr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, errors.New("the collector closed the connection instead of answering hello (is this an ntp-collector port?)")
		}
		if s.cfg.TLS != nil && strings.Contains(err.Error(), "remote error: tls:") {
			// Under TLS 1.3 the server checks the client certificate
			// after the client's side of the handshake is done.
			return 0, fmt.Errorf("the collector refused this worker's TLS client certificate (is --tls-cert one that its --tls-client-ca signed, and still valid?): %w", err)
		}
		return 0, fmt.Errorf("waiting for welcome: %w", err)
	}
	var m wire.Message
	if err := wire.NewDecoder().Decode(line, &m); err != nil {
		return 0, fmt.Errorf("unreadable answer to hello (is this an ntp-collector port?): %w", err)
	}
	switch m.Type {
	case wire.TypeWelcome:
		return m.Seq, nil
	case wire.TypeError:
		return 0, &RejectedError{Addr: s.cfg.Addr, Message: m.Error}
	}
	return 0, fmt.Errorf("collector answered hello with %q instead of welcome", m.Type)
}

// resume applies a welcome: sessions up to lastSeq are committed, so they
// leave the spool, and the writer restarts at the oldest one left.
func (s *Sender) resume(wireSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lastSeq uint64
	switch {
	case wireSeq >= s.offset+s.next:
		// The collector holds seqs this worker never assigned (a reused
		// worker ID): number the spool on from there, or the collector
		// would skip it as duplicates.
		s.log.Warn("collector's last_seq is ahead of this worker's; numbering continues after it (is the worker ID reused?)",
			"last_seq", wireSeq, "worker_id", s.cfg.WorkerID)
		s.offset = wireSeq + 1 - s.first
		lastSeq = s.first - 1
	case wireSeq >= s.offset:
		lastSeq = wireSeq - s.offset
	}
	if lastSeq < s.acked {
		// The collector lost what it acknowledged (restored database?).
		// Those sessions left the spool when acked and cannot be resent.
		s.log.Warn("collector's last_seq is behind what it acknowledged before; acknowledged sessions are not resent",
			"last_seq", wireSeq, "acked", s.acked+s.offset)
	}
	s.first = max(s.first, lastSeq+1)
	if lastSeq > s.acked {
		s.acked = lastSeq
		s.notifyAckLocked()
	}
	s.sendPos = s.first
	s.ackWaitSince = time.Now()
	s.err = nil
	s.connected = true
	if s.everWelcomed {
		s.reconnects++
	}
	s.everWelcomed = true
	s.log.Info("streaming to collector", "resume_after_seq", wireSeq, "resending", s.next-s.first)
}

// stream runs one welcomed connection: this goroutine writes, another reads
// acks. It returns when either fails or ctx is done, with the connection
// closed and the reader gone.
func (s *Sender) stream(ctx context.Context, conn net.Conn, lr *wire.LineReader) error {
	readerDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(readerDone)
		readErr = s.readAcks(conn, lr)
		// Closing unblocks a writer stuck on a dead peer.
		conn.Close()
	}()
	err := s.write(ctx, conn, readerDone)
	conn.Close()
	<-readerDone
	if errors.Is(err, errStopped) || err == nil {
		return readErr
	}
	return err
}

// write copies sessions out of the spool in batches, encodes them outside the
// lock and writes whenever the buffer is large or the spool is drained.
func (s *Sender) write(ctx context.Context, conn net.Conn, readerDone <-chan struct{}) error {
	buf := s.buf[:0]
	defer func() { s.buf = buf[:0] }()
	var (
		lines      uint64 // session lines in buf
		st         wire.Stats
		size       = uint64(len(s.ring))
		readerGone = readerDone
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
			return err
		}
		if _, err := conn.Write(buf); err != nil {
			return fmt.Errorf("writing to collector: %w", err)
		}
		s.sent.Add(lines)
		buf, lines = buf[:0], 0
		return nil
	}
	for {
		s.mu.Lock()
		if s.sendPos < s.first {
			s.sendPos = s.first // dropped from a full spool before they were written
		}
		start := s.sendPos
		n := min(s.next-start, uint64(len(s.batch)))
		for i := uint64(0); i < n; {
			// Copy in at most two runs: up to the ring's end, then from 0.
			at := (start + i) % size
			c := copy(s.batch[i:n], s.ring[at:min(size, at+n-i)])
			i += uint64(c)
		}
		if n > 0 && start-1 <= s.acked {
			s.ackWaitSince = time.Now() // nothing was outstanding until now
		}
		s.sendPos += n
		s.written = max(s.written, s.sendPos-1)
		wireStart := start + s.offset
		haveStats := s.statsPending
		if haveStats {
			st = s.stats
			st.Sent, st.Acked, st.Lost, st.Shed, st.Spooled = s.sent.Load()+lines+n, s.acked, s.lost, s.shed, s.next-s.first
			s.statsPending = false
		}
		if n == 0 && !haveStats && len(buf) == 0 {
			s.idle = true
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-ctx.Done():
				s.mu.Lock()
				s.idle = false
				s.mu.Unlock()
				return errStopped
			case <-readerGone:
				s.mu.Lock()
				s.idle = false
				s.mu.Unlock()
				return errStopped
			}
			continue
		}
		s.mu.Unlock()
		for i := range n {
			buf = s.enc.AppendSession(buf, wireStart+i, &s.batch[i])
		}
		lines += n
		if haveStats {
			buf = wire.AppendStats(buf, &st)
		}
		if len(buf) >= flushAt || n < uint64(len(s.batch)) {
			if err := flush(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return errStopped
		default:
		}
	}
}

// readAcks reads the collector's lines until the connection fails. Acks
// advance the spool; anything else is logged (rate-limited) and ignored. A
// read deadline catches a collector that stopped acknowledging.
func (s *Sender) readAcks(conn net.Conn, lr *wire.LineReader) error {
	var (
		dec   = wire.NewDecoder()
		m     wire.Message
		limit = &logging.Limiter{Window: logEvery}
	)
	deadline := time.Now().Add(s.cfg.AckTimeout)
	for {
		if err := conn.SetReadDeadline(deadline); err != nil {
			return err
		}
		line, err := lr.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				next, stalled := s.ackStalled(time.Now())
				if stalled != nil {
					return stalled
				}
				deadline = next
				continue
			}
			if errors.Is(err, wire.ErrLineTooLong) {
				s.badLine(limit, err, line)
				continue
			}
			if errors.Is(err, io.EOF) {
				return errors.New("the collector closed the connection")
			}
			return fmt.Errorf("reading from collector: %w", err)
		}
		if err := dec.Decode(line, &m); err != nil {
			s.badLine(limit, err, line)
			continue
		}
		switch m.Type {
		case wire.TypeAck:
			if !s.ackTo(m.Seq) {
				s.badLine(limit, fmt.Errorf("ack for seq %d, which was never sent", m.Seq), line)
			}
			deadline = time.Now().Add(s.cfg.AckTimeout)
		case wire.TypeError:
			// The collector says why before it closes; the close ends the loop.
			s.log.Error("collector reported an error", "message", m.Error)
			s.mu.Lock()
			s.err = &RejectedError{Addr: s.cfg.Addr, Message: m.Error}
			s.mu.Unlock()
		default:
			s.badLine(limit, fmt.Errorf("unexpected %q message", m.Type), line)
		}
	}
}

// ackStalled reports an error when sessions have waited longer than
// AckTimeout for an ack; otherwise it returns the next read deadline.
func (s *Sender) ackStalled(now time.Time) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	outstanding := s.sendPos - 1 - min(s.acked, s.sendPos-1)
	if outstanding == 0 {
		return now.Add(s.cfg.AckTimeout), nil
	}
	waited := now.Sub(s.ackWaitSince)
	if waited < s.cfg.AckTimeout {
		return s.ackWaitSince.Add(s.cfg.AckTimeout), nil
	}
	return time.Time{}, fmt.Errorf("no ack from the collector for %s with %d sessions outstanding", waited.Round(time.Millisecond), outstanding)
}

func (s *Sender) badLine(limit *logging.Limiter, err error, line []byte) {
	const show = 200
	if len(line) > show {
		line = line[:show]
	}
	limit.Log(context.Background(), s.log, slog.LevelWarn, "ignoring a bad line from the collector",
		logging.KeyErr, err, "line", string(line))
}
