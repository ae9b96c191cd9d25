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
	// DefaultBuffer is the default of Config.Buffer: a few seconds of a
	// busy server's sessions for a reader that stalls briefly (a browser
	// tab in the background).
	DefaultBuffer = 2048
)

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

	mu       sync.Mutex // guards closed and the writes of audience
	closed   bool
	audience atomic.Pointer[audience] // read by Publish without the lock

	listening     atomic.Int32 // the audience's subscribers
	sent, dropped atomic.Uint64

	// Publish's own state, under pubMu.
	pubMu   sync.Mutex
	enc     wire.Encoder
	scratch []byte   // where a frame is encoded before it gets its own copy
	frames  [][]byte // per event of the batch being published: its frame, once encoded
	matched [][]byte // the frames one filter selects from that batch
}

// An audience is the subscribers at one moment, grouped by filter so that
// Publish checks each distinct filter once per event however many
// subscribers share it (a dashboard's live view opened in 32 tabs is one
// check). It is never changed: Subscribe and Close replace it.
type audience struct {
	groups []group
}

// A group is the subscribers of one filter.
type group struct {
	key    filterKey
	filter Filter
	subs   []*Subscriber
}

// with returns the audience plus s.
func (a *audience) with(s *Subscriber) *audience {
	k := s.filter.key()
	n := &audience{groups: slices.Clone(a.groups)}
	for i := range n.groups {
		if g := &n.groups[i]; g.key == k {
			g.subs = append(slices.Clip(g.subs), s)
			return n
		}
	}
	n.groups = append(n.groups, group{key: k, filter: s.filter, subs: []*Subscriber{s}})
	return n
}

// without returns the audience less s.
func (a *audience) without(s *Subscriber) *audience {
	n := &audience{groups: make([]group, 0, len(a.groups))}
	for _, g := range a.groups {
		if i := slices.Index(g.subs, s); i >= 0 {
			g.subs = slices.Delete(slices.Clone(g.subs), i, i+1)
		}
		if len(g.subs) > 0 {
			n.groups = append(n.groups, g)
		}
	}
	return n
}

// size is how many subscribers the audience has.
func (a *audience) size() int {
	n := 0
	for _, g := range a.groups {
		n += len(g.subs)
	}
	return n
}

// New returns a Broadcaster with no subscribers.
func New(cfg Config) *Broadcaster {
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	b := &Broadcaster{cfg: cfg}
	b.audience.Store(&audience{})
	return b
}

// MaxSubscribers is the cap of subscribers, defaults applied.
func (b *Broadcaster) MaxSubscribers() int { return b.cfg.MaxSubscribers }

// Listening reports whether anyone is subscribed. A Batch asks before it
// looks at a session: with no subscriber, the stream costs ingestion this
// one atomic load per session.
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
	a := b.audience.Load()
	if n := a.size(); n >= b.cfg.MaxSubscribers {
		return nil, fmt.Errorf("%w: %d subscribed, the most allowed", ErrTooMany, n)
	}
	s := &Subscriber{b: b, filter: f, ready: make(chan struct{}, 1), done: make(chan struct{})}
	b.replace(a.with(s))
	return s, nil
}

// remove takes s out of the subscribers.
func (b *Broadcaster) remove(s *Subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replace(b.audience.Load().without(s))
}

// replace makes a the audience; b.mu is held.
func (b *Broadcaster) replace(a *audience) {
	b.audience.Store(a)
	b.listening.Store(int32(a.size()))
}

// Close ends every subscription (their Done channels close) and refuses
// new ones.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	a := b.audience.Load()
	b.closed = true
	b.replace(&audience{})
	b.mu.Unlock()
	for _, g := range a.groups {
		for _, s := range g.subs {
			s.end()
		}
	}
}

// Publish hands a committed batch to the subscribers whose filters select
// its sessions. It never blocks on a subscriber: an event that finds a
// subscriber's queue full is dropped for that subscriber and counted, as
// are those x counted without keeping. Publish leaves x as it was; Reset it
// for the next batch. Publish of a Batch of a nil Broadcaster does nothing.
//
// Its cost is one check per kept event and distinct filter, one encoding
// of each event some subscriber has room for, and per subscriber a
// reference to each frame it is offered: the frames are shared, never
// copied here. The copy into a response buffer is made by Take, on the
// subscriber's own goroutine.
func (b *Broadcaster) Publish(x *Batch) {
	if x.a == nil {
		return
	}
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	events := x.events
	if cap(b.frames) < len(events) {
		b.frames = make([][]byte, len(events))
	}
	frames := b.frames[:len(events)]
	var dropped uint64
	for gi := range x.a.groups {
		g := &x.a.groups[gi]
		// Events past the room of the group's emptiest queue would be
		// dropped by every subscriber: they are counted, not encoded.
		room := 0
		for _, s := range g.subs {
			room = max(room, s.room(b.cfg.Buffer))
		}
		matched := b.matched[:0]
		over, seen := x.over[gi], 0
		// The group's first kept[gi] matches are its own; later kept
		// events that it also matches were kept for another group and are
		// in over already.
		for i := 0; i < len(events) && seen < x.kept[gi]; i++ {
			e := &events[i]
			if !g.filter.Match(&e.Session) {
				continue
			}
			seen++
			if len(matched) == room {
				over++
				continue
			}
			if frames[i] == nil {
				frames[i] = b.frame(e)
			}
			matched = append(matched, frames[i])
		}
		if len(matched) > 0 || over > 0 {
			for _, s := range g.subs {
				dropped += s.offer(matched, over, b.cfg.Buffer)
			}
		}
		clear(matched)
		b.matched = matched[:0]
	}
	if dropped > 0 {
		b.dropped.Add(dropped)
	}
	// Neither slice may keep a frame alive once its subscribers took it.
	clear(frames)
}

// frame returns the session frame of e in memory of its own, shared by
// every subscriber it is offered to. One allocation per event, not one
// block per batch: a block would be kept whole by the one frame of it a
// narrow filter's subscriber still holds.
func (b *Broadcaster) frame(e *Event) []byte {
	b.scratch = appendSession(b.scratch[:0], &b.enc, e)
	return slices.Clone(b.scratch)
}
