package fingerprint

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// BurstGap is the longest interval that still belongs to an opening burst.
// iburst sends its first requests 2 s apart (chrony ntp_core.c, ntpsec
// ntp_proto.c), and the capture adds no more than milliseconds to that.
const BurstGap = 3 * time.Second

// IntervalBuckets is the number of buckets of Sequence.Intervals.
const IntervalBuckets = 20

// Sequence is what a client's requests tell together: the shape of its
// first packets, how often it asks, whether its poll and source port
// change, and which features every request (or any request) had. It is an
// incremental accumulator of fixed size (SequenceSize bytes encoded), so a
// store row can hold one per client: Add folds in one request, in the order
// they were captured, and Merge appends a Sequence of later requests.
//
// It keeps no list of requests and no timestamps but the first and the
// latest: intervals go into a histogram of powers of two, so the median it
// reports is within a factor √2 of the true one; the minimum is exact.
// Counters saturate instead of wrapping.
type Sequence struct {
	Requests uint32 // requests folded in
	// First and Last are the capture times of the first and the latest
	// request, in Unix nanoseconds.
	First, Last int64
	// Burst counts the requests of the opening burst: the first request
	// and each next one captured within BurstGap of the one before, up to
	// the first longer gap (after which BurstDone is set). iburst gives 4
	// (chrony) to 6 or more (ntpsec); chronyd -Q 3 per run; one-shot
	// clients and daemons without iburst 1.
	Burst     uint8
	BurstDone bool
	// MinInterval is the shortest time between two consecutive requests;
	// 0 until there are two.
	MinInterval time.Duration
	// Intervals is a histogram of the times between consecutive requests:
	// bucket 0 counts those under 1 s, bucket i (1 ≤ i < IntervalBuckets-1)
	// those of [2^(i-1), 2^i) s, and the last bucket every longer one
	// (from 2^18 s, about three days).
	Intervals [IntervalBuckets]uint16
	// The advertised poll (log2 s): of the first and latest request, the
	// smallest and largest seen, and how often it changed from one request
	// to the next.
	FirstPoll, LastPoll, PollMin, PollMax int8
	PollChanges                           uint16
	// Source ports of the first and latest request, and how many requests
	// came from another port than the request before them. chrony opens a
	// new socket for every request; one-shot clients do for every run;
	// ntpd, OpenNTPD and busybox keep theirs.
	FirstPort, LastPort uint16
	PortChanges         uint32
	// AllFlags holds the flags every request had, AnyFlags those at least
	// one had.
	AllFlags, AnyFlags Flags
	// Bit sets of what was seen: bit k of Transmits for TransmitKind k,
	// of Versions for version k, of Modes for mode k.
	Transmits, Versions, Modes uint8
	// MinFractionZeros is the fewest trailing zero bits among the
	// transmit timestamps that were clock readings; 32 until one is seen.
	MinFractionZeros uint8
}

// Add folds in one request: its features, its UDP source port and its
// capture time. Requests must come in the order they were captured; one
// captured before the latest counts as an interval of 0.
func (s *Sequence) Add(f Features, srcPort uint16, captured time.Time) {
	at := captured.UnixNano()
	if s.Requests == 0 {
		*s = Sequence{
			Requests: 1, First: at, Last: at, Burst: 1,
			FirstPoll: f.Poll, LastPoll: f.Poll, PollMin: f.Poll, PollMax: f.Poll,
			FirstPort: srcPort, LastPort: srcPort,
			AllFlags: f.Flags, AnyFlags: f.Flags,
			MinFractionZeros: 32,
		}
		s.addMasks(f)
		return
	}
	s.link(time.Duration(max(at-s.Last, 0)), 1, false, f.Poll, srcPort)
	s.Requests = satAdd32(s.Requests, 1)
	s.Last = max(s.Last, at)
	s.LastPoll, s.LastPort = f.Poll, srcPort
	s.PollMin, s.PollMax = min(s.PollMin, f.Poll), max(s.PollMax, f.Poll)
	s.AllFlags &= f.Flags
	s.AnyFlags |= f.Flags
	s.addMasks(f)
}

// link accounts for the interval d from s's latest request to the next
// one (of poll and port): the interval histogram and minimum, the opening
// burst (which the next part continues with burst requests, or closes when
// burstDone), and the poll and port changes.
func (s *Sequence) link(d time.Duration, burst uint8, burstDone bool, poll int8, port uint16) {
	s.Intervals[intervalBucket(d)] = satAdd16(s.Intervals[intervalBucket(d)], 1)
	if s.Requests == 1 || d < s.MinInterval {
		s.MinInterval = d
	}
	if !s.BurstDone {
		if d <= BurstGap {
			s.Burst = uint8(min(int(s.Burst)+int(burst), math.MaxUint8))
			s.BurstDone = burstDone
		} else {
			s.BurstDone = true
		}
	}
	if poll != s.LastPoll {
		s.PollChanges = satAdd16(s.PollChanges, 1)
	}
	if port != s.LastPort {
		s.PortChanges = satAdd32(s.PortChanges, 1)
	}
}

