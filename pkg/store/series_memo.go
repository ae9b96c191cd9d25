package store

// The settled past of the series, merged once.
//
// A long range's totals (the statistics over 30 days) merge about 135
// stored buckets per interface, nearly all of which no commit will touch
// again: sessions land in the minute of their capture time, which is the
// current minute or the one before. So SeriesTotals splits [lo, hi) at a
// cut a few minutes before now: what lies before the cut, the settled
// part, is merged once and kept, and only the few minutes after it are read
// on every call.
//
// What is kept is never stale. series_info.settled_writes counts the
// commits that wrote a minute bucket more than lateAfter before their own
// clock (a worker resending after a reconnect, a --pcap-file of last
// week) and the cleanups that deleted buckets; both bump it in or right
// after their transaction. A merge remembers the count it read before
// reading the buckets and is used only while the count is unchanged: a
// write that the merge might have missed has raised it by then. The count
// lives in the database rather than in the Store so that any writer of the
// file is seen.
//
// The reader cuts settleAfter before its clock and the writer flags writes
// lateAfter before its own, a minute apart: a bucket the reader deems
// settled ends at most settleAfter before the reader's now, so an unflagged
// write could reach it only from a clock more than a minute behind (a
// commit that took that long, or another host's clock that far off). Both
// read Store.clock, which never goes back, so a stepped host clock cannot
// make a late write look current.

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// lateAfter is how far before the writer's clock a minute bucket's
	// start makes its write a write into the settled past.
	lateAfter = 2 * time.Minute
	// settleAfter is how far before the reader's clock the settled part
	// of a range ends.
	settleAfter = lateAfter + time.Minute
	// settledKept bounds the merges kept: a few ranges each of the
	// statistics, the timeseries page and /metrics, a minute or two
	// apart. Each is one merged bucket per interface: a client sketch of
	// at most 4 KiB and three histograms.
	settledKept = 32
)

// settledKey names one settled merge: [lo, cut) on an interface set, as
// of a count of writes into the settled past.
type settledKey struct {
	lo, cut int64
	all     bool   // every interface; ifaces is empty
	ifaces  string // the interface names, NUL-separated
	writes  int64  // series_info.settled_writes before the merge read
}

// clock is a reading of time.Now that never goes back: a host clock
// stepped back reads as the latest time seen until it catches up, so that
// a write near the stepped clock's now is still judged against the cut of
// a merge made before the step.
type clock struct {
	latest atomic.Int64 // Unix nanoseconds
	// read is the time source, time.Now when nil; the memo's tests set
	// it before any use.
	read func() time.Time
}

func (c *clock) now() time.Time {
	read := c.read
	if read == nil {
		read = time.Now
	}
	n := read().UnixNano()
	for {
		l := c.latest.Load()
		if n <= l {
			return time.Unix(0, l)
		}
		if c.latest.CompareAndSwap(l, n) {
			return time.Unix(0, n)
		}
	}
}

// settledCut is where the settled part of [lo, hi) ends for a reader
// whose clock reads now: settleAfter before now on the minute, within
// [lo, hi].
func settledCut(lo, hi int64, now time.Time) int64 {
	minute := int64(MinuteStep / time.Second)
	cut := floorDiv(now.Add(-settleAfter).Unix(), minute) * minute
	return max(lo, min(hi, cut))
}

// isLate reports whether a write into the minute that starts at start,
// by a writer whose clock reads now, may change a settled merge.
func isLate(start int64, now time.Time) bool {
	return start < now.Add(-lateAfter).Unix()
}

// bumpSettled raises series_info.settled_writes; ex is the transaction
// of the write, or the writer pool right after it.
func bumpSettled(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	_, err := ex.ExecContext(ctx, "UPDATE series_info SET settled_writes = settled_writes + 1 WHERE id = 1")
	return err
}

// settledTotals is the merge of the stored buckets of [lo, cut) per
// interface, kept (Store.settled) until a write into the settled past:
// writes is settled_writes, read before the buckets, so that a write the
// merge misses has raised it by the next call.
// The map and its buckets are shared: callers merge them into their own.
func (s *Store) settledTotals(ctx context.Context, lo, cut int64, ifaces []string, writes int64) (map[string]*SeriesBucket, error) {
	key := settledKey{lo: lo, cut: cut, all: ifaces == nil, ifaces: strings.Join(ifaces, "\x00"), writes: writes}
	return s.settled.get(ctx, key, func(ctx context.Context) (map[string]*SeriesBucket, error) {
		return s.mergeSpans(ctx, lo, cut, ifaces, nil)
	})
}

// recentKey names one merge of the minutes after the settled cut: [lo,
// hi) on an interface set, as of the versions read before it.
type recentKey struct {
	lo, hi int64
	all    bool
	ifaces string
	// changes is the sum of interface_totals.changes: every commit that
	// writes a bucket upserts its sessions' client rows too and so raises
	// it, in its own transaction, by any writer of the file; writes is
	// settled_writes, for a cleanup that deletes recent buckets; commits
	// counts this Store's commits, for a benchmark's store that keeps no
	// totals.
	changes, writes, commits int64
}

// recentKept bounds the merges of recent minutes kept: each is of one
// commit, and a busy collector commits ten times a second.
const recentKept = 32

// recentTotals merges the stored buckets of [lo, hi), the few minutes
// after the settled cut, into out per interface. The merge is kept until
// the next commit (Store.recent): between two commits, which come every
// 100 ms or so, the statistics read the same minutes again and again, and
// reading them (a few rows of 4 KiB sketches and histograms per
// interface) cost a request more than the rest of it.
func (s *Store) recentTotals(ctx context.Context, lo, hi int64, ifaces []string, v seriesVersions, out map[string]*SeriesBucket) (map[string]*SeriesBucket, error) {
	key := recentKey{lo: lo, hi: hi, all: ifaces == nil, ifaces: strings.Join(ifaces, "\x00"),
		changes: v.changes, writes: v.settledWrites, commits: v.commits}
	recent, err := s.recent.get(ctx, key, func(ctx context.Context) (map[string]*SeriesBucket, error) {
		return s.mergeSpans(ctx, lo, hi, ifaces, nil)
	})
	if err != nil {
		return nil, err
	}
	mergeInto(out, recent)
	return out, nil
}

// mergeInto merges each interface's bucket of shared, a kept merge, into
// out's own, made when out has none.
func mergeInto(out, shared map[string]*SeriesBucket) {
	for iface, b := range shared {
		own := out[iface]
		if own == nil {
			own = new(SeriesBucket)
			out[iface] = own
		}
		own.Merge(b)
	}
}

// mergeSpans merges the stored buckets of [lo, hi) per interface into out
// (nil: a new map), reading as few as cover the range (coverSpans).
func (s *Store) mergeSpans(ctx context.Context, lo, hi int64, ifaces []string, out map[string]*SeriesBucket) (map[string]*SeriesBucket, error) {
	if out == nil {
		out = make(map[string]*SeriesBucket)
	}
	into := func(iface string, _ int64, r *storedBucket) error {
		b := out[iface]
		if b == nil {
			b = new(SeriesBucket)
			out[iface] = b
		}
		return b.mergeStored(r)
	}
	for _, sp := range coverSpans(lo, hi) {
		if err := s.readSeries(ctx, seriesTables[sp.level].table, sp.lo, sp.hi, ifaces, into); err != nil {
			return nil, err
		}
	}
	return out, nil
}
