//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// counts is what one client address did, from one point of view: what the
// test sent and saw come back, what tshark decoded, what the collector
// stored. Requests are mode-3 packets (and NTPv1 mode 0); Mode6 and
// Truncated packets are not requests.
type counts struct {
	Requests, Answered, Unanswered, KoD int
	KoDCode                             string
	Versions                            map[int]int // requests per NTP version
	Mode6                               int
	Truncated                           int
}

func (c *counts) String() string {
	var vs []string
	for _, v := range slices.Sorted(maps.Keys(c.Versions)) {
		vs = append(vs, fmt.Sprintf("v%d:%d", v, c.Versions[v]))
	}
	return fmt.Sprintf("requests=%d answered=%d unanswered=%d kod=%d kod_code=%q versions=[%s] mode6=%d truncated=%d",
		c.Requests, c.Answered, c.Unanswered, c.KoD, c.KoDCode, strings.Join(vs, " "), c.Mode6, c.Truncated)
}

// ledger is the test's own record of what it sent, per client address.
type ledger struct {
	mu sync.Mutex
	m  map[netip.Addr]*counts
}

func newLedger() *ledger { return &ledger{m: map[netip.Addr]*counts{}} }

func (l *ledger) get(a netip.Addr) *counts {
	c := l.m[a]
	if c == nil {
		c = &counts{Versions: map[int]int{}}
		l.m[a] = c
	}
	return c
}

// request records one request from a sent by the test and its outcome:
// answered (with kod the kiss code when the answer was a KoD) or not.
func (l *ledger) request(a netip.Addr, version int, answered bool, kod string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.get(a)
	c.Requests++
	c.Versions[version]++
	switch {
	case !answered:
		c.Unanswered++
	case kod != "":
		c.Answered++
		c.KoD++
		c.KoDCode = kod
	default:
		c.Answered++
	}
}

func (l *ledger) mode6(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(a).Mode6++
}

func (l *ledger) truncated(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(a).Truncated++
}

// snapshot returns a copy of the ledger.
func (l *ledger) snapshot() map[netip.Addr]*counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[netip.Addr]*counts, len(l.m))
	for a, c := range l.m {
		cc := *c
		cc.Versions = maps.Clone(c.Versions)
		out[a] = &cc
	}
	return out
}

// scenario is the topology of one run.
type scenario struct {
	net              *testnet.Net
	srv              *testnet.Host
	idle4, idle6     netip.Addr // server-side addresses nothing listens on
	chr, dig, date   *testnet.Host
	raw, noans, burs *testnet.Host
	kind             string // "chrony" or "ntpsec"
}

func newScenario(t *testing.T, kind string) *scenario {
	n := testnet.New(t)
	s := &scenario{net: n, kind: kind}
	s.srv = n.AddHost("srv")
	s.idle4, s.idle6 = s.srv.AddAddr()
	s.chr = n.AddHost("chr")
	s.dig = n.AddHost("dig")
	s.date = n.AddHost("date")
	s.raw = n.AddHost("raw")
	s.noans = n.AddHost("noans")
	s.burs = n.AddHost("burst")
	return s
}

// exchange sends one hand-made packet from h and reports whether the
// server answered within wait, returning the answer.
func exchange(ctx context.Context, h *testnet.Host, dst netip.Addr, pkt []byte, wait time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return h.SendUDP(ctx, netip.AddrPortFrom(dst, 123), pkt, 0)
}

// kissCode returns the kiss code of an NTP answer, or "" when it is not a
// Kiss-o'-Death (stratum 0 with an ASCII code).
func kissCode(reply []byte) string {
	if len(reply) < 48 || reply[1] != 0 {
		return ""
	}
	return strings.TrimRight(string(reply[12:16]), "\x00")
}

