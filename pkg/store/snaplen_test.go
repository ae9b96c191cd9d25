package store

import (
	"context"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

func snaplenCut(s *session.Session) { s.SnaplenCut = true }

// Sessions cut by the snaplen are counted in snaplen_cut of their minute and
// hour, answered, unanswered and other-mode alike, across batches that merge
// into the stored buckets; Batch.Series shows the batch's own counts.
func TestSeriesSnaplenCut(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	commitAll(t, s, "w", 1,
		sess("198.51.100.1", 0, answered(0.001, 0.0001, 0.0002), snaplenCut),
		sess("198.51.100.2", 10, snaplenCut), // unanswered
		sess("198.51.100.3", 20, answered(0.001, 0.0001, 0.0002)),
		sess("198.51.100.4", 70, mode(2, 6), snaplenCut),
	)
	b := NewBatch()
	for i, ss := range []session.Session{
		sess("198.51.100.1", 30, answered(0.001, 0.0001, 0.0002), snaplenCut),
		sess("198.51.100.5", 75),
	} {
		b.Add("w", "eth0", uint64(10+i), &ss)
	}
	var inBatch int64
	for iface, bk := range b.Series() {
		if iface != "eth0" {
			t.Errorf("batch series of %q", iface)
		}
		inBatch += bk.SnaplenCut
	}
	if inBatch != 1 {
		t.Errorf("the batch's series counts %d cut sessions, want 1", inBatch)
	}
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	res, err := s.Series(ctx, SeriesQuery{From: t0, To: t0.Add(2 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || len(res.Series[0].Points) != 2 {
		t.Fatalf("%d series, want eth0 with 2 minutes", len(res.Series))
	}
	for i, want := range []int64{3, 1} {
		if got := res.Series[0].Points[i].SnaplenCut; got != want {
			t.Errorf("minute %d: snaplen_cut %d, want %d", i, got, want)
		}
	}
	tot, _, err := s.SeriesTotals(ctx, t0, t0.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tot["eth0"].SnaplenCut; got != 4 {
		t.Errorf("snaplen_cut over the hour %d, want 4", got)
	}
	var hour int64
	if err := s.ReadDB().QueryRow("SELECT snaplen_cut FROM series_hour WHERE interface_name = 'eth0'").Scan(&hour); err != nil || hour != 4 {
		t.Errorf("series_hour snaplen_cut %d (%v), want 4", hour, err)
	}
}
