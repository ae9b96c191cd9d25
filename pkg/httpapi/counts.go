package httpapi

import (
	"context"
	"sync"
	"time"
)

// maxCountEntries bounds the count cache; past it, expired entries are
// dropped, and if none are, the whole cache.
const maxCountEntries = 4096

// countCache keeps the total of each filter. Counting is the expensive half
// of a list request (it visits every matching index entry: 1,000,000 for an
// unfiltered list), while paging through one filter asks for the same total
// again and again. The first request for a filter counts; later ones get
// the cached total, and once it is older than maxAge one of them starts a
// recount in the background while the others keep getting the previous
// total (stale-while-revalidate). The price: pagination.total may lag
// ingestion by maxAge plus one count; the rows themselves are always read
// fresh. A cleanup forgets every total.
type countCache struct {
	ctx    context.Context // of the server: background recounts stop at Shutdown
	maxAge time.Duration
	mu     sync.Mutex
	m      map[string]*countEntry
	gen    uint64
}

type countEntry struct {
	done       chan struct{} // closed when the first count is in
	at         time.Time
	n          int64
	err        error
	refreshing bool
}

func newCountCache(ctx context.Context, maxAge time.Duration) *countCache {
	return &countCache{ctx: ctx, maxAge: maxAge, m: make(map[string]*countEntry)}
}

func (c *countCache) get(ctx context.Context, key string, count func(context.Context) (int64, error)) (int64, error) {
	if c.maxAge < 0 {
		return count(ctx)
	}
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		select {
		case <-e.done:
			if e.err == nil {
				if time.Since(e.at) > c.maxAge && !e.refreshing {
					e.refreshing = true
					go c.refresh(key, e, c.gen, count)
				}
				n := e.n
				c.mu.Unlock()
				return n, nil
			}
			// The first count failed: count again below.
		default:
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.n, e.err
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
	}
	if len(c.m) >= maxCountEntries {
		c.evictLocked()
	}
	e := &countEntry{done: make(chan struct{})}
	c.m[key] = e
	gen := c.gen
	c.mu.Unlock()

	n, err := count(ctx)
	c.mu.Lock()
	e.n, e.err, e.at = n, err, time.Now()
	close(e.done)
	if (err != nil || gen != c.gen) && c.m[key] == e {
		delete(c.m, key) // failed, or a cleanup ran meanwhile
	}
	c.mu.Unlock()
	return n, err
}

func (c *countCache) refresh(key string, e *countEntry, gen uint64, count func(context.Context) (int64, error)) {
	n, err := count(c.ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	if err != nil || gen != c.gen {
		return // keep serving the previous total; the next request retries
	}
	e.n, e.at = n, time.Now()
}

func (c *countCache) evictLocked() {
	for k, e := range c.m {
		select {
		case <-e.done:
			if time.Since(e.at) > c.maxAge && !e.refreshing {
				delete(c.m, k)
			}
		default:
		}
	}
	if len(c.m) >= maxCountEntries {
		clear(c.m)
	}
}

// invalidate forgets every total (after a cleanup).
func (c *countCache) invalidate() {
	c.mu.Lock()
	clear(c.m)
	c.gen++
	c.mu.Unlock()
}
