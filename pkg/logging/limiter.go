package logging

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A Limiter rate-limits log messages of one kind: it lets Burst of them
// through per Window and holds back the rest, counting them, so that the
// next message it lets through can say how many were left out.
//
// A window opens with the first message after the previous one closed, so
// that with Burst 1 messages are at least Window apart. The count of held
// back messages runs across windows until a message gets through.
//
// The zero value lets every message through. A Limiter is safe for
// concurrent use; it must not be copied after first use.
type Limiter struct {
	// Burst is how many messages pass per window; 0 means 1.
	Burst int
	// Window is how long a window lasts; 0 lets every message through.
	Window time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu         sync.Mutex
	start      time.Time // when the current window opened
	n          int       // messages let through in it
	suppressed int       // held back since the last one let through
}

// Allow reports whether a message may be logged now and, when it may, how
// many were held back since the previous one that was.
func (l *Limiter) Allow() (suppressed int, ok bool) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Sub(l.start) >= l.Window {
		l.start, l.n = t, 0
	}
	if l.n >= max(l.Burst, 1) {
		l.suppressed++
		return 0, false
	}
	l.n++
	suppressed, l.suppressed = l.suppressed, 0
	return suppressed, true
}

// Log writes a message to log, as log.Log does, when Allow lets it through;
// a message after held back ones carries their count under KeySuppressed.
func (l *Limiter) Log(ctx context.Context, log *slog.Logger, level slog.Level, msg string, args ...any) {
	n, ok := l.Allow()
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, KeySuppressed, n)
	}
	log.Log(ctx, level, msg, args...)
}
