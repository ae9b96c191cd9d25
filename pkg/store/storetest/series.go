package storetest

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// SeriesSessions returns n sessions over clients distinct addresses whose
// capture times are spread at random over [from, from+span) and shuffled,
// so that they arrive out of order, on the interfaces eth0 and eth1. Their
// timings follow shapes that percentile sketches get wrong when they are
// too coarse: server processing is log-normal (median 20 µs), wire time
// bimodal (half near 60 µs, half near 4 ms: a fast and a slow path) and
// latency log-normal with a wide spread. Requests use every NTP version
// from 1 to 5, kiss-o'-death answers RATE, DENY and RSTR.
func SeriesSessions(n, clients int, from time.Time, span time.Duration, seed uint64) []session.Session {
	g := NewGenerator(clients, seed)
	rng := rand.New(rand.NewPCG(seed^0x5eed, seed))
	logNormal := func(median, sigma float64) float64 {
		return min(median*math.Exp(sigma*rng.NormFloat64()), session.MaxMetric.Seconds())
	}
	codes := []string{"RATE", "DENY", "RSTR"}
	ss := make([]session.Session, n)
	for i := range ss {
		s := &ss[i]
		g.Next(s)
		s.Timestamp = from.Add(time.Duration(rng.Int64N(int64(span))))
		if rng.IntN(3) == 0 {
			s.Interface = "eth1"
		}
		if !s.IsRequest() {
			continue
		}
		s.Version = uint8(1 + rng.IntN(5))
		if s.KoD != "" {
			s.KoD = codes[rng.IntN(len(codes))]
			s.ReferenceID = s.KoD
		}
		if !s.Answered {
			continue
		}
		s.Processing = logNormal(20e-6, 0.8)
		if rng.IntN(2) == 0 {
			s.Total = logNormal(60e-6, 0.3)
		} else {
			s.Total = logNormal(4e-3, 0.3)
		}
		s.Latency = logNormal(300e-6, 1.2)
	}
	return ss
}

// Tally counts sessions per interface and minute of capture time the
// simplest way there is, exact sets and every value kept, for tests to hold
// the store's traffic series to.
type Tally struct {
	Minutes map[TallyKey]*TallyBucket
}

// TallyKey is one interface's minute.
type TallyKey struct {
	Interface string
	Minute    time.Time // UTC, on the minute
}

// TallyBucket is the exact traffic of a span of time.
type TallyBucket struct {
	Requests, Answered, Unanswered, KoD int64
	KoDCodes                            map[string]int64
	Versions                            map[int]int64 // requests by version
	Modes                               map[int]int64 // other-mode packets by mode
	Clients                             map[netip.Addr]bool
	Processing, Wire, Latency           []float64
}

func newTallyBucket() *TallyBucket {
	return &TallyBucket{KoDCodes: map[string]int64{}, Versions: map[int]int64{}, Modes: map[int]int64{}, Clients: map[netip.Addr]bool{}}
}

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{Minutes: make(map[TallyKey]*TallyBucket)} }

// Add counts s.
func (t *Tally) Add(s *session.Session) {
	k := TallyKey{s.Interface, s.Timestamp.UTC().Truncate(time.Minute)}
	b := t.Minutes[k]
	if b == nil {
		b = newTallyBucket()
		t.Minutes[k] = b
	}
	b.Clients[s.ClientIP.Unmap()] = true
	if !s.IsRequest() {
		b.Modes[int(s.Mode)]++
		return
	}
	b.Requests++
	b.Versions[int(s.Version)]++
	if !s.Answered {
		b.Unanswered++
		return
	}
	b.Answered++
	if s.KoD != "" {
		b.KoD++
		b.KoDCodes[s.KoD]++
	}
	b.Processing = append(b.Processing, s.Processing)
	b.Wire = append(b.Wire, s.Total)
	if s.LatencyValid {
		b.Latency = append(b.Latency, s.Latency)
	}
}

// Range merges the minutes of iface in [from, to).
func (t *Tally) Range(iface string, from, to time.Time) *TallyBucket {
	out := newTallyBucket()
	for k, b := range t.Minutes {
		if k.Interface != iface || k.Minute.Before(from) || !k.Minute.Before(to) {
			continue
		}
		out.Requests += b.Requests
		out.Answered += b.Answered
		out.Unanswered += b.Unanswered
		out.KoD += b.KoD
		for c, n := range b.KoDCodes {
			out.KoDCodes[c] += n
		}
		for v, n := range b.Versions {
			out.Versions[v] += n
		}
		for m, n := range b.Modes {
			out.Modes[m] += n
		}
		for a := range b.Clients {
			out.Clients[a] = true
		}
		out.Processing = append(out.Processing, b.Processing...)
		out.Wire = append(out.Wire, b.Wire...)
		out.Latency = append(out.Latency, b.Latency...)
	}
	return out
}

// Interfaces are the interfaces the tally has seen, in name order.
func (t *Tally) Interfaces() []string {
	var out []string
	for k := range t.Minutes {
		if !slices.Contains(out, k.Interface) {
			out = append(out, k.Interface)
		}
	}
	slices.Sort(out)
	return out
}

// Percentile is the nearest-rank q-quantile (0 < q ≤ 1) of v, which it
// does not change; ok is false when v is empty.
func Percentile(v []float64, q float64) (p float64, ok bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))], true
}