func (s *Sequence) addMasks(f Features) {
	s.Transmits |= 1 << (f.Transmit & 7)
	s.Versions |= 1 << (f.Version & 7)
	s.Modes |= 1 << (f.Mode & 7)
	if f.Transmit == TransmitClock || f.Transmit == TransmitClockNanos {
		s.MinFractionZeros = min(s.MinFractionZeros, f.FractionZeros)
	}
}

// Merge appends later, a Sequence of requests captured after all of s's,
// as if each of them had been added to s in turn. Only the interval that
// joins the two is new; everything else adds up. If later's requests are
// not all after s's, the counts and flags are still right but the joining
// interval is taken as 0.
func (s *Sequence) Merge(later Sequence) {
	switch {
	case later.Requests == 0:
		return
	case s.Requests == 0:
		*s = later
		return
	}
	s.link(time.Duration(max(later.First-s.Last, 0)), later.Burst, later.BurstDone, later.FirstPoll, later.FirstPort)
	s.Requests = satAdd32(s.Requests, later.Requests)
	s.Last = max(s.Last, later.Last)
	for i, n := range later.Intervals {
		s.Intervals[i] = satAdd16(s.Intervals[i], n)
	}
	if later.Requests > 1 {
		s.MinInterval = min(s.MinInterval, later.MinInterval)
	}
	s.LastPoll, s.LastPort = later.LastPoll, later.LastPort
	s.PollMin, s.PollMax = min(s.PollMin, later.PollMin), max(s.PollMax, later.PollMax)
	s.PollChanges = satAdd16(s.PollChanges, later.PollChanges)
	s.PortChanges = satAdd32(s.PortChanges, later.PortChanges)
	s.AllFlags &= later.AllFlags
	s.AnyFlags |= later.AnyFlags
	s.Transmits |= later.Transmits
	s.Versions |= later.Versions
	s.Modes |= later.Modes
	s.MinFractionZeros = min(s.MinFractionZeros, later.MinFractionZeros)
}

// MedianInterval returns the lower median of the times between
// consecutive requests, read from the histogram: the geometric middle of
// the bucket it falls in (0.5 s for the first bucket, the lower bound for
// the last). It is 0 when there are fewer than two requests.
func (s *Sequence) MedianInterval() time.Duration {
	var n int
	for _, c := range s.Intervals {
		n += int(c)
	}
	if n == 0 {
		return 0
	}
	seen := 0
	for i, c := range s.Intervals {
		seen += int(c)
		if 2*seen < n {
			continue
		}
		switch i {
		case 0:
			return time.Second / 2
		case IntervalBuckets - 1:
			return time.Duration(1<<(i-1)) * time.Second
		}
		return time.Duration(float64(time.Second) * math.Exp2(float64(i)-0.5))
	}
	return 0 // not reached: the loop ends on the bucket of the median
}

// intervalBucket returns the histogram bucket of d.
func intervalBucket(d time.Duration) int {
	if d < time.Second {
		return 0
	}
	b := 1
	for s := d / time.Second; s > 1 && b < IntervalBuckets-1; s >>= 1 {
		b++
	}
	return b
}

func satAdd16(a, b uint16) uint16 { return uint16(min(uint32(a)+uint32(b), math.MaxUint16)) }
func satAdd32(a, b uint32) uint32 { return uint32(min(uint64(a)+uint64(b), math.MaxUint32)) }

// SequenceSize is the length of a Sequence's binary encoding: the sizes
// of its fields added up (a test checks it against binary.Size).
const SequenceSize = 92

// MarshalBinary encodes s in SequenceSize bytes (big-endian, the fields in
// order), for a store column.
func (s Sequence) MarshalBinary() ([]byte, error) {
	return binary.Append(make([]byte, 0, SequenceSize), binary.BigEndian, s)
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (s *Sequence) UnmarshalBinary(b []byte) error {
	if len(b) != SequenceSize {
		return fmt.Errorf("%w: sequence of %d bytes, want %d", ErrEncoding, len(b), SequenceSize)
	}
	var v Sequence
	if _, err := binary.Decode(b, binary.BigEndian, &v); err != nil {
		return fmt.Errorf("%w: sequence: %w", ErrEncoding, err)
	}
	*s = v
	return nil
}
