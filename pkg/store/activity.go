package store

// The clients active in the last hour and day, kept by the minute.
//
// The interface statistics give, per interface, how many clients were
// last seen in the hour and in the day before now. Counted over the
// (interface_name, last_seen_timestamp) index, that reads every client of
// the day, 0.2 µs each: a pool server's million clients a day cost a
// request 200 ms, and every commit changes the answer. So each interface
// keeps how many of its clients were last seen in each minute of the last
// day (activityMinutes): built once from the index, then moved by every
// commit from the rows it read and wrote. An updated row whose last seen
// time moves on leaves its old minute for its new one; an inserted row
// joins its minute. A count is the sum of the whole minutes at or after
// the window's start, plus an index count over the part of the minute the
// start falls in, a 1,440th of the day.
//
// Kept minutes are of one version of the interface's rows,
// interface_totals.changes: every commit that writes the interface bumps
// it, and so does the trigger on every deleted row. A reader uses them
// only when its own read transaction sees the same version, and a commit
// moves them only from the version it started from. Another process
// writing the file, a cleanup, or a commit that could not say how it moved
// its rows leaves them behind, and the next reader builds them afresh.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"
)

const (
	minuteSeconds = int64(MinuteStep / time.Second)
	// activityDay is the longest window counted from the minutes.
	activityDay = 24 * time.Hour
	// activityReach is how far before a reader's day window the minutes
	// it builds begin, and how long a minute is kept past that window, so
	// that a reader whose clock is a little behind is served too.
	activityReach = time.Hour
)

// activity holds each interface's kept minutes (Store.activity).
type activity struct {
	mu    sync.Mutex
	of    map[string]*activityMinutes
	moved map[string][]versionMoves // the latest commits' moves, oldest first
	// pending is closed when the commit under way has applied its moves:
	// readers see a commit before its moves are applied, and one that
	// finds the minutes a version behind waits for them rather than
	// building them again.
	pending chan struct{}
}

// begin marks a commit under way, right before its transaction commits;
// apply ends it.
func (a *activity) begin() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = make(chan struct{})
}

// movesKept bounds the commits whose moves are kept per interface: at ten
// commits a second, six seconds of them, for a build that takes a second.
const movesKept = 64

// versionMoves is one commit's moves of an interface's minutes.
type versionMoves struct {
	changes int64 // the version the commit made
	delta   map[int64]int64
}

// activityMinutes counts an interface's clients by the minute of their
// last seen time, for the clients last seen at or after minute from.
type activityMinutes struct {
	changes int64           // the interface_totals.changes they are of
	from    int64           // the first minute counted (Unix seconds / 60)
	n       map[int64]int64 // minute → clients last seen in it
}

// activityMoves are what one commit did to its interfaces' minutes.
type activityMoves map[string]*ifaceMoves

type ifaceMoves struct {
	// lost is set when a row's move could not be told (a stored time that
	// does not parse): the kept minutes are dropped.
	lost  bool
	delta map[int64]int64
}

// of returns iface's moves, creating them.
func (m activityMoves) of(iface string) *ifaceMoves {
	v := m[iface]
	if v == nil {
		v = &ifaceMoves{delta: make(map[int64]int64)}
		m[iface] = v
	}
	return v
}

// row records one upserted row: stored is the row as it was before the
// commit (nil when the commit inserted it), last the batch's last seen
// time.
func (v *ifaceMoves) row(stored *storedProps, last time.Time) {
	newMinute := floorDiv(last.Unix(), minuteSeconds)
	if stored == nil {
		v.delta[newMinute]++
		return
	}
	// The row keeps the later of the two (the greatest fold).
	if formatTime(last) <= stored.lastSeen {
		return
	}
	old, ok := minuteOfText(stored.lastSeen)
	if !ok {
		v.lost = true
		return
	}
	if old != newMinute {
		v.delta[old]--
		v.delta[newMinute]++
	}
}

// minuteOfText is the minute of a stored time (session.TimeLayout).
func minuteOfText(s string) (int64, bool) {
	if len(s) < len("2006-01-02T15:04") {
		return 0, false
	}
	t, err := time.Parse("2006-01-02T15:04", s[:len("2006-01-02T15:04")])
	if err != nil {
		return 0, false
	}
	return floorDiv(t.Unix(), minuteSeconds), true
}

// apply moves the kept minutes by a committed transaction's moves; after
// holds each written interface's interface_totals.changes after it (none
// when the totals are off). Minutes not of the version the commit started
// from, or moves that were lost, are dropped. The moves are also kept a
// while (movesKept), for minutes a reader is building meanwhile.
func (a *activity) apply(moves activityMoves, after map[string]int64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending != nil {
		close(a.pending)
		a.pending = nil
	}
	for iface, v := range moves {
		ch, ok := after[iface]
		if !ok || v.lost {
			delete(a.of, iface)
			delete(a.moved, iface)
			continue
		}
		if a.moved == nil {
			a.moved = make(map[string][]versionMoves)
		}
		h := append(a.moved[iface], versionMoves{changes: ch, delta: v.delta})
		if len(h) > movesKept {
			h = slices.Delete(h, 0, len(h)-movesKept)
		}
		a.moved[iface] = h
		if k := a.of[iface]; k != nil {
			switch k.changes {
			case ch - 1:
				k.move(v.delta, ch, now)
			case ch:
				// A reader saw the commit before it got here and built
				// the minutes of it.
			default:
				delete(a.of, iface)
			}
		}
	}
}

