package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
)

// base is the capture time of the fixture's sessions; the tests' clock
// stands one hour after it.
var base = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testNow() time.Time { return base.Add(time.Hour) }

// weirdIface exercises CSV quoting and JSON escaping.
const weirdIface = `we,ird"if`

type sessOpt func(*session.Session)

func at(d time.Duration) sessOpt { return func(s *session.Session) { s.Timestamp = base.Add(d) } }
func onIface(n string) sessOpt   { return func(s *session.Session) { s.Interface = n } }
func version(v uint8) sessOpt    { return func(s *session.Session) { s.Version = v } }
func unanswered() sessOpt {
	return func(s *session.Session) {
		s.Answered, s.Stratum, s.Leap, s.ReferenceID = false, 0, "", ""
		s.LatencyValid, s.Latency, s.Processing, s.Total = false, 0, 0, 0
	}
}
func kod(code string) sessOpt {
	return func(s *session.Session) { s.Stratum, s.KoD, s.ReferenceID = 0, code, code }
}
func stratum(n uint8) sessOpt { return func(s *session.Session) { s.Stratum = n } }
func latency(l float64) sessOpt {
	return func(s *session.Session) { s.Latency, s.LatencyValid = l, true }
}
func noLatency() sessOpt { return func(s *session.Session) { s.LatencyValid, s.Latency = false, 0 } }

func sess(ip string, opts ...sessOpt) session.Session {
	s := session.Session{
		ClientIP: netip.MustParseAddr(ip), ClientPort: 40123,
		ServerIP: netip.MustParseAddr("192.0.2.254"), ServerPort: 123,
		Interface: "eth0", Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Answered: true, Stratum: 2, Precision: -24, RootDelay: 0.01, RootDispersion: 0.02,
		ReferenceID: "192.0.2.200", Leap: session.LeapNoWarning,
		ReferenceTime: 1764072000.5, OriginateTime: 1764072001.25, ReceiveTime: 1764072001.2505, TransmitTime: 1764072001.2506,
		Latency: 0.0005, LatencyValid: true, Processing: 0.0001, Total: 0.0008,
		Timestamp: base,
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// commit writes sessions through the store's real write path.
func commit(t testing.TB, st *store.Store, ss ...session.Session) {
	t.Helper()
	b := store.NewBatch()
	for i := range ss {
		b.Add("fixture", ss[i].Interface, uint64(i+1), &ss[i])
	}
	if _, err := st.Commit(context.Background(), b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ntp.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fixture is a small, hand-made history:
//
//	192.0.2.1      eth0        v4, 3 answered sessions (latency 1, 2, 3 ms)
//	192.0.2.2      eth0        v3, 1 unanswered
//	198.51.100.7   eth1        v4, answered + a RATE KoD, stratum 0 last
//	2001:db8::1    eth0        v4 answered, stratum 3
//	2001:db8::1    we,ird"if   v4 answered
//	2001:db8::2:1  eth1        v2 answered, no usable latency
//	10.20.0.0+i    bulk        45 clients, v4, one session each, i minutes apart
func fixture(t testing.TB, st *store.Store) {
	t.Helper()
	ss := []session.Session{
		sess("192.0.2.1", at(10*time.Second), latency(0.001)),
		sess("192.0.2.1", at(20*time.Second), latency(0.002)),
		sess("192.0.2.1", at(30*time.Second), latency(0.003)),
		sess("192.0.2.2", at(5*time.Second), version(3), unanswered()),
		sess("198.51.100.7", at(7*time.Second), onIface("eth1")),
		sess("198.51.100.7", at(8*time.Second), onIface("eth1"), kod("RATE")),
		sess("2001:db8::1", at(9*time.Second), stratum(3)),
		sess("2001:db8::1", at(11*time.Second), onIface(weirdIface)),
		sess("2001:db8::2:1", at(12*time.Second), onIface("eth1"), version(2), noLatency()),
	}
	for i := range 45 {
		a := netip.AddrFrom4([4]byte{10, 20, 0, byte(i)})
		ss = append(ss, sess(a.String(), onIface("bulk"), at(time.Duration(i)*time.Minute-40*time.Minute)))
	}
	commit(t, st, ss...)
}

type testServer struct {
	t   testing.TB
	srv *Server
	h   http.Handler
	st  *store.Store
	// auth is the Authorization header do sends when the caller gives
	// none: the default admin token, unless the test chose its tokens.
	auth string
}

// adminToken is the token of a test server whose test chose none.
const adminToken = "test-admin-token"

// newTestServer serves the API over st in-process. Unless mod sets a token
// or NoAuth, the server has adminToken and do presents it.
func newTestServer(t testing.TB, st *store.Store, mod func(*Config)) *testServer {
	t.Helper()
	cfg := Config{
		Store:       st,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:         testNow,
		CountMaxAge: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	var auth string
	if cfg.Token == "" && !cfg.NoAuth {
		cfg.Token, auth = adminToken, "Bearer "+adminToken
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return &testServer{t: t, srv: s, h: s.Handler(), st: st, auth: auth}
}

// testHost is the Host of in-process requests: the default listen address.
const testHost = DefaultAddr

type response struct {
	*httptest.ResponseRecorder
	req *http.Request
}

func (ts *testServer) do(method, path string, body any, hdr ...string) response {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, r)
	req.Host = testHost
	if body != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if ts.auth != "" {
		req.Header.Set("Authorization", ts.auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		}
	}
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, req)
	return response{w, req}
}

// post sends a JSON POST over the network, as do sends in-process: with
// the server's token.
func (ts *testServer) post(url string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if ts.auth != "" {
		req.Header.Set("Authorization", ts.auth)
	}
	return http.DefaultClient.Do(req)
}

// listBody is the list envelope with rows kept generic.
type listBody struct {
	Data       []map[string]any `json:"data"`
	Pagination struct {
		Page       int     `json:"page"`
		PageSize   int     `json:"page_size"`
		Total      int64   `json:"total"`
		TotalPages int64   `json:"total_pages"`
		NextCursor *string `json:"next_cursor"`
	} `json:"pagination"`
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", r.req.Method, r.req.URL, err, r.Body.String())
	}
	return v
}

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.req.Method, r.req.URL, r.Code, status, r.Body.String())
	}
}

// ips lists the client_ip@interface of each row, in order.
func ips(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%v@%v", r["client_ip"], r["interface_name"])
	}
	return out
}

type sessionT = session.Session

// bulkSession is the i-th of many distinct clients over eight interfaces.
func bulkSession(i int) session.Session {
	a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	if i%3 == 0 {
		a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
	}
	return sess(a.String(), onIface(fmt.Sprintf("eth%d", i%8)), at(time.Duration(i)*time.Second))
}

// startHTTP serves s on a loopback port and returns its base URL.
func startHTTP(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

var storeFilterAll = store.ClientFilter{}

// falseSupervisor is a real supervisor whose "worker" is /bin/false: a
// worker it starts exits at once. It stops the worker on lo, if any, when
// the test ends.
func falseSupervisor(t testing.TB) *supervisor.Supervisor {
	t.Helper()
	dir := t.TempDir()
	sup, err := supervisor.New(supervisor.Config{
		WorkerBin: "/bin/false", PIDDir: filepath.Join(dir, "pid"), LogDir: filepath.Join(dir, "log"),
		IngestionHost: "127.0.0.1", IngestionPort: 10000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sup.Stop(ctx, "lo")
	})
	return sup
}
