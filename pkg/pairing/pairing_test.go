package pairing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

var (
	t0      = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	server4 = netip.MustParseAddr("192.0.2.1")
	clientA = netip.MustParseAddr("198.51.100.10")
	clientB = netip.MustParseAddr("198.51.100.11")
	server6 = netip.MustParseAddr("2001:db8::1")
	client6 = netip.MustParseAddr("2001:db8::100")
)

// at returns t0 plus ms milliseconds.
func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// ntpAt returns the NTP timestamp of t0 plus ms milliseconds.
func ntpAt(ms float64) ntp.Time { return ntp.FromTime(at(ms)) }

type event struct {
	p      *Packet
	expire *time.Time // call Expire instead of Add
	all    bool       // call ExpireAll
}

func req(ms float64, client netip.Addr, cport uint16, srv netip.Addr, tx ntp.Time) event {
	return event{p: &Packet{
		Time: at(ms), Src: client, SrcPort: cport, Dst: srv, DstPort: 123,
		NTP: &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Poll: 6, Transmit: tx, Length: 48},
	}}
}

func resp(ms float64, srv netip.Addr, client netip.Addr, cport uint16, org, rx, tx ntp.Time) event {
	return event{p: &Packet{
		Time: at(ms), Src: srv, SrcPort: 123, Dst: client, DstPort: cport,
		NTP: &ntp.Packet{
			Version: 4, Mode: ntp.ModeServer, Poll: 6, Stratum: 2, Precision: -24,
			RootDelay: 0x00008000, RootDispersion: 0x00000800,
			ReferenceID: [4]byte{203, 0, 113, 5},
			Reference:   ntpAt(-60000), Originate: org, Receive: rx, Transmit: tx, Length: 48,
		},
	}}
}

func kod(ev event, code string) event {
	ev.p.NTP.Stratum = 0
	copy(ev.p.NTP.ReferenceID[:], code)
	return ev
}

func other(ms float64, client netip.Addr, mode uint8, length int) event {
	return event{p: &Packet{
		Time: at(ms), Src: client, SrcPort: 40000, Dst: server4, DstPort: 123,
		NTP: &ntp.Packet{Version: 2, Mode: mode, Length: length},
	}}
}

func expireAt(ms float64) event { tm := at(ms); return event{expire: &tm} }

var expireAll = event{all: true}

// want describes an expected session; floats are checked to 1 µs.
type want struct {
	client     netip.Addr
	cport      uint16
	server     netip.Addr
	mode       uint8
	answered   bool
	c1         float64 // ms after t0
	latency    float64 // ms; NaN = invalid
	processing float64 // ms
	total      float64 // ms
	kod        string
	refid      string
	v1         bool // an NTPv1 request: mode 0
}

var noLatency = math.NaN()

