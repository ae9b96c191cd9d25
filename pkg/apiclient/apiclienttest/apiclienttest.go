package apiclienttest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// Server is a running API over its own store.
type Server struct {
	URL   string
	Store *store.Store
	http  *httptest.Server
}

// Close stops serving, as a collector that went away; the test's end also
// does.
func (s *Server) Close() { s.http.Close() }

// Options change the server from its defaults.
type Options struct {
	// Token is the API's admin token; empty runs the API without one,
	// as `ntp-collector serve --no-auth` does.
	Token string
	// Now is the server's clock; time.Now when nil.
	Now func() time.Time
}

// Start opens a store in t.TempDir() and serves the API over it until the
// test ends. Statistics and list totals are computed afresh on every
// request, so a test sees what it just committed.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ntp_clients.db"), store.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	api, err := httpapi.New(httpapi.Config{Store: st, Token: o.Token, NoAuth: o.Token == "", Logger: quiet, Now: o.Now, CountMaxAge: -1})
	if err != nil {
		t.Fatalf("httpapi: %v", err)
	}
	hs := httptest.NewServer(api.Handler())
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Store: st, http: hs}
}

// Commit writes sessions through the store's commit path, as ingestion
// does, in one batch.
func (s *Server) Commit(t testing.TB, ss ...session.Session) {
	t.Helper()
	b := store.NewBatch()
	for i := range ss {
		b.Add("apiclienttest", ss[i].Interface, uint64(i+1), &ss[i])
	}
	if _, err := s.Store.Commit(context.Background(), b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// The addresses of Population.
const (
	AddrA = "192.0.2.11"
	AddrB = "2001:db8:0:1::c"
	AddrC = "192.0.2.13"
	AddrD = "198.18.0.1"
)

// Population is four clients on two interfaces, their sessions captured
// before now:
//
//	A 192.0.2.11       eth0  10 requests, every 4 s, last 3 min ago; all answered in 842 µs; latency 2 ms; poll 6
//	B 2001:db8:0:1::c  eth0   8 requests, every 64 s, last 2 h ago; 3 unanswered, 5 answered in 57.3 µs; no latency; poll 10
//	C 192.0.2.13       eth1   6 requests, every 1 s, last 5 min ago; 3 answered, 2 RATE KoD, 1 unanswered, 3.5 ms; latency 10 ms; poll 0
//	D 198.18.0.1       eth1   1 request 30 min ago, answered in 1 ms, latency 0.5 ms; 2 mode 6 and 1 mode 7 packets; NTPv2; poll 6
//
// Every figure differs from client to client where an order depends on it,
// so each --sort has one right answer (ties only where noted in the tests).
func Population(now time.Time) []session.Session {
	var ss []session.Session
	series := func(addr, iface string, n int, every time.Duration, last time.Time, s func(i int, x *session.Session)) {
		for i := range n {
			x := base(addr, iface, last.Add(-time.Duration(n-1-i)*every))
			s(i, &x)
			ss = append(ss, x)
		}
	}
	series(AddrA, "eth0", 10, 4*time.Second, now.Add(-3*time.Minute-10*time.Second), func(_ int, x *session.Session) {
		x.Processing, x.Latency, x.LatencyValid = 0.000842, 0.002, true
	})
	series(AddrB, "eth0", 8, 64*time.Second, now.Add(-2*time.Hour-10*time.Minute), func(i int, x *session.Session) {
		x.Poll, x.Processing = 10, 0.0000573
		if i%3 == 0 { // 0, 3, 6
			unanswered(x)
		}
	})
	series(AddrC, "eth1", 6, time.Second, now.Add(-5*time.Minute-10*time.Second), func(i int, x *session.Session) {
		x.Poll, x.Processing, x.Latency, x.LatencyValid = 0, 0.0035, 0.010, true
		switch i {
		case 1, 4:
			x.Stratum, x.KoD, x.ReferenceID, x.LatencyValid = 0, "RATE", "RATE", false
		case 2:
			unanswered(x)
		}
	})
	d := now.Add(-30*time.Minute - 10*time.Second)
	series(AddrD, "eth1", 1, 0, d, func(_ int, x *session.Session) {
		x.Version, x.Processing, x.Latency, x.LatencyValid = 2, 0.001, 0.0005, true
	})
	for i, mode := range []uint8{6, 6, 7} {
		x := base(AddrD, "eth1", d.Add(-time.Duration(i+1)*time.Second))
		unanswered(&x)
		x.Mode, x.Version, x.PacketLength = mode, 2, 12
		ss = append(ss, x)
	}
	return ss
}

// base is an answered NTPv4 request from addr on iface at t.
func base(addr, iface string, t time.Time) session.Session {
	return session.Session{
		ClientIP: netip.MustParseAddr(addr), ClientPort: 40123,
		ServerIP: netip.MustParseAddr("192.0.2.10"), ServerPort: 123,
		Interface: iface, Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Answered: true, Stratum: 2, Precision: -24, RootDelay: 0.01, RootDispersion: 0.02,
		ReferenceID: "192.0.2.200", Leap: session.LeapNoWarning,
		ReferenceTime: 1764072000.5, OriginateTime: 1764072001.25, ReceiveTime: 1764072001.2505, TransmitTime: 1764072001.2506,
		Processing: 0.0001, Total: 0.0008,
		Timestamp: t,
	}
}

func unanswered(x *session.Session) {
	x.Answered, x.Stratum, x.Leap, x.ReferenceID, x.KoD = false, 0, "", "", ""
	x.LatencyValid, x.Latency, x.Processing, x.Total = false, 0, 0, 0
	x.ReferenceTime, x.OriginateTime, x.ReceiveTime, x.TransmitTime = 0, 0, 0, 0
}