// move applies one commit's delta, which made version ch.
func (k *activityMinutes) move(delta map[int64]int64, ch int64, now time.Time) {
	// A move from or to a minute before from touches a count that no sum
	// reads, and the pruning below drops it.
	for m, d := range delta {
		k.n[m] += d
	}
	k.changes = ch
	keepFrom := floorDiv(now.Add(-activityDay-activityReach).Unix(), minuteSeconds)
	if k.from < keepFrom {
		for m := range k.n {
			if m < keepFrom {
				delete(k.n, m)
			}
		}
		k.from = keepFrom
	}
}

// sums returns, from iface's minutes as of version changes, the clients
// last seen in the whole minutes at or after each start (Unix seconds),
// with ok false when no minutes reach back to them or to that version.
// Minutes a commit or two ahead serve a reader whose transaction began
// before those commits: their kept moves are taken back out. Minutes
// behind it while a commit is under way come with that commit's pending
// channel, to wait on and ask again.
func (a *activity) sums(iface string, changes int64, starts [2]int64) (whole [2]int64, ok bool, pending <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.of[iface]
	var first [2]int64
	for i, s := range starts {
		first[i] = floorDiv(s+minuteSeconds-1, minuteSeconds)
		if k == nil || first[i] < k.from {
			return whole, false, nil
		}
	}
	if k.changes < changes {
		return whole, false, a.pending
	}
	var ahead []map[int64]int64
	h := a.moved[iface]
	for v, i := k.changes, len(h)-1; v > changes; v, i = v-1, i-1 {
		if i < 0 || h[i].changes != v {
			return whole, false, nil
		}
		ahead = append(ahead, h[i].delta)
	}
	add := func(n map[int64]int64, sign int64) {
		for m, c := range n {
			for i := range first {
				if m >= first[i] {
					whole[i] += sign * c
				}
			}
		}
	}
	add(k.n, 1)
	for _, d := range ahead {
		add(d, -1)
	}
	return whole, true, nil
}

// keep installs minutes a reader built, brought up to the latest version
// by the moves kept since, unless newer minutes are kept or the moves
// since are not all known (then the next reader builds again). Building
// from a million clients takes longer than a busy writer takes between
// commits: without the moves kept, the minutes built would always be a
// version or more behind, and never used.
func (a *activity) keep(iface string, k *activityMinutes, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.of[iface]; old != nil && old.changes >= k.changes {
		return
	}
	for _, v := range a.moved[iface] {
		switch {
		case v.changes <= k.changes:
			continue
		case v.changes != k.changes+1:
			return // a commit in between that this process did not make, or one no longer kept
		}
		k.move(v.delta, v.changes, now)
	}
	if a.of == nil {
		a.of = make(map[string]*activityMinutes)
	}
	a.of[iface] = k
}

// buildActivity counts iface's clients by minute from the index, in the
// reader's transaction, whose version of the rows is changes.
func buildActivity(ctx context.Context, tx *sql.Tx, iface string, changes, from int64) (*activityMinutes, error) {
	k := &activityMinutes{changes: changes, from: from, n: make(map[int64]int64)}
	rows, err := tx.QueryContext(ctx, `SELECT substr(last_seen_timestamp, 1, 16), count(*) FROM ntp_clients
		INDEXED BY ntp_clients_interface_last_seen WHERE interface_name = ? AND last_seen_timestamp >= ?
		GROUP BY 1`, iface, formatTime(time.Unix(from*minuteSeconds, 0)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var minute string
		var n int64
		if err := rows.Scan(&minute, &n); err != nil {
			return nil, err
		}
		m, ok := minuteOfText(minute)
		if !ok {
			return nil, fmt.Errorf("a stored last seen time %q does not parse", minute)
		}
		k.n[m] += n
	}
	return k, rows.Err()
}

// activeOf counts key's active clients: the kept minutes, built first when
// none of the key's version reach back far enough, and the index for the
// partial minute each window starts in.
func (s *Store) activeOf(ctx context.Context, tx *sql.Tx, key activeKey) (activeCounts, error) {
	starts := [2]int64{key.at - int64(time.Hour/time.Second), key.at - int64(activityDay/time.Second)}
	whole, ok, pending := s.activity.sums(key.iface, key.changes, starts)
	if pending != nil {
		select {
		case <-pending:
		case <-ctx.Done():
			return activeCounts{}, ctx.Err()
		}
		whole, ok, _ = s.activity.sums(key.iface, key.changes, starts)
	}
	if !ok {
		from := floorDiv(starts[1]-int64(activityReach/time.Second), minuteSeconds)
		k, err := buildActivity(ctx, tx, key.iface, key.changes, from)
		if err != nil {
			return activeCounts{}, err
		}
		for m, n := range k.n {
			for i, st := range starts {
				if m*minuteSeconds >= st {
					whole[i] += n
				}
			}
		}
		// Counted first: keeping them may move them past this
		// transaction's version.
		s.activity.keep(key.iface, k, s.clock.now())
	}
	var part [2]int64
	for i, st := range starts {
		end := floorDiv(st+minuteSeconds-1, minuteSeconds) * minuteSeconds
		if end == st {
			continue
		}
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ntp_clients INDEXED BY ntp_clients_interface_last_seen
			WHERE interface_name = ? AND last_seen_timestamp >= ? AND last_seen_timestamp < ?`,
			key.iface, formatTime(time.Unix(st, 0)), formatTime(time.Unix(end, 0))).Scan(&part[i])
		if err != nil {
			return activeCounts{}, err
		}
	}
	return activeCounts{hour: whole[0] + part[0], day: whole[1] + part[1]}, nil
}
