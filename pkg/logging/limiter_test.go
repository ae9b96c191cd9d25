package logging

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// clock is a hand-moved clock for a Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	type step struct {
		after          time.Duration // since the start of the test
		wantOK         bool
		wantSuppressed int
	}
	tests := []struct {
		name   string
		burst  int
		window time.Duration
		steps  []step
	}{
		{
			// The sender's warnings: one per 30 seconds.
			name: "one per window", burst: 1, window: 30 * time.Second,
			steps: []step{
				{0, true, 0},
				{time.Second, false, 0},
				{29 * time.Second, false, 0},
				{30 * time.Second, true, 2},
				{31 * time.Second, false, 0},
				{61 * time.Second, true, 1},
			},
		},
		{
			name: "zero burst is one", burst: 0, window: time.Minute,
			steps: []step{
				{0, true, 0},
				{59 * time.Second, false, 0},
				{time.Minute, true, 1},
			},
		},
		{
			// The collector's bad lines: a burst, then silence until the
			// window is over; the count spans windows in which nothing
			// got through.
			name: "burst per window", burst: 3, window: 10 * time.Second,
			steps: []step{
				{0, true, 0},
				{1 * time.Second, true, 0},
				{2 * time.Second, true, 0},
				{3 * time.Second, false, 0},
				{9 * time.Second, false, 0},
				{10 * time.Second, true, 2},
				{11 * time.Second, true, 0},
				{12 * time.Second, true, 0},
				{13 * time.Second, false, 0},
				{40 * time.Second, true, 1},
			},
		},
		{
			name: "the window opens at the first message after the last one closed", burst: 2, window: 10 * time.Second,
			steps: []step{
				{0, true, 0},
				{25 * time.Second, true, 0},
				{26 * time.Second, true, 0},
				{34 * time.Second, false, 0},
				{35 * time.Second, true, 1},
			},
		},
		{
			name: "zero window lets everything through", burst: 1, window: 0,
			steps: []step{{0, true, 0}, {0, true, 0}, {time.Nanosecond, true, 0}},
		},
	}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{}
			l := Limiter{Burst: tt.burst, Window: tt.window, Now: c.now}
			for _, st := range tt.steps {
				c.t = t0.Add(st.after)
				n, ok := l.Allow()
				if ok != st.wantOK || (ok && n != st.wantSuppressed) {
					t.Fatalf("at +%v: Allow = %d, %v; want %d, %v", st.after, n, ok, st.wantSuppressed, st.wantOK)
				}
			}
		})
	}
}

// TestLimiterLog checks what reaches the handler: the messages let through,
// the count of held back ones on the first one after them, and nothing else.
func TestLimiterLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	l := Limiter{Burst: 1, Window: time.Minute, Now: c.now}
	ctx := context.Background()
	for i := range 4 {
		l.Log(ctx, log, slog.LevelWarn, "bad line", "n", i)
	}
	c.t = c.t.Add(time.Minute)
	l.Log(ctx, log, slog.LevelError, "bad line", "n", 4)
	want := "level=WARN msg=\"bad line\" n=0\n" +
		"level=ERROR msg=\"bad line\" n=4 " + KeySuppressed + "=3\n"
	if got := buf.String(); got != want {
		t.Errorf("logged:\n%s\nwant:\n%s", got, want)
	}
}

// TestLimiterConcurrent shares one Limiter between goroutines, as the
// collector's connections share theirs: every message is either let through
// or counted, once.
func TestLimiterConcurrent(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	l := Limiter{Burst: 5, Window: time.Hour, Now: c.now}
	const goroutines, each = 8, 1000
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		allowed    int
		suppressed int
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, ok := l.Allow()
				mu.Lock()
				if ok {
					allowed++
					suppressed += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	c.t = c.t.Add(time.Hour) // read out the count that is left
	n, ok := l.Allow()
	if !ok {
		t.Fatal("no message let through after the window")
	}
	if allowed != 5 || suppressed+n != goroutines*each-5 {
		t.Errorf("let through %d (want 5), counted %d held back (want %d)", allowed, suppressed+n, goroutines*each-5)
	}
}
