package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// exactActive counts iface's clients last seen in the hour and the day
// before at straight from the rows.
func exactActive(t *testing.T, s *Store, iface string, at time.Time) [2]int64 {
	t.Helper()
	var n [2]int64
	err := s.ReadDB().QueryRow(`SELECT coalesce(sum(last_seen_timestamp >= ?), 0), count(*) FROM ntp_clients
		WHERE interface_name = ? AND last_seen_timestamp >= ?`,
		formatTime(at.Add(-time.Hour)), iface, formatTime(at.Add(-24*time.Hour))).Scan(&n[0], &n[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// changesOf reads iface's interface_totals.changes through q: the store's
// readers, or a read transaction.
func changesOf(t *testing.T, q interface {
	QueryRow(string, ...any) *sql.Row
}, iface string) int64 {
	t.Helper()
	var n int64
	if err := q.QueryRow("SELECT changes FROM interface_totals WHERE interface_name = ?", iface).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readTx begins a read transaction on s and reads eth0's version in it, so
// that the transaction's snapshot is taken.
func readTx(t *testing.T, s *Store) (*sql.Tx, int64) {
	t.Helper()
	tx, err := s.ReadDB().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx, changesOf(t, tx, "eth0")
}

// TestActivityMinutesFollowTheRows commits sessions of a few hundred
// clients on two interfaces at random times over a day and more, in
// order and late, and after every commit holds the statistics' active
// counts, read at a time that moves on by odd seconds, to a count straight
// from the rows. It also checks that a commit moved the kept minutes
// itself rather than leaving them to be built again, so that the counts
// compared are the moved ones; then a cleanup and a commit by another
// Store on the same file, which the minutes cannot follow.
func TestActivityMinutesFollowTheRows(t *testing.T) {
	path := t.TempDir() + "/ntp.db"
	s := openAt(t, path, Options{})
	now := t0.Add(30 * time.Hour)
	s.clock.read = func() time.Time { return now }
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 3))
	ifaces := []string{"eth0", "eth1"}

	check := func(step string) {
		t.Helper()
		st, err := s.InterfaceStatistics(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range st {
			want := exactActive(t, s, i.Interface, now.Truncate(time.Second))
			if got := [2]int64{i.ActiveLastHour, i.ActiveLastDay}; got != want {
				t.Fatalf("%s: %s active (hour, day) %v, want %v", step, i.Interface, got, want)
			}
		}
	}
	changes := func(iface string) int64 { return changesOf(t, s.ReadDB(), iface) }
	commit := seqCommitter(t)
	randomSessions := func() []session.Session {
		var ss []session.Session
		for range 1 + rng.IntN(40) {
			// Mostly near now; some a day and more back, as late
			// sessions of a resent or replayed capture are.
			back := time.Duration(rng.Int64N(int64(2 * time.Minute)))
			if rng.IntN(4) == 0 {
				back = time.Duration(rng.Int64N(int64(26 * time.Hour)))
			}
			ip := fmt.Sprintf("198.51.100.%d", rng.IntN(200))
			ss = append(ss, sess(ip, now.Add(-back).Sub(t0).Seconds(), iface(ifaces[rng.IntN(2)])))
		}
		return ss
	}

	// Clients last seen over the day before the first read.
	for range 20 {
		ss := randomSessions()
		for i := range ss {
			ss[i].Timestamp = now.Add(-time.Duration(rng.Int64N(int64(25 * time.Hour))))
		}
		commit(s, ss)
	}
	// Clients in the first minute of each window, read at a time on the
	// minute.
	commit(s, []session.Session{
		sess("203.0.113.1", now.Add(-time.Hour+10*time.Second).Sub(t0).Seconds()),
		sess("203.0.113.2", now.Add(-24*time.Hour+10*time.Second).Sub(t0).Seconds()),
	})
	check("first read")
	for i := range 150 {
		now = now.Add(time.Duration(rng.Int64N(int64(90*time.Second))) + 300*time.Millisecond)
		before := map[string]int64{"eth0": changes("eth0"), "eth1": changes("eth1")}
		commit(s, randomSessions())
		for _, ifc := range ifaces {
			after := changes(ifc)
			if after == before[ifc] {
				continue // not written
			}
			s.activity.mu.Lock()
			k := s.activity.of[ifc]
			s.activity.mu.Unlock()
			if k == nil || k.changes != after {
				t.Fatalf("commit %d: the kept minutes of %s are not of its version %d: %+v", i, ifc, after, k)
			}
		}
		check(fmt.Sprintf("after commit %d", i))
	}

	// Half of the clients go.
	var median string
	if err := s.ReadDB().QueryRow(`SELECT last_seen_timestamp FROM ntp_clients ORDER BY 1
		LIMIT 1 OFFSET (SELECT count(*) / 2 FROM ntp_clients)`).Scan(&median); err != nil {
		t.Fatal(err)
	}
	cut, err := time.Parse(session.TimeLayout, median)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Cleanup(ctx, cut, false); err != nil || n == 0 {
		t.Fatalf("Cleanup: %d, %v", n, err)
	}
	check("after a cleanup")
	now = now.Add(61 * time.Second)
	other := openAt(t, path, Options{})
	commit(other, randomSessions())
	check("after another Store's commit")
	commit(s, randomSessions())
	check("after a commit of this Store again")
	commit(other, randomSessions())
	commit(s, randomSessions())
	check("after a commit of each, read after both")
	now = now.Add(2 * time.Hour)
	commit(s, randomSessions())
	check("two hours later")
}

// TestActivityBuiltBehind builds an interface's minutes in a read
// transaction that began before two commits, as a reader counting a
// million clients does while the writer goes on: kept, they are brought
// up to the writer's version by the moves the commits left, and the next
// read uses them as they are. Minutes built before a commit by another
// Store on the file and one of this Store's cannot be brought up past the
// other's, and are not kept.
func TestActivityBuiltBehind(t *testing.T) {
	path := t.TempDir() + "/ntp.db"
	s := openAt(t, path, Options{})
	now := t0.Add(30 * time.Hour)
	s.clock.read = func() time.Time { return now }
	ctx := context.Background()
	at := func(d time.Duration) float64 { return now.Add(d).Sub(t0).Seconds() }
	commitAll(t, s, "w", 1, sess("198.51.100.1", at(-3*time.Hour)), sess("198.51.100.2", at(-30*time.Minute)))
	changes := func() int64 { return changesOf(t, s.ReadDB(), "eth0") }
	from := floorDiv(now.Add(-26*time.Hour).Unix(), minuteSeconds)
	buildBehind := func(write func()) *activityMinutes {
		t.Helper()
		s.activity.mu.Lock()
		delete(s.activity.of, "eth0")
		s.activity.mu.Unlock()
		tx, c := readTx(t, s)
		defer tx.Rollback()
		write()
		k, err := buildActivity(ctx, tx, "eth0", c, from)
		if err != nil {
			t.Fatal(err)
		}
		s.activity.keep("eth0", k, now)
		s.activity.mu.Lock()
		defer s.activity.mu.Unlock()
		return s.activity.of["eth0"]
	}

	// The first client moves from three hours back into the last hour;
	// a new one arrives.
	k := buildBehind(func() {
		commitAll(t, s, "w", 10, sess("198.51.100.1", at(-10*time.Minute)))
		commitAll(t, s, "w", 11, sess("198.51.100.3", at(-5*time.Minute)))
	})
	if k == nil || k.changes != changes() {
		t.Fatalf("minutes built two commits behind, kept: %+v; want them at version %d", k, changes())
	}
	st, err := s.InterfaceStatistics(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := exactActive(t, s, "eth0", now)
	if got := [2]int64{st[0].ActiveLastHour, st[0].ActiveLastDay}; got != want || want != [2]int64{3, 3} {
		t.Errorf("active (hour, day) %v, want %v from the rows and [3 3]", got, want)
	}
	s.activity.mu.Lock()
	used := s.activity.of["eth0"] == k
	s.activity.mu.Unlock()
	if !used {
		t.Errorf("the read built the minutes again instead of using the kept ones")
	}

	other := openAt(t, path, Options{})
	k = buildBehind(func() {
		commitAll(t, other, "w2", 1, sess("198.51.100.4", at(-time.Minute)))
		commitAll(t, s, "w", 12, sess("198.51.100.5", at(-time.Minute)))
	})
	if k != nil {
		t.Errorf("minutes built before another Store's commit and this one's were kept: %+v", k)
	}
	if st, err = s.InterfaceStatistics(ctx, now); err != nil {
		t.Fatal(err)
	}
	want = exactActive(t, s, "eth0", now)
	if got := [2]int64{st[0].ActiveLastHour, st[0].ActiveLastDay}; got != want || want != [2]int64{5, 5} {
		t.Errorf("after both: active (hour, day) %v, want %v from the rows and [5 5]", got, want)
	}
}

// TestActivityReaderBehind counts in a read transaction that began before
// two commits, with the kept minutes already moved past it: the count is
// of the transaction's own version, from the kept minutes less the two
// commits' moves, without building them again.
func TestActivityReaderBehind(t *testing.T) {
	s := openTest(t, Options{})
	now := t0.Add(30 * time.Hour)
	s.clock.read = func() time.Time { return now }
	ctx := context.Background()
	at := func(d time.Duration) float64 { return now.Add(d).Sub(t0).Seconds() }
	commitAll(t, s, "w", 1, sess("198.51.100.1", at(-3*time.Hour)), sess("198.51.100.2", at(-30*time.Minute)))
	if _, err := s.InterfaceStatistics(ctx, now); err != nil {
		t.Fatal(err)
	}
	tx, c := readTx(t, s)
	commitAll(t, s, "w", 10, sess("198.51.100.1", at(-10*time.Minute)))
	commitAll(t, s, "w", 11, sess("198.51.100.3", at(-5*time.Minute)))
	s.activity.mu.Lock()
	kept := s.activity.of["eth0"]
	s.activity.mu.Unlock()
	if kept == nil || kept.changes != c+2 {
		t.Fatalf("kept minutes %+v, want them moved to version %d", kept, c+2)
	}
	n, err := s.activeOf(ctx, tx, activeKey{iface: "eth0", changes: c, at: now.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]int64{n.hour, n.day}; got != [2]int64{1, 2} {
		t.Errorf("active (hour, day) as of the transaction: %v, want [1 2]", got)
	}
	s.activity.mu.Lock()
	same := s.activity.of["eth0"] == kept && kept.changes == c+2
	s.activity.mu.Unlock()
	if !same {
		t.Errorf("the count built the minutes again")
	}
}

// TestActivityApplyAfterBuild is a commit's moves arriving after a reader
// already built the minutes of the version the commit made: they stay as
// built. A commit of a version further on than one past them drops them.
func TestActivityApplyAfterBuild(t *testing.T) {
	now := t0
	var a activity
	a.keep("eth0", &activityMinutes{changes: 5, n: map[int64]int64{100: 2}}, now)
	a.apply(keyMoves{"eth0": {delta: map[int64]int64{100: -1, 101: 1}}}, map[string]int64{"eth0": 5}, now)
	if k := a.of["eth0"]; k == nil || k.changes != 5 || k.n[100] != 2 || k.n[101] != 0 {
		t.Fatalf("after the moves of the version built: %+v, want it as built", k)
	}
	a.apply(keyMoves{"eth0": {delta: map[int64]int64{}}}, map[string]int64{"eth0": 7}, now)
	if k := a.of["eth0"]; k != nil {
		t.Fatalf("after a commit two versions on: %+v kept, want none", k)
	}
}

// TestActivityWaitsForPendingMoves is a reader that sees a commit before
// the commit has applied its moves: it is given the commit's channel,
// which the moves close, and then finds the minutes of its version.
func TestActivityWaitsForPendingMoves(t *testing.T) {
	now := t0
	starts := [2]int64{now.Unix() - 3600, now.Unix() - 86400}
	var a activity
	a.keep("eth0", &activityMinutes{changes: 5, from: floorDiv(starts[1], minuteSeconds) - 60,
		n: map[int64]int64{floorDiv(now.Unix(), minuteSeconds) - 2: 2}}, now)
	if _, ok, pending := minuteSums(&a, "eth0", 6, starts); ok || pending != nil {
		t.Fatalf("no commit under way: ok %v, pending %v; want neither", ok, pending)
	}
	a.begin()
	_, ok, pending := minuteSums(&a, "eth0", 6, starts)
	if ok || pending == nil {
		t.Fatalf("a commit under way: ok %v, pending %v; want its channel", ok, pending)
	}
	go a.apply(keyMoves{"eth0": {delta: map[int64]int64{floorDiv(now.Unix(), minuteSeconds) - 1: 1}}}, map[string]int64{"eth0": 6}, now)
	<-pending
	whole, ok, _ := minuteSums(&a, "eth0", 6, starts)
	if !ok || whole != [2]int64{3, 3} {
		t.Fatalf("after the moves: %v, %v; want [3 3]", whole, ok)
	}
}
