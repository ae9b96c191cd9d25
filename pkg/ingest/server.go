package ingest

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// item is one session on its way from a reader to the writer, or (bind) a
// worker's new binding for the writer to commit with its next batch.
type item struct {
	w   *worker
	seq uint64
	s   session.Session
	// refused says why the session is not stored (session.Valid when it
	// is): its seq is committed and acknowledged all the same.
	refused session.Violation
	bind    bool
}

// Server is the ingestion server. Create it with New, bind it with Listen,
// run it with Serve.
type Server struct {
	cfg     Config
	st      *store.Store
	log     *slog.Logger
	started time.Time

	ln       net.Listener
	queue    chan item
	tls      *tls.Config // nil: plaintext
	tokenSum [sha256.Size]byte

	// stopping is set when shutdown begins; readers stop reading and the
	// writer drains what is queued.
	stopping    atomic.Bool
	stopReading chan struct{}
	stopCtx     context.Context // cancelled when shutdown begins
	stopCancel  context.CancelFunc
	readers     sync.WaitGroup
	ackers      sync.WaitGroup

	mu      sync.Mutex
	workers map[string]*worker
	conns   map[*conn]struct{}
	waiting *list.List // *conn that have not said hello, oldest first (slots.go)
	authed  int        // connections whose hello was accepted

	received, processed      atomic.Uint64
	inserted, updated        atomic.Uint64
	committedSessions        atomic.Uint64
	duplicates, batches      atomic.Uint64
	commitFailures           atomic.Uint64
	errs                     [numKinds]atomic.Uint64
	rejected                 [session.NumViolations]atomic.Uint64
	listenerUp, writerAlive  atomic.Bool
	commitSince, failedSince atomic.Int64 // unix nanoseconds, 0 when not
	drainBy                  atomic.Int64 // shutdown deadline for commits, unix nanoseconds
	nconns                   atomic.Int64

	statMu        sync.Mutex // guards the fields below
	lastBatchDur  time.Duration
	lastBatchSize int
	lastBatchRows int
	lastCommitAt  time.Time
	lastCommitErr string

	rows rowLimit // MaxClients (limit.go)

	// badLines rate-limits the warnings about refused lines and peers,
	// which a broken or hostile peer can send at line rate.
	badLines logging.Limiter
}

// New returns a Server that writes into st. It does not listen yet.
func New(cfg Config, st *store.Store) *Server {
	cfg = cfg.withDefaults()
	stopCtx, stopCancel := context.WithCancel(context.Background())
	s := &Server{
		stopCtx:     stopCtx,
		stopCancel:  stopCancel,
		cfg:         cfg,
		st:          st,
		started:     time.Now(),
		ln:          cfg.Listener,
		log:         cfg.Logger.With("component", "ingest"),
		queue:       make(chan item, cfg.QueueSize),
		stopReading: make(chan struct{}),
		workers:     make(map[string]*worker),
		conns:       make(map[*conn]struct{}),
		waiting:     list.New(),
		badLines:    logging.Limiter{Burst: 10, Window: 10 * time.Second},
		tokenSum:    sha256.Sum256([]byte(cfg.Token)),
	}
	s.rows.lim = store.ClientLimit{Max: cfg.MaxClients, Reserve: store.DefaultReserve(cfg.MaxClients)}
	s.rows.log = logging.Limiter{Burst: 1, Window: time.Minute}
	if cfg.TLSCert != nil {
		s.tls = serverTLS(cfg.TLSCert, cfg.TLSClientCAs)
	}
	return s
}

// Listen binds the ingestion listener on addr. The error names the address
// and says why, e.g. "address already in use".
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ingestion listener on %s: %w", addr, err)
	}
	return ln, nil
}

