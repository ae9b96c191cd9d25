package store

// Counts kept in memory per interface and moved by every commit.
//
// Two figures of the interface statistics are of every client row: the
// clients last seen in the last hour and day (activity.go), and the
// percentiles of the per-client means (client_means.go). Read from the
// rows, each costs a request time that grows with the table. So each is
// kept as counts by an integer key per interface — clients by the minute
// of their last seen time, clients by the bucket of their mean — built
// once from the rows, then moved by every commit from the rows it read
// and wrote: a row whose key changes leaves its old key for its new one,
// an inserted row joins its key.
//
// Kept counts are of one version of the interface's rows,
// interface_totals.changes: every commit that writes the interface bumps
// it, and so does the trigger on every deleted row. A reader uses them
// only when its own read transaction sees the same version, and a commit
// moves them only from the version it started from. Another process
// writing the file, a cleanup, or a commit that could not say how it moved
// its rows leaves them behind, and the next reader builds them afresh.

import (
	"slices"
	"sync"
	"time"
)

// keptCounts are one interface's counts of one version (activityMinutes,
// meanCounts).
type keptCounts interface {
	version() int64
	// move applies one commit's delta, which made version ch.
	move(delta map[int64]int64, ch int64, now time.Time)
}

// kept holds each interface's counts of one kind (Store.activity,
// Store.means).
type kept[V keptCounts] struct {
	mu    sync.Mutex
	of    map[string]V
	moved map[string][]versionMoves // the latest commits' moves, oldest first
	// pending is closed when the commit under way has applied its moves:
	// readers see a commit before its moves are applied, and one that
	// finds the counts a version behind waits for them rather than
	// building them again.
	pending chan struct{}
}

// begin marks a commit under way, right before its transaction commits;
// apply ends it.
func (a *kept[V]) begin() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = make(chan struct{})
}

// movesKept bounds the commits whose moves are kept per interface: at ten
// commits a second, six seconds of them, for a build that takes a second.
const movesKept = 64

// versionMoves is one commit's moves of an interface's counts.
type versionMoves struct {
	changes int64 // the version the commit made
	delta   map[int64]int64
}

// keyMoves are what one commit did to its interfaces' counts of one kind.
type keyMoves map[string]*ifaceMoves

type ifaceMoves struct {
	// lost is set when a row's move could not be told (a stored time that
	// does not parse): the kept counts are dropped.
	lost  bool
	delta map[int64]int64
}

// of returns iface's moves, creating them.
func (m keyMoves) of(iface string) *ifaceMoves {
	v := m[iface]
	if v == nil {
		v = &ifaceMoves{delta: make(map[int64]int64)}
		m[iface] = v
	}
	return v
}

// shift moves one row from key old to key new.
func (v *ifaceMoves) shift(old, new int64) {
	if old != new {
		v.delta[old]--
		v.delta[new]++
	}
}

// apply moves the kept counts by a committed transaction's moves; after
// holds each written interface's interface_totals.changes after it (none
// when the totals are off). Counts not of the version the commit started
// from, or moves that were lost, are dropped. The moves are also kept a
// while (movesKept), for counts a reader is building meanwhile.
func (a *kept[V]) apply(moves keyMoves, after map[string]int64, now time.Time) {
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
		if k, ok := a.of[iface]; ok {
			switch k.version() {
			case ch - 1:
				k.move(v.delta, ch, now)
			case ch:
				// A reader saw the commit before it got here and built
				// the counts of it.
			default:
				delete(a.of, iface)
			}
		}
	}
}

// read hands f iface's counts for a reader whose transaction sees version
// changes, under the lock, and reports what f does. Counts a commit or two
// ahead serve such a reader too: ahead are the kept deltas of the commits
// past its version, newest first, for f to take back out. Counts behind it
// while a commit is under way come with that commit's pending channel, to
// wait on and ask again.
func (a *kept[V]) read(iface string, changes int64, f func(k V, ahead []map[int64]int64) bool) (ok bool, pending <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, ok := a.of[iface]
	if !ok {
		return false, nil
	}
	if k.version() < changes {
		return false, a.pending
	}
	var ahead []map[int64]int64
	h := a.moved[iface]
	for v, i := k.version(), len(h)-1; v > changes; v, i = v-1, i-1 {
		if i < 0 || h[i].changes != v {
			return false, nil
		}
		ahead = append(ahead, h[i].delta)
	}
	return f(k, ahead), nil
}

// keep installs counts a reader built, brought up to the latest version by
// the moves kept since, unless newer counts are kept or the moves since
// are not all known (then the next reader builds again). Building from a
// million clients takes longer than a busy writer takes between commits:
// without the moves kept, the counts built would always be a version or
// more behind, and never used.
func (a *kept[V]) keep(iface string, k V, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.of[iface]; ok && old.version() >= k.version() {
		return
	}
	for _, v := range a.moved[iface] {
		switch {
		case v.changes <= k.version():
			continue
		case v.changes != k.version()+1:
			return // a commit in between that this process did not make, or one no longer kept
		}
		k.move(v.delta, v.changes, now)
	}
	if a.of == nil {
		a.of = make(map[string]V)
	}
	a.of[iface] = k
}
