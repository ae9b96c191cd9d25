package stream

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Defaults for the zero fields of Config.
const (
	// DefaultMaxSubscribers is the default of Config.MaxSubscribers.
	DefaultMaxSubscribers = 32
	// DefaultBuffer is the default of Config.Buffer: about 1 MiB of
	// frames per subscriber, a few seconds of a busy server's sessions
	// for a reader that stalls briefly (a browser tab in the background).
	DefaultBuffer = 2048
)

// keepScratch is the most encoding scratch space kept between batches;
// a larger batch's is let go, so that one burst does not pin its memory.
const keepScratch = 4 << 20

// Config configures a Broadcaster. A zero field means its default.
type Config struct {
	// MaxSubscribers caps the subscribers at once. Default
	// DefaultMaxSubscribers.
	MaxSubscribers int
	// Buffer is how many events wait for one subscriber at most; those
	// that find its buffer full are dropped and counted. Default
	// DefaultBuffer.
	Buffer int
}

// Stats are a Broadcaster's counters.
type Stats struct {
	// Subscribers is how many are subscribed now.
	Subscribers int
	// Sent counts the events handed to subscribers (Subscriber.Take).
	Sent uint64
	// Dropped counts the events that matched a subscriber's filter and
	// found its buffer full.
	Dropped uint64
}

// A Broadcaster fans committed sessions out to subscribers. Its methods
// are safe for concurrent use; Publish calls are serialised.
type Broadcaster struct {
	cfg Config

	mu     sync.Mutex // guards subs and closed
	subs   []*Subscriber
	closed bool

	listening     atomic.Int32 // len(subs), read without the lock
	sent, dropped atomic.Uint64

	// Publish's own state, under pubMu.
	pubMu   sync.Mutex
	enc     wire.Encoder
	scratch []byte // the frames encoded for the batch being published
	frames  []span // per event of that batch: where its frame is in scratch
	targets []*Subscriber
}

// span is where one event's frame is in the scratch space; the zero span
// means not encoded yet (no frame is empty).
type span struct{ start, end int }

// New returns a Broadcaster with no subscribers.
func New(cfg Config) *Broadcaster {
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	return &Broadcaster{cfg: cfg}
}

// MaxSubscribers is the cap of subscribers, defaults applied.
func (b *Broadcaster) MaxSubscribers() int { return b.cfg.MaxSubscribers }

// Listening reports whether anyone is subscribed. The writer asks before
// it keeps a batch's sessions for Publish: with no subscriber, the stream
// costs ingestion this one atomic load per session.
// A nil Broadcaster has no one listening.
func (b *Broadcaster) Listening() bool { return b != nil && b.listening.Load() > 0 }

// Stats returns the counters.
func (b *Broadcaster) Stats() Stats {
	return Stats{Subscribers: int(b.listening.Load()), Sent: b.sent.Load(), Dropped: b.dropped.Load()}
}

// Subscribe adds a subscriber that receives the events f selects. It
// fails with ErrTooMany (wrapped, saying the cap) when the cap is reached,
// and with ErrClosed after Close. Close the subscriber when done.
func (b *Broadcaster) Subscribe(f Filter) (*Subscriber, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if len(b.subs) >= b.cfg.MaxSubscribers {
		return nil, fmt.Errorf("%w: %d subscribed, the most allowed", ErrTooMany, len(b.subs))
	}
	s := &Subscriber{b: b, filter: f, ready: make(chan struct{}, 1), done: make(chan struct{})}
	b.subs = append(b.subs, s)
	b.listening.Store(int32(len(b.subs)))
	return s, nil
}

// remove takes s out of the subscribers.
func (b *Broadcaster) remove(s *Subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = slices.Delete(b.subs, i, i+1) // zeroes the freed slot
			break
		}
	}
	b.listening.Store(int32(len(b.subs)))
}

// Close ends every subscription (their Done channels close) and refuses
// new ones.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	subs := b.subs
	b.subs, b.closed = nil, true
	b.listening.Store(0)
	b.mu.Unlock()
	for _, s := range subs {
		s.end()
	}
}

// Publish hands a committed batch to the subscribers whose filters select
// its events. It never blocks on a subscriber: an event that finds a
// subscriber's buffer full is dropped for that subscriber and counted.
// events are not kept after Publish returns, so the caller may reuse them.
// Publish on a nil Broadcaster does nothing.
func (b *Broadcaster) Publish(events []Event) {
	if len(events) == 0 || !b.Listening() {
		return
	}
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.mu.Lock()
	b.targets = append(b.targets[:0], b.subs...)
	b.mu.Unlock()

	if cap(b.frames) < len(events) {
		b.frames = make([]span, len(events))
	}
	frames := b.frames[:len(events)]
	clear(frames)
	b.scratch = b.scratch[:0]
	var dropped uint64
	for _, s := range b.targets {
		dropped += b.offer(s, events, frames)
	}
	if dropped > 0 {
		b.dropped.Add(dropped)
	}
	clear(b.targets)
	if cap(b.scratch) > keepScratch {
		b.scratch = nil
	}
}

// offer buffers for s the events it selects, encoding each the first time
// a subscriber wants it, and returns how many it dropped.
func (b *Broadcaster) offer(s *Subscriber, events []Event, frames []span) (dropped uint64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	added := false
	for i := range events {
		e := &events[i]
		if !s.filter.Match(&e.Session) {
			continue
		}
		if s.n >= b.cfg.Buffer {
			dropped++
			continue
		}
		f := &frames[i]
		if f.end == 0 {
			f.start = len(b.scratch)
			b.scratch = appendSession(b.scratch, &b.enc, e)
			f.end = len(b.scratch)
		}
		s.buf = append(s.buf, b.scratch[f.start:f.end]...)
		s.n++
		added = true
	}
	s.dropped += dropped
	s.mu.Unlock()
	if added || dropped > 0 {
		s.wake()
	}
	return dropped
}
