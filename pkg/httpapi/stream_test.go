package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// streamRig is a collector in miniature: a real store, a real ingestion
// server on a loopback port publishing to a broadcaster, and the API over
// real HTTP.
type streamRig struct {
	st     *store.Store
	in     *ingest.Server
	b      *stream.Broadcaster
	ingest string // ingestion address
	url    string // http://127.0.0.1:port
	token  string // the admin token
}

func newStreamRig(t *testing.T, sc stream.Config, mod func(*Config), imods ...func(*ingest.Config)) *streamRig {
	t.Helper()
	r := &streamRig{st: openStore(t), b: stream.New(sc), token: adminToken}
	var m *Metrics
	r.in, r.ingest, m, _ = startIngest(t, r.st, append(imods, func(c *ingest.Config) { c.Stream = r.b })...)
	cfg := Config{Store: r.st, Ingest: r.in, Metrics: m, Stream: r.b, Token: adminToken, Now: testNow,
		Logger: slog.New(slog.DiscardHandler), StreamHeartbeat: time.Hour, CountMaxAge: -1}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.url = startHTTP(t, s)
	return r
}

// sseEvent is one frame of a text/event-stream: an event with its data,
// or a comment.
type sseEvent struct {
	event, data, comment string
}

// sseClient reads a live stream as a browser's EventSource would.
type sseClient struct {
	t   *testing.T
	res *http.Response
	r   *bufio.Reader
}

// get asks for path with the headers given as name, value pairs.
func get(ctx context.Context, client *http.Client, url string, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return client.Do(req)
}

// open subscribes with the admin token and waits for the 200 and its
// first comment. The stream ends with ctx.
func (r *streamRig) open(ctx context.Context, t *testing.T, query string, client *http.Client) *sseClient {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	res, err := get(ctx, client, r.url+"/api/ntp/stream"+query, "Authorization", "Bearer "+r.token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET stream%s: %d %s", query, res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	c := &sseClient{t: t, res: res, r: bufio.NewReader(res.Body)}
	if e := c.next(); !strings.HasPrefix(e.comment, "connected") {
		t.Fatalf("first frame %+v, want the connected comment", e)
	}
	return c
}

// next reads one frame; a read error fails the test.
func (c *sseClient) next() sseEvent {
	c.t.Helper()
	var e sseEvent
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading the stream: %v (frame so far %+v)", err, e)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return e
		case strings.HasPrefix(line, ": "):
			e.comment = line[2:]
		case strings.HasPrefix(line, "event: "):
			e.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			if e.data != "" {
				c.t.Fatalf("a second data line in one frame: %q", line)
			}
			e.data = line[6:]
		default:
			c.t.Fatalf("unexpected line %q", line)
		}
	}
}

// streamed is a session event: a few of its fields, and its data.
type streamed struct {
	Type     string `json:"type"`
	Seq      uint64 `json:"seq"`
	WorkerID string `json:"worker_id"`
	data     string
}

// tally reads events until received plus dropped reach n, and returns the
// sessions received and the drops announced.
func (c *sseClient) tally(n int) (got []streamed, dropped int) {
	c.t.Helper()
	for len(got)+dropped < n {
		e := c.next()
		switch e.event {
		case "":
		case "session":
			var s streamed
			if err := json.Unmarshal([]byte(e.data), &s); err != nil {
				c.t.Fatalf("session data %q: %v", e.data, err)
			}
			s.data = e.data
			got = append(got, s)
		case "dropped":
			var d struct {
				Dropped *int `json:"dropped"`
			}
			if err := json.Unmarshal([]byte(e.data), &d); err != nil || d.Dropped == nil || *d.Dropped <= 0 {
				c.t.Fatalf("dropped data %q: %v", e.data, err)
			}
			dropped += *d.Dropped
		default:
			c.t.Fatalf("unknown event %q", e.event)
		}
	}
	if len(got)+dropped != n {
		c.t.Fatalf("%d received and %d dropped: more than the %d expected", len(got), dropped, n)
	}
	return got, dropped
}

