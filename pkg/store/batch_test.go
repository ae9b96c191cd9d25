package store

import (
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// TestBatchAddAllocs: once a batch has grown to its working size, folding
// sessions into it allocates nothing (the collector calls Add for every
// session it receives).
func TestBatchAddAllocs(t *testing.T) {
	ss := storetest.Sessions(2000, 500, 3)
	b := NewBatch()
	fill := func() {
		b.Reset()
		for i := range ss {
			b.Add("w", "eth0", uint64(i+1), &ss[i])
		}
	}
	fill() // grow the map and the row slice
	if n := testing.AllocsPerRun(20, fill); n != 0 {
		t.Errorf("refilling a reset batch: %.1f allocations, want 0", n)
	}
	if b.Len() != 2000 || b.Rows() == 0 || b.Rows() > 500 {
		t.Errorf("Len %d, Rows %d", b.Len(), b.Rows())
	}
}

// TestBatchReuse checks that a reset batch carries nothing over.
func TestBatchReuse(t *testing.T) {
	b := NewBatch()
	a := sess("198.51.100.1", 5, answered(0.1, 0.2, 0.3), kod("RATE"))
	b.Add("w1", "eth0", 9, &a)
	b.Reset()
	c := sess("198.51.100.1", 1)
	b.Add("w2", "eth0", 1, &c)
	if b.Rows() != 1 || b.Workers() != 1 {
		t.Fatalf("Rows %d, Workers %d", b.Rows(), b.Workers())
	}
	r := b.rows[0]
	if r.answered != 0 || r.kod != 0 || r.kodCode != "" || r.procCount != 0 || r.sessions != 1 || !r.first.Equal(c.Timestamp) {
		t.Errorf("row after reset carries old data: %+v", r)
	}
	for w, seq := range b.HighWater() {
		if w != "w2" || seq != 1 {
			t.Errorf("HighWater after reset: %s %d", w, seq)
		}
	}
}
