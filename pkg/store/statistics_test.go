package store

import (
	"context"
	"maps"
	"testing"
	"time"
)

// The clients seen in the last hour and day are kept per interface for
// the second they were counted at, and follow every change to the rows: a
// commit within that second, a cleanup, time moving on.
func TestActiveCountsFollowTheRows(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	now := t0.Add(6 * time.Hour) // 16:00
	commitAll(t, s, "w", 1,
		sess("198.51.100.1", (6*60-30)*60), // 15:30: the last hour
		sess("198.51.100.2", 60*60),        // 11:00: the last day
		sess("198.51.100.3", 0, iface("eth1")))
	active := func(step string, at time.Time, want map[string][2]int64) {
		t.Helper()
		st, err := s.InterfaceStatistics(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][2]int64{}
		for _, i := range st {
			got[i.Interface] = [2]int64{i.ActiveLastHour, i.ActiveLastDay}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: active (hour, day) %v, want %v", step, got, want)
		}
	}
	active("first", now, map[string][2]int64{"eth0": {1, 2}, "eth1": {0, 1}})
	kept := s.active.len()
	active("same second", now.Add(300*time.Millisecond), map[string][2]int64{"eth0": {1, 2}, "eth1": {0, 1}})
	if s.active.len() != kept {
		t.Fatalf("a second read in the same second counted again (%d → %d kept)", kept, s.active.len())
	}
	commitAll(t, s, "w", 4, sess("198.51.100.4", (6*60-10)*60))
	active("a commit in the same second", now.Add(600*time.Millisecond), map[string][2]int64{"eth0": {2, 3}, "eth1": {0, 1}})
	if n, err := s.Cleanup(ctx, t0.Add(2*time.Hour), false); err != nil || n != 2 {
		t.Fatalf("Cleanup: %d, %v", n, err)
	}
	active("after a cleanup", now.Add(900*time.Millisecond), map[string][2]int64{"eth0": {2, 2}})
	active("an hour later", now.Add(time.Hour), map[string][2]int64{"eth0": {0, 2}})
}