// waitSubscribers waits until n streams are subscribed.
func waitSubscribers(t *testing.T, b *stream.Broadcaster, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); b.Stats().Subscribers != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", b.Stats().Subscribers, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send streams sessions over the worker w, numbered from seq 1 on, as
// fast as the collector takes them, and waits for the ack of the last.
func send(w *worker, ss []session.Session) {
	w.t.Helper()
	var buf []byte
	for i := range ss {
		buf = wire.AppendSession(buf, uint64(i+1), &ss[i])
		if len(buf) > 64<<10 || i == len(ss)-1 {
			// A generous deadline: under the race detector the collector
			// pushes back for seconds.
			w.conn.SetWriteDeadline(time.Now().Add(time.Minute))
			if _, err := w.conn.Write(buf); err != nil {
				w.t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	w.waitAck(uint64(len(ss)))
}

// TestStreamFilters: seven subscribers with the seven kinds of filter get,
// over real HTTP, exactly the sessions a real worker connection sent that
// their filters select, each as the wire's session line with worker_id.
func TestStreamFilters(t *testing.T) {
	r := newStreamRig(t, stream.Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var ss []session.Session
	for i := range 40 {
		ip := fmt.Sprintf("198.51.100.%d", i)
		if i%4 == 3 {
			ip = fmt.Sprintf("2001:db8::%x", i)
		}
		var opts []sessOpt
		switch i % 5 {
		case 1:
			opts = append(opts, unanswered())
		case 2:
			opts = append(opts, kod("RATE"))
		}
		if i%8 == 0 {
			opts = append(opts, onIface("veth-b"))
		}
		s := sess(ip, append(opts, at(time.Duration(i)*time.Millisecond))...)
		if i == 13 || i == 26 {
			s = sess(ip, unanswered(), at(time.Duration(i)*time.Millisecond))
			s.Mode = uint8(6 + i/26)
		}
		ss = append(ss, s)
	}
	filters := []struct {
		query string
		match func(s *session.Session) bool
	}{
		{"", func(*session.Session) bool { return true }},
		{"?interface_name=veth-b", func(s *session.Session) bool { return s.Interface == "veth-b" }},
		{"?cidr=198.51.100.0/28", func(s *session.Session) bool { return netip.MustParsePrefix("198.51.100.0/28").Contains(s.ClientIP) }},
		{"?client_ip=2001:DB8::7", func(s *session.Session) bool { return s.ClientIP == netip.MustParseAddr("2001:db8::7") }},
		{"?answered=false", func(s *session.Session) bool { return !s.Answered }},
		{"?kod=true&interface_name=eth0", func(s *session.Session) bool { return s.KoD != "" && s.Interface == "eth0" }},
		{"?mode=6,7", func(s *session.Session) bool { return s.Mode == 6 || s.Mode == 7 }},
	}
	clients := make([]*sseClient, len(filters))
	for i, f := range filters {
		clients[i] = r.open(ctx, t, f.query, nil)
	}
	waitSubscribers(t, r.b, len(filters))
	w := dialWorker(t, r.ingest, "w-filters", "eth0")
	send(w, ss)

	for i, f := range filters {
		var want []uint64
		for j := range ss {
			if f.match(&ss[j]) {
				want = append(want, uint64(j+1))
			}
		}
		if len(want) == 0 {
			t.Fatalf("%q selects nothing of the test's sessions", f.query)
		}
		got, dropped := clients[i].tally(len(want))
		var seqs []uint64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
			if e.WorkerID != "w-filters" || e.Type != "session" {
				t.Errorf("%q: event %s", f.query, e.data)
			}
		}
		if dropped != 0 || !slices.Equal(seqs, want) {
			t.Errorf("%q: seqs %v (%d dropped), want %v", f.query, seqs, dropped, want)
		}
		// One event in full: the wire's line, worker_id added.
		if i == 3 {
			line := wire.AppendSession(nil, want[0], &ss[want[0]-1])
			var fromWire map[string]any
			if err := json.Unmarshal(line, &fromWire); err != nil {
				t.Fatal(err)
			}
			fromWire["worker_id"] = "w-filters"
			var event map[string]any
			if err := json.Unmarshal([]byte(got[0].data), &event); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(fromWire) != fmt.Sprint(event) {
				t.Errorf("event\n%v\nwant the wire line with worker_id\n%v", got[0], fromWire)
			}
		}
	}
	// Nothing else came: every event handed out was one of those.
	total := 0
	for _, f := range filters {
		for j := range ss {
			if f.match(&ss[j]) {
				total++
			}
		}
	}
	if st := r.b.Stats(); st.Sent != uint64(total) || st.Dropped != 0 {
		t.Errorf("broadcaster %+v, want %d sent and none dropped", st, total)
	}
}

// TestStreamQueryErrors: bad filters are 400s naming the parameter.
func TestStreamQueryErrors(t *testing.T) {
	r := newStreamRig(t, stream.Config{}, nil)
	for _, tc := range []struct{ query, field, msg string }{
		{"cidr=10.0.0.0/33", "cidr", "not a CIDR prefix"},
		{"cidr=", "cidr", "not a CIDR prefix"},
		{"client_ip=10.0.0.256", "client_ip", "not an IP address"},
		{"answered=no", "answered", "not true or false"},
		{"kod=1", "kod", "not true or false"},
		{"mode=8", "mode", "not an NTP mode"},
		{"mode=6,,7", "mode", "empty"},
		{"mode=x", "mode", "not an NTP mode"},
		{"interface_name=", "interface_name", "1–64 bytes"},
		{"interface_name=a%00b", "interface_name", "control character"},
		{"client=1.2.3.4", "client", "unknown query parameter"},
		{"kod=true&kod=false", "kod", "given 2 times"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res, err := get(context.Background(), http.DefaultClient, r.url+"/api/ntp/stream?"+tc.query, "Authorization", "Bearer "+r.token)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body errorBody
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusBadRequest || body.Error.Code != CodeInvalidParameter || body.Error.Field != tc.field ||
				!strings.Contains(body.Error.Message, tc.msg) || !strings.HasPrefix(body.Error.Message, tc.field+": ") {
				t.Errorf("%d %+v, want 400 on %s saying %q", res.StatusCode, body.Error, tc.field, tc.msg)
			}
		})
	}
	if n := r.b.Stats().Subscribers; n != 0 {
		t.Errorf("refused requests left %d subscribers", n)
	}
}

// TestStreamHeartbeat: a quiet stream carries heartbeat comments; a
// Last-Event-ID replays nothing committed before the subscription, and
// what is committed after arrives.
func TestStreamHeartbeat(t *testing.T) {
	r := newStreamRig(t, stream.Config{}, func(c *Config) { c.StreamHeartbeat = 50 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := dialWorker(t, r.ingest, "w-hb", "eth0")
	send(w, []session.Session{sess("192.0.2.1"), sess("192.0.2.2")})

	res, err := get(ctx, http.DefaultClient, r.url+"/api/ntp/stream", "Authorization", "Bearer "+r.token, "Last-Event-ID", "1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	c := &sseClient{t: t, res: res, r: bufio.NewReader(res.Body)}
	if e := c.next(); !strings.HasPrefix(e.comment, "connected") {
		t.Fatalf("first frame %+v", e)
	}
	for range 3 {
		if e := c.next(); e.comment != "heartbeat" {
			t.Fatalf("frame %+v on a quiet stream, want a heartbeat", e)
		}
	}
	s := sess("192.0.2.3")
	buf := wire.AppendSession(nil, 3, &s)
	w.send(buf)
	w.waitAck(3)
	for {
		e := c.next()
		if e.comment == "heartbeat" {
			continue
		}
		if e.event != "session" || !strings.Contains(e.data, `"client_ip":"192.0.2.3"`) {
			t.Fatalf("after the heartbeats %+v, want the session of 192.0.2.3 (and nothing of before)", e)
		}
		break
	}
}

// smallWindow is a client whose sockets have a small receive buffer, so
// that a reader that stops reading pushes back on the server soon.
func smallWindow() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestStreamSlowSubscriber: a subscriber that stops reading while a worker
// sends 12,000 sessions of distinct clients as fast as it can does not
// hold ingestion back: every session is acknowledged and stored while it
// reads nothing, a subscriber that reads gets its events, and the slow
// one, when it reads again, gets what fitted in its buffer and a dropped
// event for the rest: received plus dropped is every session. /metrics
// counts the drops.
func TestStreamSlowSubscriber(t *testing.T) {
	const n = 12000
	// Batches of 500 at most: a reader that keeps up then has room for
	// each in its buffer of 1024. (Under load, group commit makes larger
	// batches, and a reader loses what a batch holds beyond its buffer.)
	r := newStreamRig(t, stream.Config{Buffer: 1024}, nil, func(c *ingest.Config) { c.BatchSize, c.MaxBatchSize = 500, 500 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slow := r.open(ctx, t, "", smallWindow())
	fast := r.open(ctx, t, "", nil)
	waitSubscribers(t, r.b, 2)
	fastDone := make(chan [2]int, 1)
	go func() {
		got, dropped := fast.tally(n)
		fastDone <- [2]int{len(got), dropped}
	}()

	ss := make([]session.Session, n)
	for i := range ss {
		ss[i] = bulkSession(i)
	}
	start := time.Now()
	w := dialWorker(t, r.ingest, "w-slow", "eth0")
	send(w, ss)
	took := time.Since(start)
	counts, err := r.st.InterfaceClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := int64(0)
	for _, c := range counts {
		stored += c
	}
	if stored != n || r.in.Snapshot().CommittedSessions != n {
		t.Fatalf("%d clients stored, %d sessions committed, want %d: ingestion was held back", stored, r.in.Snapshot().CommittedSessions, n)
	}
	f := <-fastDone
	got, dropped := slow.tally(n)
	t.Logf("%d sessions ingested in %v; the reading subscriber got %d (%d dropped), the stalled one %d and %d dropped",
		n, took.Round(time.Millisecond), f[0], f[1], len(got), dropped)
	if dropped == 0 || len(got) < 1024 {
		t.Errorf("the stalled subscriber got %d and %d dropped: want its buffer's worth at least and drops", len(got), dropped)
	}
	if f[0] <= len(got) {
		t.Errorf("the reading subscriber got %d, no more than the stalled one (%d)", f[0], len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("events out of order at %d", i)
		}
	}

	m := r.get(t, "/metrics")
	for _, want := range []string{
		"ntp_collector_stream_subscribers 2\n",
		fmt.Sprintf("ntp_collector_stream_events_dropped_total %d\n", dropped+f[1]),
		fmt.Sprintf("ntp_collector_stream_events_sent_total %d\n", len(got)+f[0]),
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// get reads path with the admin token and returns the body.
func (r *streamRig) get(t *testing.T, path string) string {
	t.Helper()
	res, err := get(context.Background(), http.DefaultClient, r.url+path, "Authorization", "Bearer "+r.token)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return string(b)
}

// TestStreamCap: over the cap a subscriber gets 503 saying why; a closed
// stream frees its place.
func TestStreamCap(t *testing.T) {
	r := newStreamRig(t, stream.Config{MaxSubscribers: 2}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	firstCtx, closeFirst := context.WithCancel(ctx)
	r.open(firstCtx, t, "", nil)
	r.open(ctx, t, "?kod=true", nil)
	res, err := get(ctx, http.DefaultClient, r.url+"/api/ntp/stream", "Authorization", "Bearer "+r.token)
	if err != nil {
		t.Fatal(err)
	}
	var body errorBody
	err = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || body.Error.Code != CodeTooManyStreams ||
		!strings.Contains(body.Error.Message, "2 live streams are open") || !strings.Contains(body.Error.Message, "--max-stream-clients") ||
		res.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: %d %+v (%v), Retry-After %q", res.StatusCode, body.Error, err, res.Header.Get("Retry-After"))
	}
	if m := r.get(t, "/metrics"); !strings.Contains(m, "ntp_collector_stream_subscribers 2\n") {
		t.Error("/metrics does not count 2 subscribers")
	}
	closeFirst()
	waitSubscribers(t, r.b, 1)
	r.open(ctx, t, "", nil)
}

// TestStreamAuth: the stream is a read: open without a read token (the
// admin token configured or not), and with one it needs it or the admin
// token; a wrong token is 403.
func TestStreamAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status := func(r *streamRig, hdr ...string) int {
		t.Helper()
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		res, err := get(sctx, http.DefaultClient, r.url+"/api/ntp/stream", hdr...)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a Bearer challenge")
		}
		return res.StatusCode
	}
	guarded := newStreamRig(t, stream.Config{}, func(c *Config) { c.ReadToken = "read-tok" })
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{nil, http.StatusUnauthorized},
		{[]string{"Authorization", "Basic eDp5"}, http.StatusUnauthorized},
		{[]string{"Authorization", "Bearer wrong"}, http.StatusForbidden},
		{[]string{"Authorization", "Bearer read-tok"}, http.StatusOK},
		{[]string{"Authorization", "Bearer " + adminToken}, http.StatusOK},
	} {
		if got := status(guarded, tc.hdr...); got != tc.want {
			t.Errorf("with read token, %v: %d, want %d", tc.hdr, got, tc.want)
		}
	}
	open := newStreamRig(t, stream.Config{}, nil)
	if got := status(open); got != http.StatusOK {
		t.Errorf("no read token, no header: %d, want 200", got)
	}
}

// FuzzStreamQuery: any query string either parses into a filter or is a
// validation error naming a parameter; never a panic.
func FuzzStreamQuery(f *testing.F) {
	for _, s := range []string{"", "interface_name=eth0", "cidr=192.0.2.0/24", "client_ip=2001:db8::1", "answered=false",
		"kod=true", "mode=6,7", "mode=0,1,2,3,4,5,6,7", "mode=6,,7", "cidr=::ffff:1.2.3.4/120&client_ip=1.2.3.4%25eth0",
		"a=%zz", "mode=%2C", "kod=true&kod=true"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		flt, err := parseStreamQuery(raw)
		if err != nil {
			ve, ok := err.(*validationError)
			if !ok || ve.code != CodeInvalidParameter || ve.msg == "" {
				t.Fatalf("%q: error %T %v", raw, err, err)
			}
			return
		}
		if flt.Prefix.IsValid() && flt.Prefix.Bits() < 0 {
			t.Fatalf("%q: invalid prefix %v", raw, flt.Prefix)
		}
		s := sess("192.0.2.1")
		flt.Match(&s) // any parsed filter can be matched
	})
}
