package store

import (
	"context"
	"path/filepath"
	"testing"
)

// A worker's binding is written with its high-water seq, survives a reopen,
// and never changes once written; a refused session (Skip) raises the seq
// without a row.
func TestWorkerBindingAndSkip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ntp_clients.db")
	s := openAt(t, path, Options{})

	b := NewBatch()
	b.Bind("w-new", "eth0", "secret:aa") // bound at its hello, before any session
	a := sess("198.51.100.1", 1)
	b.Add("w1", "eth0", 3, &a)
	b.Bind("w1", "eth0", "x509:worker-1.example")
	b.Skip("w1", "eth0", 4)
	b.Skip("w1", "eth0", 2) // lower: changes nothing
	if b.Len() != 1 || b.Workers() != 2 {
		t.Fatalf("Len %d, Workers %d; want 1 session, 2 workers", b.Len(), b.Workers())
	}
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Bind("w1", "eth0", "secret:bb") // another identity: the first one stays
	b.Skip("w1", "eth0", 9)           // a batch of refused sessions only
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	for _, tt := range []struct {
		id, binding string
		seq         uint64
	}{
		{"w1", "x509:worker-1.example", 9},
		{"w-new", "secret:aa", 0},
		{"unknown", "", 0},
	} {
		seq, binding, err := s.WorkerSeq(ctx, tt.id)
		if err != nil || seq != tt.seq || binding != tt.binding {
			t.Errorf("WorkerSeq(%s) = %d, %q, %v; want %d, %q", tt.id, seq, binding, err, tt.seq, tt.binding)
		}
	}
	if n := countRows(t, s); n != 1 {
		t.Errorf("%d client rows, want 1: a skipped seq writes none", n)
	}
}

func countRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.ReadDB().QueryRow("SELECT count(*) FROM ntp_clients").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
