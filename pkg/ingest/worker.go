package ingest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// worker is one worker run, identified by its worker_id, across all of its
// connections.
type worker struct {
	// id and iface are fixed when the worker is first seen: a worker run
	// captures on one interface. So is binding, the identity the id is
	// bound to ("" for an unbound worker, see binding.go).
	id      string
	iface   string
	binding string

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
	identity       string // client certificate of the current (or last) connection
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
		Identity: w.identity, Binding: bindingKind(w.binding),
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

// register finds or creates the worker and raises its accepted and committed
// marks to what the store has committed. storeBinding is the binding the
// store holds for id. It fails with errBound when the worker is bound and
// cr do not prove its identity; a worker never seen before is bound to cr,
// and bound reports that this is new, for the store to keep. It returns the
// worker's previous connection.
func (s *Server) register(id, iface string, storeHW uint64, storeBinding string, cr credentials) (w *worker, prev *conn, bound bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w = s.workers[id]
	binding := storeBinding
	if w != nil {
		binding = w.binding
	}
	if binding != "" && !cr.matches(binding) {
		return nil, nil, false, errBound
	}
	if w == nil {
		s.pruneLocked()
		w = &worker{id: id, iface: iface, binding: binding}
		// Only an id of which nothing is known is bound: one that has
		// sessions committed unbound belongs to an older worker, and
		// stays unbound.
		if binding == "" && storeHW == 0 {
			w.binding = cr.binding()
			bound = w.binding != ""
		}
		w.committed.Store(storeHW)
		s.workers[id] = w
	}
	// For a known worker both marks are at least storeHW already: only
	// this process commits, and it raises them as it does.
	w.raiseAccepted(storeHW)
	w.mu.Lock()
	prev = w.conn
	w.mu.Unlock()
	return w, prev, bound, nil
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
