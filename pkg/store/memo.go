package store

import (
	"context"
	"sync"
)

// memo keeps the latest results of one computation by key, at most size
// of them, the least recently asked for going first. Concurrent callers of
// one key wait for one computation.
//
// A key names everything its result depends on, a version of the data
// among it (series_info.settled_writes, interface_totals.changes), so an
// entry is never stale, only unused: once the data moves on, callers ask
// for another key and the old entry ages out.
type memo[K comparable, V any] struct {
	size int

	mu      sync.Mutex
	tick    int64
	entries map[K]*memoEntry[V]
}

// memoEntry is one result, or one being computed.
type memoEntry[V any] struct {
	done chan struct{} // closed when v or err is set
	v    V
	err  error
	used int64 // memo.tick when it was last asked for
}

// get returns the result for key, computing it unless it is kept or being
// computed. The computation is shared with whoever asks meanwhile, so it
// runs without ctx's cancellation: one caller giving up does not fail the
// others. A failed computation is not kept.
func (m *memo[K, V]) get(ctx context.Context, key K, compute func(context.Context) (V, error)) (V, error) {
	m.mu.Lock()
	m.tick++
	if e := m.entries[key]; e != nil {
		e.used = m.tick
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		if e.err == nil {
			return e.v, nil
		}
		// The other caller's computation failed, perhaps for a reason
		// of its own (its transaction gone with its request): compute
		// once more, for this caller alone.
		return compute(ctx)
	}
	e := &memoEntry[V]{done: make(chan struct{}), used: m.tick}
	if m.entries == nil {
		m.entries = make(map[K]*memoEntry[V])
	}
	m.entries[key] = e
	m.evict()
	m.mu.Unlock()

	e.v, e.err = compute(context.WithoutCancel(ctx))
	if e.err != nil {
		m.mu.Lock()
		if m.entries[key] == e {
			delete(m.entries, key)
		}
		m.mu.Unlock()
	}
	close(e.done)
	return e.v, e.err
}

// evict drops the least recently used entries beyond size; m.mu is held.
func (m *memo[K, V]) evict() {
	for len(m.entries) > m.size {
		var oldest K
		var at int64
		first := true
		for k, e := range m.entries {
			if first || e.used < at {
				oldest, at, first = k, e.used, false
			}
		}
		delete(m.entries, oldest)
	}
}