// Listen binds Config.Addr unless the server was given a Listener.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := Listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on, once Listen has succeeded.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts workers and writes their sessions until ctx is cancelled,
// then shuts down in order: stop accepting, stop reading, drain the queue,
// commit, acknowledge, close the connections. It returns once that is done,
// within about Config.ShutdownTimeout plus a second for the last acks. The
// error is nil after a clean drain, and says how many sessions were left
// uncommitted otherwise (their workers never got an ack and resend them).
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.listenerUp.Store(true)
	s.writerAlive.Store(true)
	transport := "plaintext"
	switch {
	case s.cfg.TLSClientCAs != nil:
		transport = "mutual TLS 1.3 (client certificates from " + s.cfg.TLSClientCAs.String() + ")"
	case s.tls != nil:
		transport = "TLS 1.3"
	}
	s.log.Info("ingestion listening", "addr", s.ln.Addr().String(), "transport", transport, "batch_size", s.cfg.BatchSize,
		"batch_interval", s.cfg.BatchInterval, "queue_size", s.cfg.QueueSize,
		"max_connections", s.cfg.MaxConnections, "max_unauthenticated", s.cfg.MaxUnauthenticated, "token", s.cfg.Token != "")
	if s.cfg.TLSCert != nil {
		s.log.Info("ingestion certificate", "certificate", s.cfg.TLSCert.String())
	}

	drainBy := make(chan time.Time, 1) // the writer's give-up time, sent at shutdown
	writerDone := make(chan error, 1)
	go func() {
		defer s.writerAlive.Store(false)
		writerDone <- s.runWriter(drainBy)
	}()
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		s.acceptLoop()
	}()

	<-ctx.Done()
	begin := time.Now()
	deadline := begin.Add(s.cfg.ShutdownTimeout)
	s.log.Info("ingestion shutting down", "queued", len(s.queue))

	// Stop accepting.
	s.listenerUp.Store(false)
	s.ln.Close()
	<-acceptDone

	// Stop reading: wake every reader blocked on the socket or on the queue.
	s.stopping.Store(true)
	close(s.stopReading)
	s.stopCancel()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.readers.Wait()

	// Drain: no reader sends any more, so the queue can be closed; the
	// writer commits what is left and acknowledges it.
	drainBy <- deadline
	close(s.queue)
	werr := <-writerDone

	// Last acks, then close every connection.
	s.mu.Lock()
	for c := range s.conns {
		c.finish()
	}
	s.mu.Unlock()
	acked := make(chan struct{})
	go func() { s.ackers.Wait(); close(acked) }()
	select {
	case <-acked:
	case <-time.After(time.Second + time.Until(deadline)):
		s.mu.Lock()
		for c := range s.conns {
			c.close()
		}
		s.mu.Unlock()
		<-acked
	}
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.detach()
	}
	s.log.Info("ingestion stopped", "took", time.Since(begin).Round(time.Millisecond),
		"committed_sessions", s.committedSessions.Load(), "batches", s.batches.Load())
	return werr
}

func (s *Server) acceptLoop() {
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("ingestion accept failed; retrying", logging.KeyErr, err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if s.tls != nil {
			// No I/O yet: the handshake runs in the connection's reader,
			// under its hello deadline.
			nc = tls.Server(nc, s.tls)
		}
		c := s.admit(nc)
		if c == nil {
			s.count(kOverCapacity)
			s.logBad("connection refused: too many connections", "remote", nc.RemoteAddr().String(),
				"max_connections", s.cfg.MaxConnections)
			go refuse(nc, fmt.Sprintf("too many connections (max %d)", s.cfg.MaxConnections))
			continue
		}
		s.readers.Add(1)
		s.ackers.Add(1)
		go c.writeLoop()
		go c.readLoop()
	}
}

// Health reports why the server cannot do its job, or nil: the listener must
// be up, the writer alive, and no batch may have been stuck committing for
// longer than Config.StuckAfter.
func (s *Server) Health() error {
	if !s.listenerUp.Load() {
		return errors.New("ingestion listener is not accepting connections")
	}
	if !s.writerAlive.Load() {
		return errors.New("batch writer is not running")
	}
	now := time.Now().UnixNano()
	if t := s.failedSince.Load(); t != 0 && time.Duration(now-t) > s.cfg.StuckAfter {
		s.statMu.Lock()
		msg := s.lastCommitErr
		s.statMu.Unlock()
		return fmt.Errorf("batch commit failing for %s: %s", time.Duration(now-t).Round(100*time.Millisecond), msg)
	}
	if t := s.commitSince.Load(); t != 0 && time.Duration(now-t) > s.cfg.StuckAfter {
		return fmt.Errorf("batch commit running for %s", time.Duration(now-t).Round(100*time.Millisecond))
	}
	return nil
}

// logBad logs a refused line or peer, at most Burst times per window of
// Server.badLines; the next line that gets through says how many were
// suppressed.
func (s *Server) logBad(msg string, args ...any) {
	s.badLines.Log(context.Background(), s.log, slog.LevelWarn, msg, args...)
}
