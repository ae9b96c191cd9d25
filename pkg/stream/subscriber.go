package stream

import "sync"

// A Subscriber is one live stream: a bounded buffer of frames that Publish
// fills and the subscriber's writer empties with Take.
type Subscriber struct {
	b      *Broadcaster
	filter Filter
	ready  chan struct{} // one token: frames or a drop count wait
	done   chan struct{} // closed by Close or Broadcaster.Close
	once   sync.Once

	mu      sync.Mutex
	buf     []byte // the frames of n events, in commit order
	n       int
	dropped uint64 // events lost since the last Take
	closed  bool
}

// Ready receives when frames wait to be taken.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Done is closed when the subscription ends: after Close, or when the
// Broadcaster closes.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Take returns the frames buffered since the last Take, in commit order,
// and after them, when events were dropped meanwhile, a dropped frame
// saying how many: the events it names came after the ones returned. It
// reuses spare (a slice an earlier Take returned, once written out) for
// the next frames, so a steady stream allocates nothing. The result is
// empty when nothing waits.
func (s *Subscriber) Take(spare []byte) []byte {
	s.mu.Lock()
	out, n, dropped := s.buf, s.n, s.dropped
	s.buf, s.n, s.dropped = spare[:0], 0, 0
	s.mu.Unlock()
	if n > 0 {
		s.b.sent.Add(uint64(n))
	}
	if dropped > 0 {
		out = AppendDropped(out, dropped)
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
		s.buf = nil
		s.mu.Unlock()
		close(s.done)
	})
}

// wake tells the writer that frames wait, without blocking: one token is
// enough, Take collects everything.
func (s *Subscriber) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}
