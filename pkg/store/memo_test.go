package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// len is the number of entries kept.
func (m *memo[K, V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// has reports whether key is kept.
func (m *memo[K, V]) has(key K) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[key] != nil
}

// The memo keeps at most its size, the least recently asked for going
// first.
func TestMemoBounded(t *testing.T) {
	m := memo[int, int]{size: 4}
	ctx := context.Background()
	for i := range 10 {
		if v, err := m.get(ctx, i, func(context.Context) (int, error) { return i * i, nil }); err != nil || v != i*i {
			t.Fatalf("get(%d) = %d, %v", i, v, err)
		}
		m.get(ctx, 0, func(context.Context) (int, error) { t.Fatal("0 computed twice"); return 0, nil })
	}
	if m.len() != 4 {
		t.Fatalf("kept %d, want 4", m.len())
	}
	for k, want := range map[int]bool{0: true, 7: true, 8: true, 9: true, 6: false, 1: false} {
		if m.has(k) != want {
			t.Errorf("has(%d) = %v, want %v", k, !want, want)
		}
	}
}

// Callers of one key at once share one computation; a failed one is not
// kept, and whoever waited on it computes for itself.
func TestMemoShared(t *testing.T) {
	m := memo[string, int]{size: 4}
	ctx := context.Background()
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Go(func() {
			v, err := m.get(ctx, "k", func(context.Context) (int, error) {
				runs.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	for m.len() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others reach the wait
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("8 callers at once computed %d times, want 1", runs.Load())
	}
	for i, v := range got {
		if v != 42 {
			t.Errorf("caller %d got %d", i, v)
		}
	}

	fail := errors.New("its request went away")
	started, finish := make(chan struct{}), make(chan struct{})
	var first error
	wg.Go(func() {
		_, first = m.get(ctx, "bad", func(context.Context) (int, error) {
			close(started)
			<-finish
			return 0, fail
		})
	})
	<-started
	m.mu.Lock()
	asked := m.tick
	m.mu.Unlock()
	var waited int
	var werr error
	wg.Go(func() {
		waited, werr = m.get(ctx, "bad", func(context.Context) (int, error) { return 7, nil })
	})
	// The second caller has found the entry being computed once it has
	// ticked the memo (the failing computation holds the entry until
	// finish), so it is waiting on the failure, not computing first.
	for {
		m.mu.Lock()
		t := m.tick
		m.mu.Unlock()
		if t > asked {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(finish)
	wg.Wait()
	if !errors.Is(first, fail) || werr != nil || waited != 7 {
		t.Errorf("failed computation: first caller %v, the waiting one %d, %v; want the failure, then 7", first, waited, werr)
	}
	if m.has("bad") {
		t.Error("a failed computation is kept")
	}
	if _, err := m.get(ctx, "bad", func(context.Context) (int, error) { return 0, fmt.Errorf("again: %w", fail) }); !errors.Is(err, fail) {
		t.Errorf("after a failure the next caller computed nothing: %v", err)
	}
}
