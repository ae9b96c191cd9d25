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
// start falls in, a 1,440th of the day. How the minutes are kept to the
// rows' version is kept.go's.

import (
	"context"
	"database/sql"
	"fmt"
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
type activity = kept[*activityMinutes]

// activityMinutes counts an interface's clients by the minute of their
// last seen time, for the clients last seen at or after minute from.
type activityMinutes struct {
	changes int64           // the interface_totals.changes they are of
	from    int64           // the first minute counted (Unix seconds / 60)
	n       map[int64]int64 // minute → clients last seen in it
}

func (k *activityMinutes) version() int64 { return k.changes }

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
	v.shift(old, newMinute)
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

// minuteSums returns, from iface's minutes as of version changes, the
// clients last seen in the whole minutes at or after each start (Unix
// seconds), with ok false when no minutes reach back to them or to that
// version; pending as kept.read.
func minuteSums(a *activity, iface string, changes int64, starts [2]int64) (whole [2]int64, ok bool, pending <-chan struct{}) {
	var first [2]int64
	for i, s := range starts {
		first[i] = floorDiv(s+minuteSeconds-1, minuteSeconds)
	}
	ok, pending = a.read(iface, changes, func(k *activityMinutes, ahead []map[int64]int64) bool {
		for i := range first {
			if first[i] < k.from {
				return false
			}
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
		return true
	})
	if !ok {
		whole = [2]int64{}
	}
	return whole, ok, pending
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
	whole, ok, pending := minuteSums(&s.activity, key.iface, key.changes, starts)
	if pending != nil {
		select {
		case <-pending:
		case <-ctx.Done():
			return activeCounts{}, ctx.Err()
		}
		whole, ok, _ = minuteSums(&s.activity, key.iface, key.changes, starts)
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