func run(t *testing.T, cfg Config, events []event) ([]session.Session, *Table) {
	t.Helper()
	var got []session.Session
	cfg.Interface = "eth0"
	tab := New(cfg, func(s *session.Session) { got = append(got, *s) })
	for _, ev := range events {
		switch {
		case ev.all:
			tab.ExpireAll()
		case ev.expire != nil:
			tab.Expire(*ev.expire)
		default:
			tab.Add(ev.p)
		}
	}
	return got, tab
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func check(t *testing.T, got []session.Session, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, s := range got {
			t.Logf("got %+v", s)
		}
		t.Fatalf("got %d sessions, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		s := got[i]
		if s.ClientIP != w.client || s.ClientPort != w.cport || s.ServerIP != w.server || s.ServerPort != 123 {
			t.Errorf("session %d: %v:%d → %v:%d, want %v:%d → %v:123", i, s.ClientIP, s.ClientPort, s.ServerIP, s.ServerPort, w.client, w.cport, w.server)
		}
		if s.Interface != "eth0" {
			t.Errorf("session %d: interface %q", i, s.Interface)
		}
		wantMode := w.mode
		if wantMode == 0 && !w.v1 {
			wantMode = ntp.ModeClient
		}
		if s.Mode != wantMode {
			t.Errorf("session %d: mode %d, want %d", i, s.Mode, wantMode)
		}
		if s.Answered != w.answered {
			t.Errorf("session %d: answered %v, want %v", i, s.Answered, w.answered)
		}
		if !s.Timestamp.Equal(at(w.c1)) || s.Timestamp.Location() != time.UTC {
			t.Errorf("session %d: timestamp %v, want %v", i, s.Timestamp, at(w.c1))
		}
		if s.KoD != w.kod {
			t.Errorf("session %d: kod %q, want %q", i, s.KoD, w.kod)
		}
		if !w.answered {
			if s.Leap != "" || s.ReferenceID != "" || s.ReceiveTime != 0 || s.Total != 0 || s.LatencyValid {
				t.Errorf("session %d: unanswered session carries response fields: %+v", i, s)
			}
			continue
		}
		if s.ReferenceID != w.refid {
			t.Errorf("session %d: refid %q, want %q", i, s.ReferenceID, w.refid)
		}
		if math.IsNaN(w.latency) {
			if s.LatencyValid {
				t.Errorf("session %d: latency %v valid, want null", i, s.Latency)
			}
		} else if !s.LatencyValid || !near(s.Latency, w.latency/1e3) {
			t.Errorf("session %d: latency %v (valid %v), want %v ms", i, s.Latency, s.LatencyValid, w.latency)
		}
		if !near(s.Processing, w.processing/1e3) {
			t.Errorf("session %d: processing %v, want %v ms", i, s.Processing, w.processing)
		}
		if !near(s.Total, w.total/1e3) {
			t.Errorf("session %d: total %v, want %v ms", i, s.Total, w.total)
		}
	}
}

func TestPairing(t *testing.T) {
	// A client clock 3 ms behind: T1 = c1 − 3 ms.
	tx1, tx2 := ntpAt(-3), ntpAt(997)
	random := ntp.Time(0x9c3a5e7112345678) // chrony's random transmit bits
	tests := []struct {
		name   string
		cfg    Config
		events []event
		want   []want
		count  Counters
	}{{
		name: "answered",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			resp(0.5, server4, clientA, 40001, tx1, ntpAt(0.1), ntpAt(0.2)),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, latency: 3.1, processing: 0.1, total: 0.5, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1},
	}, {
		name: "reordered responses",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(1, clientB, 40002, server4, tx2),
			resp(2, server4, clientB, 40002, tx2, ntpAt(1.5), ntpAt(1.6)),
			resp(3, server4, clientA, 40001, tx1, ntpAt(0.5), ntpAt(2.5)),
		},
		want: []want{
			{client: clientB, cport: 40002, server: server4, answered: true, c1: 1, latency: -995.5, processing: 0.1, total: 1, refid: "203.0.113.5"},
			{client: clientA, cport: 40001, server: server4, answered: true, c1: 0, latency: 3.5, processing: 2, total: 3, refid: "203.0.113.5"},
		},
		count: Counters{Requests: 2, Responses: 2, Answered: 2},
	}, {
		name: "retransmit with a new transmit is a second request",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(1000, clientA, 40001, server4, tx2),
			resp(1001, server4, clientA, 40001, tx2, ntpAt(1000.2), ntpAt(1000.3)),
			expireAll,
		},
		want: []want{
			{client: clientA, cport: 40001, server: server4, answered: true, c1: 1000, latency: 3.2, processing: 0.1, total: 1, refid: "203.0.113.5"},
			{client: clientA, cport: 40001, server: server4, c1: 0},
		},
		count: Counters{Requests: 2, Responses: 1, Answered: 1, Unanswered: 1},
	}, {
		name: "identical request twice folds into the first",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(300, clientA, 40001, server4, tx1),
			resp(301, server4, clientA, 40001, tx1, ntpAt(300.2), ntpAt(300.3)),
			resp(302, server4, clientA, 40001, tx1, ntpAt(300.4), ntpAt(300.5)),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, latency: 303.2, processing: 0.1, total: 301, refid: "203.0.113.5"}},
		count: Counters{Requests: 2, Duplicates: 1, Responses: 2, Answered: 1, Unmatched: 1},
	}, {
		name: "5-tuple reused",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			resp(1, server4, clientA, 40001, tx1, ntpAt(0.5), ntpAt(0.6)),
			req(1000, clientA, 40001, server4, tx2),
			resp(1002, server4, clientA, 40001, tx2, ntpAt(1000.5), ntpAt(1000.7)),
			// A late copy of the first response finds nothing.
			resp(1003, server4, clientA, 40001, tx1, ntpAt(0.5), ntpAt(0.6)),
		},
		want: []want{
			{client: clientA, cport: 40001, server: server4, answered: true, latency: 3.5, processing: 0.1, total: 1, refid: "203.0.113.5"},
			{client: clientA, cport: 40001, server: server4, answered: true, c1: 1000, latency: 3.5, processing: 0.2, total: 2, refid: "203.0.113.5"},
		},
		count: Counters{Requests: 2, Responses: 3, Answered: 2, Unmatched: 1},
	}, {
		name: "timeout on packet time, late response unmatched",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(1500, clientB, 40002, server4, tx2),
			req(2000, clientB, 40003, server4, tx2), // exactly Timeout after the first: still pending
			req(2000.001, clientB, 40004, server4, tx2),
			resp(2100, server4, clientA, 40001, tx1, ntpAt(1), ntpAt(2)),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4}},
		count: Counters{Requests: 4, Responses: 1, Unanswered: 1, Unmatched: 1, Pending: 3},
	}, {
		name: "wall-clock expiry when idle",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(100, clientB, 40002, server4, tx2),
			expireAt(1000),
			expireAt(2050),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4}},
		count: Counters{Requests: 2, Unanswered: 1, Pending: 1},
	}, {
		name: "kiss-o'-death",
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			kod(resp(0.2, server4, clientA, 40001, tx1, tx1, tx1), "RATE"),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, latency: noLatency, total: 0.2, kod: "RATE", refid: "RATE"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1, KoD: 1},
	}, {
		name: "random transmit bits give no latency",
		events: []event{
			req(0, clientA, 40001, server4, random),
			resp(0.3, server4, clientA, 40001, random, ntpAt(0.1), ntpAt(0.15)),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, latency: noLatency, processing: 0.05, total: 0.3, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1},
	}, {
		name: "zero transmit gives no latency",
		events: []event{
			req(0, clientA, 40001, server4, 0),
			resp(0.3, server4, clientA, 40001, 0, ntpAt(0.1), ntpAt(0.15)),
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, latency: noLatency, processing: 0.05, total: 0.3, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1},
	}, {
		name: "responses with no request",
		events: []event{
			resp(0, server4, clientA, 40001, tx1, ntpAt(0.1), ntpAt(0.2)),
			req(1, clientA, 40001, server4, tx1),
			resp(2, server4, clientA, 40001, tx2, ntpAt(1.1), ntpAt(1.2)),  // wrong originate
			resp(3, server4, clientA, 40009, tx1, ntpAt(1.1), ntpAt(1.2)),  // wrong port
			resp(4, server6, clientA, 40001, tx1, ntpAt(1.1), ntpAt(1.2)),  // wrong server
			resp(5, server4, clientB, 40001, tx1, ntpAt(1.1), ntpAt(1.2)),  // wrong client
			resp(6, server4, clientA, 40001, tx1, ntpAt(1.1), ntpAt(1.15)), // the one
		},
		want:  []want{{client: clientA, cport: 40001, server: server4, answered: true, c1: 1, latency: 4.1, processing: 0.05, total: 5, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 6, Answered: 1, Unmatched: 5},
	}, {
		name: "IPv6",
		events: []event{
			req(0, client6, 50000, server6, tx1),
			resp(0.25, server6, client6, 50000, tx1, ntpAt(0.05), ntpAt(0.1)),
		},
		want:  []want{{client: client6, cport: 50000, server: server6, answered: true, latency: 3.05, processing: 0.05, total: 0.25, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1},
	}, {
		name: "other modes are one record each, control flagged",
		events: []event{
			other(0, clientA, ntp.ModeControl, 12),
			other(1, clientA, ntp.ModePrivate, 8),
			other(2, clientB, ntp.ModeSymmetricActive, 48),
			other(3, clientB, ntp.ModeBroadcast, 48),
		},
		want: []want{
			{client: clientA, cport: 40000, server: server4, mode: ntp.ModeControl, c1: 0},
			{client: clientA, cport: 40000, server: server4, mode: ntp.ModePrivate, c1: 1},
			{client: clientB, cport: 40000, server: server4, mode: ntp.ModeSymmetricActive, c1: 2},
			{client: clientB, cport: 40000, server: server4, mode: ntp.ModeBroadcast, c1: 3},
		},
		count: Counters{OtherModes: 4, Control: 2},
	}, {
		name: "NTPv1 request is paired",
		events: func() []event {
			r := req(0, clientA, 40001, server4, tx1)
			r.p.NTP.Version, r.p.NTP.Mode = 1, 0
			a := resp(1, server4, clientA, 40001, tx1, ntpAt(0.5), ntpAt(0.6))
			a.p.NTP.Version = 1
			return []event{r, a}
		}(),
		want:  []want{{client: clientA, cport: 40001, server: server4, v1: true, answered: true, latency: 3.5, processing: 0.1, total: 1, refid: "203.0.113.5"}},
		count: Counters{Requests: 1, Responses: 1, Answered: 1},
	}, {
		name: "other ports and stray modes ignored",
		events: func() []event {
			a := req(0, clientA, 40001, server4, tx1)
			a.p.DstPort = 1123
			b := req(1, clientA, 40001, server4, tx1)
			b.p.NTP.Mode = 0 // reserved outside NTPv1
			c := other(2, clientA, ntp.ModeControl, 12)
			c.p.Src, c.p.Dst, c.p.SrcPort, c.p.DstPort = server4, clientA, 123, 40000 // a mode 6 reply
			return []event{a, b, c}
		}(),
		count: Counters{Ignored: 3},
	}, {
		name: "full table evicts the oldest without emitting it",
		cfg:  Config{MaxPending: 2},
		events: []event{
			req(0, clientA, 40001, server4, tx1),
			req(1, clientA, 40002, server4, tx1),
			req(2, clientA, 40003, server4, tx1),
			resp(3, server4, clientA, 40001, tx1, ntpAt(1), ntpAt(2)),
			resp(4, server4, clientA, 40003, tx1, ntpAt(3), ntpAt(3.5)),
			expireAll,
		},
		want: []want{
			{client: clientA, cport: 40003, server: server4, answered: true, c1: 2, latency: 6, processing: 0.5, total: 2, refid: "203.0.113.5"},
			{client: clientA, cport: 40002, server: server4, c1: 1},
		},
		count: Counters{Requests: 3, Responses: 2, Answered: 1, Unanswered: 1, Unmatched: 1, Evicted: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tab := run(t, tt.cfg, tt.events)
			check(t, got, tt.want)
			if c := tab.Counters(); c != tt.count {
				t.Errorf("counters\n got %+v\nwant %+v", c, tt.count)
			}
		})
	}
}

