package stream

import "sync"

// maxTake is about the most bytes of frames one Take returns; the rest
// waits for the next. It bounds the response buffer each subscriber's
// writer keeps, which would otherwise grow to a full buffer of frames for
// every subscriber that falls behind.
const maxTake = 64 << 10

// A Subscriber is one live stream: a bounded queue of frames that Publish
// fills and the subscriber's writer empties with Take. The frames are
// shared with the other subscribers they were offered to.
type Subscriber struct {
	b      *Broadcaster
	filter Filter
	ready  chan struct{} // one token: frames or a drop count wait
	done   chan struct{} // closed by Close or Broadcaster.Close
	once   sync.Once

	mu      sync.Mutex
	queue   [][]byte // the frames waiting, in commit order; never modified
	dropped uint64   // events lost since the queue was last emptied
	closed  bool
}

// Ready receives when frames wait to be taken.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Done is closed when the subscription ends: after Close, or when the
// Broadcaster closes.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Take appends to spare[:0] the frames waiting, in commit order, up to
// about 64 KiB, and returns it; spare may be the slice an earlier Take
// returned, once written out, so a steady stream allocates nothing. When
// more waits, Ready receives again. When Take empties the queue and events
// were dropped meanwhile, a dropped frame saying how many follows the
// frames: the events it names came after them. The result is empty when
// nothing waits.
func (s *Subscriber) Take(spare []byte) []byte {
	out := spare[:0]
	s.mu.Lock()
	n := 0
	for n < len(s.queue) && (n == 0 || len(out)+len(s.queue[n]) <= maxTake) {
		out = append(out, s.queue[n]...)
		n++
	}
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:]) // the taken frames are not kept alive by this queue
	s.queue = s.queue[:rest]
	var dropped uint64
	if rest == 0 {
		dropped, s.dropped = s.dropped, 0
	}
	s.mu.Unlock()
	if n > 0 {
		s.b.sent.Add(uint64(n))
	}
	if dropped > 0 {
		out = AppendDropped(out, dropped)
	}
	if rest > 0 {
		s.wake()
	}
	return out
}

// Close ends the subscription and frees its place under the cap. It is
// safe to call more than once.
func (s *Subscriber) Close() {
	s.b.remove(s)
	s.end()
}

func (s *Subscriber) end() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.queue = nil
		s.mu.Unlock()
		close(s.done)
	})
}

// room is how many more events fit in the queue under limit.
func (s *Subscriber) room(limit int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	return max(limit-len(s.queue), 0)
}

// offer queues the frames that fit under limit and returns how many
// events it dropped: the frames that did not fit and the over events that
// came after them without a frame (no queue had room for them). It tells
// the writer when anything changed.
func (s *Subscriber) offer(frames [][]byte, over uint64, limit int) (dropped uint64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	fit := min(max(limit-len(s.queue), 0), len(frames))
	s.queue = append(s.queue, frames[:fit]...)
	dropped = uint64(len(frames)-fit) + over
	s.dropped += dropped
	s.mu.Unlock()
	s.wake()
	return dropped
}

// wake tells the writer that frames wait, without blocking: one token is
// enough, since a Take that leaves frames behind wakes it again.
func (s *Subscriber) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}
