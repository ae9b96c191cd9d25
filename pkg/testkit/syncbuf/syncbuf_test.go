package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Concurrent writers and readers: run with -race. Every line written is
// there afterwards, whole.
func TestConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte(strings.Repeat(string(rune('a'+w)), 8) + "\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if len(l) != 8 || strings.Count(l, l[:1]) != 8 {
			t.Fatalf("torn line %q", l)
		}
	}
}