func TestStratumOneRefIDAndLeap(t *testing.T) {
	r := resp(1, server4, clientA, 40001, ntpAt(0), ntpAt(0.5), ntpAt(0.6))
	r.p.NTP.Stratum, r.p.NTP.ReferenceID, r.p.NTP.Leap = 1, [4]byte{'G', 'P', 'S', 0}, ntp.LeapAddSecond
	got, _ := run(t, Config{}, []event{req(0, clientA, 40001, server4, ntpAt(0)), r})
	if len(got) != 1 {
		t.Fatalf("got %d sessions", len(got))
	}
	s := got[0]
	if s.ReferenceID != "GPS" || s.Leap != session.LeapAddSecond || s.Stratum != 1 || s.Precision != -24 {
		t.Errorf("refid %q leap %q stratum %d precision %d", s.ReferenceID, s.Leap, s.Stratum, s.Precision)
	}
	if s.RootDelay != 0.5 || s.RootDispersion != 1.0/32 {
		t.Errorf("root delay %v dispersion %v", s.RootDelay, s.RootDispersion)
	}
	if s.OriginateTime != ntpAt(0).Unix() || s.ReceiveTime != ntpAt(0.5).Unix() || s.TransmitTime != ntpAt(0.6).Unix() || s.ReferenceTime != ntpAt(-60000).Unix() {
		t.Errorf("timestamps %v %v %v %v", s.ReferenceTime, s.OriginateTime, s.ReceiveTime, s.TransmitTime)
	}
	if s.Version != 4 || s.Poll != 6 || s.PacketLength != 48 {
		t.Errorf("request fields: version %d poll %d length %d", s.Version, s.Poll, s.PacketLength)
	}
}

