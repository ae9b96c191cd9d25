package stream

import (
	"slices"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// A Batch gathers, while the writer builds a batch for the store, the
// sessions its subscribers will be offered once it commits. It keeps a
// session only when some filter selects it and that filter's subscribers
// could still take it: a queue holds at most Config.Buffer events, so of
// the sessions one filter selects in a batch only the first Buffer can be
// delivered, and the rest are counted as dropped without being kept. A
// batch of 50,000 sessions under unfiltered subscribers therefore holds
// 2,048 of them, not 50,000.
//
// A Batch belongs to the subscribers of the moment its first session came
// (one who subscribes later gets the batches after it). It is not safe for
// concurrent use.
type Batch struct {
	b *Broadcaster
	a *audience // nil until the first session with someone listening

	kept   []int    // per group of a: sessions selected and kept
	over   []uint64 // per group of a: sessions selected past Buffer, counted only
	events []Event
}

// NewBatch returns an empty Batch for b's subscribers. A Batch of a nil
// Broadcaster keeps nothing.
func (b *Broadcaster) NewBatch() *Batch { return &Batch{b: b} }

// Add offers the session seq of worker workerID to the batch, which copies
// it if it will be wanted.
func (x *Batch) Add(workerID string, seq uint64, s *session.Session) {
	if x.a == nil {
		if !x.b.Listening() {
			return
		}
		x.a = x.b.audience.Load()
		n := len(x.a.groups)
		x.kept = slices.Grow(x.kept[:0], n)[:n]
		x.over = slices.Grow(x.over[:0], n)[:n]
		clear(x.kept)
		clear(x.over)
	}
	keep := false
	for i := range x.a.groups {
		if !x.a.groups[i].filter.Match(s) {
			continue
		}
		if x.kept[i] < x.b.cfg.Buffer {
			x.kept[i]++
			keep = true
		} else {
			x.over[i]++
		}
	}
	if keep {
		x.events = append(x.events, Event{WorkerID: workerID, Seq: seq, Session: *s})
	}
}

// Reset empties the batch for the next one, keeping its memory but no
// session's.
func (x *Batch) Reset() {
	x.a = nil
	clear(x.events) // no strings of old sessions kept alive
	x.events = x.events[:0]
}
