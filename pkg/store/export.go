package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// exportCacheKiB is the page cache of a connection while it exports: an
// export reads every page once, so the pooled connections' large caches
// would only grow the process by their size for nothing.
const exportCacheKiB = 1024

// exportConn takes a read connection for an export and shrinks its page
// cache (SQLite frees the pages above the new size); restore puts the
// connection's own size back and returns it to the pool.
func exportConn(ctx context.Context, db *sql.DB) (*sql.Conn, func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	var size int64
	if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&size); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -"+strconv.Itoa(exportCacheKiB)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		// The request's context may be over; the pragma must still run.
		if _, err := conn.ExecContext(context.Background(), "PRAGMA cache_size = "+strconv.FormatInt(size, 10)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it rather than pool a shrunk cache
		}
		conn.Close()
	}, nil
}

// ExportChunk is the rendered form of one range of ids: Buf holds the rows
// one after the other and Ends[i] is where row i ends in Buf.
type ExportChunk struct {
	Buf  []byte
	Ends []int
}

// exportSpan is how many ids one export chunk covers: under 1 MB of
// NDJSON, so chunks in flight stay small next to the 100 MB budget.
const exportSpan = 512

// ExportRendered streams the clients that match f in id order, at most
// limit of them (no bound when limit <= 0), rendered by render and handed to
// emit in order, one chunk at a time. workers goroutines read and render
// disjoint id ranges on the read pool in parallel, and at most 2×workers
// chunks exist at once, so memory stays bounded whatever the size of the
// table. Each range is read in its own statement, so rows committed while
// an export runs may or may not be part of it, row by row; ids above the
// largest one at the start are not. emit may keep nothing of the chunk.
// It returns the number of rows emitted.
func (s *Store) ExportRendered(ctx context.Context, f ClientFilter, limit int64, workers int,
	render func(b []byte, c *Client) []byte, emit func(ExportChunk) error) (int64, error) {
	var lo, hi int64
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM ntp_clients").Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("store: export clients: %w", err)
	}
	if hi < lo {
		return 0, nil
	}
	workers = max(1, workers)
	ranges := (hi-lo)/exportSpan + 1
	where, args := f.where()
	cond := " WHERE "
	if where != "" {
		cond = where + " AND "
	}
	q := "SELECT " + clientSelect + " FROM ntp_clients" + cond + "id >= ? AND id < ? ORDER BY id"
	if limit > 0 {
		// No range holds more rows than the export still needs.
		q += " LIMIT " + strconv.FormatInt(min(limit, exportSpan), 10)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		chunk ExportChunk
		err   error
	}
	slots := make([]chan result, ranges)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	jobs := make(chan int64)
	inflight := make(chan struct{}, 2*workers)
	pool := make(chan ExportChunk, 2*workers+1)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, restore, err := exportConn(ctx, s.ReadDB())
			if err != nil {
				// Fail the ranges this reader would have taken.
				for i := range jobs {
					slots[i] <- result{err: err}
				}
				return
			}
			defer restore()
			var c Client
			for i := range jobs {
				var ch ExportChunk
				select {
				case ch = <-pool:
				default:
				}
				ch.Buf, ch.Ends = ch.Buf[:0], ch.Ends[:0]
				from := lo + i*exportSpan
				err := func() error {
					rows, err := conn.QueryContext(ctx, q, append(slices.Clone(args), from, from+exportSpan)...)
					if err != nil {
						return err
					}
					defer rows.Close()
					return scanClients(rows, &c, func() error {
						ch.Buf = render(ch.Buf, &c)
						ch.Ends = append(ch.Ends, len(ch.Buf))
						return nil
					})
				}()
				slots[i] <- result{ch, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range ranges {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		wg.Wait() // no reader outlives the export
	}()
	var n int64
	for i := range ranges {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return n, ctx.Err()
		}
		if r.err != nil {
			return n, fmt.Errorf("store: export clients: %w", r.err)
		}
		ch := r.chunk
		if limit > 0 && n+int64(len(ch.Ends)) > limit {
			k := limit - n
			ch.Buf, ch.Ends = ch.Buf[:ch.Ends[k-1]], ch.Ends[:k]
		}
		if len(ch.Ends) > 0 {
			if err := emit(ch); err != nil {
				return n, err
			}
			n += int64(len(ch.Ends))
		}
		select {
		case pool <- r.chunk:
		default:
		}
		<-inflight
		if limit > 0 && n >= limit {
			return n, nil
		}
	}
	return n, nil
}