// TestDropAtShutdown: a live capture that stops forgets what is pending
// without emitting it.
func TestDropAtShutdown(t *testing.T) {
	got, tab := run(t, Config{}, []event{
		req(0, clientA, 40001, server4, ntpAt(0)),
		req(1, clientB, 40001, server4, ntpAt(1)),
	})
	if n := tab.Drop(); n != 2 || len(got) != 0 || tab.Len() != 0 {
		t.Fatalf("Drop = %d, emitted %d, left %d", n, len(got), tab.Len())
	}
	tab.ExpireAll()
	if len(got) != 0 {
		t.Fatalf("dropped requests were emitted later")
	}
}

// TestTableAgainstMap drives the table through growth, eviction, matches,
// misses and expiry with random traffic and compares every outcome with a
// plain map model. The sizes put the largest entry index+1 just below and
// just at a power of two, where the index slots change how many bits they
// keep for the hash tag.
func TestTableAgainstMap(t *testing.T) {
	for _, maxPending := range []int{1000, 1023, 1024} {
		t.Run(fmt.Sprintf("max-pending=%d", maxPending), func(t *testing.T) { tableAgainstMap(t, maxPending) })
	}
}

func tableAgainstMap(t *testing.T, maxPending int) {
	const timeout = 100 * time.Millisecond
	rng := rand.New(rand.NewPCG(1, 2))
	type mkey struct {
		client netip.Addr
		port   uint16
		tx     ntp.Time
	}
	// The model: pending keys with their capture time, an age queue with
	// lazy deletion, and a list of live keys to pick responses from.
	type mval struct {
		c1  int64
		pos int // index in keys
	}
	model := map[mkey]mval{}
	type queued struct {
		k  mkey
		c1 int64
	}
	var queue []queued
	var keys []mkey
	del := func(k mkey) {
		v := model[k]
		last := keys[len(keys)-1]
		keys[v.pos] = last
		if last != k {
			lv := model[last]
			lv.pos = v.pos
			model[last] = lv
		}
		keys = keys[:len(keys)-1]
		delete(model, k)
	}
	oldest := func() (mkey, bool) {
		for len(queue) > 0 {
			q := queue[0]
			if v, ok := model[q.k]; ok && v.c1 == q.c1 { // not a stale copy of a re-added key
				return q.k, true
			}
			queue = queue[1:]
		}
		return mkey{}, false
	}

	var emitted []session.Session
	tab := New(Config{MaxPending: maxPending, Timeout: timeout}, func(s *session.Session) { emitted = append(emitted, *s) })
	clients := make([]netip.Addr, 300)
	for i := range clients {
		if i%3 == 0 {
			clients[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		} else {
			clients[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		}
	}
	var wantAnswered, wantUnanswered, wantEvicted, wantUnmatched, wantDup uint64
	now := t0
	for step := range 300_000 {
		now = now.Add(time.Duration(rng.IntN(40)) * time.Microsecond)
		if rng.IntN(20_000) == 0 {
			now = now.Add(timeout + time.Millisecond) // a quiet spell
		}
		// The expiry the table does on this packet's time.
		cutoff := now.UnixNano() - int64(timeout)
		for k, ok := oldest(); ok && model[k].c1 < cutoff; k, ok = oldest() {
			del(k)
			wantUnanswered++
		}
		requestShare := 50
		if (step/50_000)%2 == 0 {
			requestShare = 90 // a flood that overfills the table
		}
		if rng.IntN(100) < requestShare || len(model) == 0 {
			k := mkey{clients[rng.IntN(len(clients))], uint16(1024 + rng.IntN(4)), ntp.Time(rng.Uint64N(1 << 12))}
			sk := server4
			if k.client.Is6() {
				sk = server6
			}
			ev := req(0, k.client, k.port, sk, k.tx)
			ev.p.Time = now
			tab.Add(ev.p)
			if _, dup := model[k]; dup {
				wantDup++
			} else {
				if len(model) == maxPending {
					k, _ := oldest()
					del(k)
					wantEvicted++
				}
				model[k] = mval{now.UnixNano(), len(keys)}
				keys = append(keys, k)
				queue = append(queue, queued{k, now.UnixNano()})
			}
		} else {
			var k mkey
			if rng.IntN(10) == 0 {
				k = mkey{clients[rng.IntN(len(clients))], 9, 7}
			} else {
				k = keys[rng.IntN(len(keys))]
			}
			sk := server4
			if k.client.Is6() {
				sk = server6
			}
			ev := resp(0, sk, k.client, k.port, k.tx, ntpAt(0), ntpAt(0.1))
			ev.p.Time = now
			before := len(emitted)
			tab.Add(ev.p)
			if v, ok := model[k]; ok {
				del(k)
				wantAnswered++
				if len(emitted) == before {
					t.Fatalf("step %d: response for %v produced no session", step, k)
				}
				last := emitted[len(emitted)-1]
				if !last.Answered || last.ClientIP != k.client || last.ClientPort != k.port || last.Timestamp.UnixNano() != v.c1 {
					t.Fatalf("step %d: response for %v produced %+v", step, k, last)
				}
			} else {
				wantUnmatched++
			}
		}
		if tab.Len() != len(model) {
			t.Fatalf("step %d: table holds %d, model %d; %+v; want answered %d unanswered %d evicted %d unmatched %d duplicates %d", step, tab.Len(), len(model), tab.Counters(), wantAnswered, wantUnanswered, wantEvicted, wantUnmatched, wantDup)
		}
	}
	c := tab.Counters()
	if c.Answered != wantAnswered || c.Unanswered != wantUnanswered || c.Evicted != wantEvicted || c.Unmatched != wantUnmatched || c.Duplicates != wantDup {
		t.Fatalf("counters %+v; want answered %d unanswered %d evicted %d unmatched %d duplicates %d", c, wantAnswered, wantUnanswered, wantEvicted, wantUnmatched, wantDup)
	}
	if wantEvicted == 0 || wantUnanswered == 0 || wantAnswered == 0 || wantDup == 0 {
		t.Fatalf("the random walk did not exercise every path: %+v", c)
	}
	if got := countUnanswered(emitted); got != int(wantUnanswered) {
		t.Fatalf("emitted %d unanswered, want %d", got, wantUnanswered)
	}
}

func countUnanswered(ss []session.Session) int {
	n := 0
	for i := range ss {
		if !ss[i].Answered {
			n++
		}
	}
	return n
}

// steadyTraffic is a request and its response from each of n clients.
func steadyTraffic(n int) []Packet {
	req := &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Length: 48}
	var pkts []Packet
	for i := range n {
		c := netip.AddrFrom4([4]byte{198, 51, 100 + byte(i>>8&1), byte(i)})
		tx := ntp.Time(uint64(i+1) << 20)
		rq := *req
		rq.Transmit = tx
		rs := &ntp.Packet{Version: 4, Mode: ntp.ModeServer, Stratum: 2, ReferenceID: [4]byte{203, 0, 113, 5}, Originate: tx, Receive: tx + 100, Transmit: tx + 200, Length: 48}
		pkts = append(pkts,
			Packet{Time: at(float64(2 * i)), Src: c, SrcPort: 40000, Dst: server4, DstPort: 123, NTP: &rq},
			Packet{Time: at(float64(2*i + 1)), Src: server4, SrcPort: 123, Dst: c, DstPort: 40000, NTP: rs})
	}
	return pkts
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	pkts := steadyTraffic(512)
	sessions := 0
	tab := New(Config{}, func(*session.Session) { sessions++ })
	for i := range pkts { // warm up: grow the table once
		tab.Add(&pkts[i])
	}
	round := 0
	allocs := testing.AllocsPerRun(20, func() {
		round++
		shift := time.Duration(round) * time.Hour
		for i := range pkts {
			p := pkts[i]
			p.Time = p.Time.Add(shift)
			tab.Add(&p)
		}
		tab.ExpireAll()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round of %d packets", allocs, len(pkts))
	}
	if sessions < 512*21 {
		t.Fatalf("only %d sessions", sessions)
	}
}

func BenchmarkPair(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			pkts := steadyTraffic(n)
			tab := New(Config{}, func(*session.Session) {})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := pkts[i%len(pkts)]
				p.Time = p.Time.Add(time.Duration(i/len(pkts)) * time.Hour)
				tab.Add(&p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkPending fills the table with a million requests that are never
// answered: the memory cost of a spoofed flood at --max-pending 1000000.
func BenchmarkPending(b *testing.B) {
	req := &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Length: 48}
	for i := 0; i < b.N; i++ {
		tab := New(Config{MaxPending: 1_000_000, Timeout: time.Hour}, func(*session.Session) {})
		for j := range 1_000_000 {
			req.Transmit = ntp.Time(j + 1)
			tab.Add(&Packet{Time: t0, Src: netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}), SrcPort: 123, Dst: server4, DstPort: 123, NTP: req})
		}
		if tab.Len() != 1_000_000 {
			b.Fatal(tab.Len())
		}
	}
}

// poolTraffic is a public server's traffic: every request from another
// client, one in ten never answered, the others answered at once.
func poolTraffic(requests int) []Packet {
	var pkts []Packet
	for i := range requests {
		c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tx := ntp.Time(uint64(i+1) << 20)
		rq := &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Length: 48, Transmit: tx}
		pkts = append(pkts, Packet{Time: at(float64(i) / 1000), Src: c, SrcPort: 40000, Dst: server4, DstPort: 123, NTP: rq})
		if i%10 == 9 {
			continue
		}
		rs := &ntp.Packet{Version: 4, Mode: ntp.ModeServer, Stratum: 2, ReferenceID: [4]byte{203, 0, 113, 5}, Originate: tx, Receive: tx + 100, Transmit: tx + 200, Length: 48}
		pkts = append(pkts, Packet{Time: at(float64(i)/1000 + 0.15), Src: server4, SrcPort: 123, Dst: c, DstPort: 40000, NTP: rs})
	}
	return pkts
}

// BenchmarkPairPoolScale pairs a million requests from a million clients
// while the unanswered tenth waits out a timeout longer than the capture:
// the table holds up to 100,000 requests, far beyond the CPU caches. One op
// is one packet.
func BenchmarkPairPoolScale(b *testing.B) {
	pkts := poolTraffic(1_000_000)
	tab := New(Config{Timeout: 2 * time.Second}, func(*session.Session) {})
	span := pkts[len(pkts)-1].Time.Sub(pkts[0].Time) + time.Hour
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		p.Time = p.Time.Add(time.Duration(i/len(pkts)) * span)
		tab.Add(&p)
	}
	b.ReportMetric(float64(tab.Counters().Pending), "pending")
}