// generate sends the scenario's traffic and records it in l. Tools whose
// request count is fixed by their options (chronyd -Q with maxsamples 1,
// ntpdig and ntpdate with one sample) are recorded as one request each,
// answered when the tool succeeded.
func (s *scenario) generate(ctx context.Context, t *testing.T, l *ledger) {
	t.Helper()
	srv4, srv6 := s.srv.V4, s.srv.V6
	tool := func(h *testnet.Host, dst netip.Addr, name string, run func() ([]byte, error)) {
		out, err := run()
		if err != nil {
			t.Errorf("%s from %s to %v failed: %v", name, h.Name, dst, err)
			l.request(h.Addr(dst), 4, false, "")
			return
		}
		_ = out
		l.request(h.Addr(dst), 4, true, "")
	}

	// chronyd -Q one-shots: two over IPv4, one over IPv6.
	for _, dst := range []netip.Addr{srv4, srv4, srv6} {
		tool(s.chr, dst, "chronyd -Q", func() ([]byte, error) { return s.chr.ChronyQuery(ctx, dst) })
	}
	// ntpdig and ntpdate over both families.
	for _, dst := range []netip.Addr{srv4, srv6} {
		tool(s.dig, dst, "ntpdig", func() ([]byte, error) { return s.dig.Ntpdig(ctx, dst) })
		tool(s.date, dst, "ntpdate -q", func() ([]byte, error) { return s.date.Ntpdate(ctx, dst) })
	}

	// Hand-made packets: an NTPv3 and an NTPv2 request, a mode 6
	// READVAR query and a truncated request, over both families.
	for _, dst := range []netip.Addr{srv4, srv6} {
		src := s.raw.Addr(dst)
		for _, v := range []uint8{3, 2} {
			reply, err := exchange(ctx, s.raw, dst, testnet.NTPRequest(v, 3, time.Now()), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if reply == nil {
				t.Errorf("NTPv%d request from %v to %v: no answer", v, src, dst)
			}
			l.request(src, int(v), reply != nil, kissCode(reply))
		}
		// chrony does not answer mode 6; ntpd does.
		wait := time.Second
		if s.kind == "chrony" {
			wait = 300 * time.Millisecond
		}
		reply, err := exchange(ctx, s.raw, dst, testnet.ControlRequest(2, 2, 1), wait)
		if err != nil {
			t.Fatal(err)
		}
		if (reply != nil) != (s.kind == "ntpsec") {
			t.Errorf("mode 6 query to %s at %v: answer %x", s.kind, dst, reply)
		}
		l.mode6(src)
		trunc := testnet.NTPRequest(4, 3, time.Now())[:20]
		if _, err := exchange(ctx, s.raw, dst, trunc, 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		l.truncated(src)
	}

	// Requests to an address of the server host where nothing listens.
	for _, dst := range []netip.Addr{s.idle4, s.idle4, s.idle6} {
		reply, err := exchange(ctx, s.noans, dst, testnet.NTPRequest(4, 3, time.Now()), 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		l.request(s.noans.Addr(dst), 4, reply != nil, kissCode(reply))
	}

	// A burst from one client: ntpd answers part of it with RATE
	// Kiss-o'-Death packets (kod limited), chronyd drops part of it
	// (ratelimit). The ledger records what came back.
	s.burst(ctx, t, l, srv4, 40)
}

// burst sends n NTPv4 requests 2 ms apart from one socket and records each
// as answered, answered with a KoD or unanswered, matching answers to
// requests by their originate timestamp.
// readAnswers reads the replies that come back to c until the returned
// function is called, which stops the reading and returns, per originate
// timestamp (the transmit timestamp of the request answered), the reply's
// kiss code ("" for a normal answer).
func readAnswers(c *net.UDPConn) func() map[uint64]string {
	var mu sync.Mutex
	got := map[uint64]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			m, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if m >= 48 {
				mu.Lock()
				got[binary.BigEndian.Uint64(buf[24:32])] = kissCode(buf[:m])
				mu.Unlock()
			}
		}
	}()
	return func() map[uint64]string {
		c.SetReadDeadline(time.Now())
		<-done
		return got
	}
}

func (s *scenario) burst(ctx context.Context, t *testing.T, l *ledger, dst netip.Addr, n int) {
	t.Helper()
	h := s.burs
	c, err := h.ListenUDP(netip.AddrPortFrom(h.Addr(dst), 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	answers := readAnswers(c)
	var sent []uint64
	for i := 0; i < n; i++ {
		// Distinct transmit timestamps even if the clock is coarse.
		ts := time.Now().Add(time.Duration(i) * time.Nanosecond)
		pkt := testnet.NTPRequest(4, 3, ts)
		sent = append(sent, binary.BigEndian.Uint64(pkt[40:]))
		if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(dst, 123)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(time.Second)
	got := answers()
	var answered, kods int
	for _, x := range sent {
		kod, ok := got[x]
		l.request(h.Addr(dst), 4, ok, kod)
		if ok {
			answered++
		}
		if kod != "" {
			kods++
		}
	}
	t.Logf("%s burst of %d: %d answered, %d of them KoD, %d unanswered", s.kind, n, answered, kods, n-answered)
}
