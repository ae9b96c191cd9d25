package stream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

var base = time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)

func event(seq uint64, ip string, opts ...func(*session.Session)) stream.Event {
	s := session.Session{
		ClientIP: netip.MustParseAddr(ip), ClientPort: 40000, ServerIP: netip.MustParseAddr("192.0.2.1"), ServerPort: 123,
		Interface: "eth0", Version: 4, Mode: 3, Answered: true, Stratum: 2, Precision: -24, ReferenceID: "192.0.2.9",
		Leap: session.LeapNoWarning, ReceiveTime: 1.7e9, TransmitTime: 1.7e9, Processing: 2e-5, Total: 1e-4,
		Timestamp: base.Add(time.Duration(seq) * time.Millisecond),
	}
	for _, o := range opts {
		o(&s)
	}
	return stream.Event{WorkerID: "w-1", Seq: seq, Session: s}
}

func unanswered(s *session.Session) {
	s.Answered, s.Stratum, s.Precision, s.ReferenceID, s.Leap, s.Processing, s.Total = false, 0, 0, "", "", 0, 0
}
func kod(s *session.Session) { s.Stratum, s.KoD, s.ReferenceID = 0, "RATE", "RATE" }
func onIface(n string) func(*session.Session) {
	return func(s *session.Session) { s.Interface = n }
}
func mode(m uint8) func(*session.Session) {
	return func(s *session.Session) { unanswered(s); s.Mode = m }
}

func ptr[T any](v T) *T { return &v }

// publish gathers events into a Batch, as the ingestion writer does while
// it builds a batch, and publishes it, as it does after the commit.
func publish(b *stream.Broadcaster, events []stream.Event) {
	x := b.NewBatch()
	for _, e := range events {
		add(x, e)
	}
	b.Publish(x)
}

// add gathers e into x.
func add(x *stream.Batch, e stream.Event) { x.Add(e.WorkerID, e.Seq, &e.Session) }

// filterCase is a filter and the seqs of filterEvents it selects.
type filterCase struct {
	name string
	f    stream.Filter
	want []uint64
}

// filterEvents are sessions that tell the filters of filterCases apart.
func filterEvents() []stream.Event {
	return []stream.Event{
		event(1, "198.51.100.7"),
		event(2, "2001:db8::7"),
		event(3, "::ffff:198.51.100.8"),
		event(4, "198.51.100.9", unanswered),
		event(5, "198.51.100.10", kod),
		event(6, "198.51.100.11", mode(6)),
		event(7, "203.0.113.1", onIface("eth1")),
	}
}

func filterCases() []filterCase {
	return []filterCase{
		{"zero selects all", stream.Filter{}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"interface", stream.Filter{Interface: "eth1"}, []uint64{7}},
		{"cidr v4 takes mapped", stream.Filter{Prefix: netip.MustParsePrefix("198.51.100.0/29")}, []uint64{1}},
		{"cidr v4 wide", stream.Filter{Prefix: netip.MustParsePrefix("198.51.100.0/24")}, []uint64{1, 3, 4, 5, 6}},
		{"cidr host bits set", stream.Filter{Prefix: netip.MustParsePrefix("198.51.100.77/24")}, []uint64{1, 3, 4, 5, 6}},
		{"cidr mapped prefix", stream.Filter{Prefix: netip.MustParsePrefix("::ffff:198.51.100.8/128")}, []uint64{3}},
		{"cidr v6", stream.Filter{Prefix: netip.MustParsePrefix("2001:db8::/32")}, []uint64{2}},
		{"client ip", stream.Filter{ClientIP: netip.MustParseAddr("2001:db8::7")}, []uint64{2}},
		{"client ip mapped form", stream.Filter{ClientIP: netip.MustParseAddr("::ffff:198.51.100.7")}, []uint64{1}},
		{"client ip plain finds mapped", stream.Filter{ClientIP: netip.MustParseAddr("198.51.100.8")}, []uint64{3}},
		{"unanswered", stream.Filter{Answered: ptr(false)}, []uint64{4, 6}},
		{"answered", stream.Filter{Answered: ptr(true)}, []uint64{1, 2, 3, 5, 7}},
		{"kod", stream.Filter{KoD: ptr(true)}, []uint64{5}},
		{"not kod", stream.Filter{KoD: ptr(false)}, []uint64{1, 2, 3, 4, 6, 7}},
		{"modes 6,7", stream.Filter{Modes: 1<<6 | 1<<7}, []uint64{6}},
		{"mode 3", stream.Filter{Modes: 1 << 3}, []uint64{1, 2, 3, 4, 5, 7}},
		{"all at once", stream.Filter{Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.0/24"), Answered: ptr(true), KoD: ptr(true), Modes: 1 << 3}, []uint64{5}},
		{"all at once but answered", stream.Filter{Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.0/24"), Answered: ptr(false), KoD: ptr(true), Modes: 1 << 3}, nil},
		{"nothing", stream.Filter{Interface: "eth0", ClientIP: netip.MustParseAddr("203.0.113.1")}, nil},
	}
}

func TestFilter(t *testing.T) {
	all := filterEvents()
	for _, tc := range filterCases() {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			for i := range all {
				if tc.f.Match(&all[i].Session) {
					got = append(got, all[i].Seq)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFiltersThroughPublish: every filter of TestFilter subscribed at once,
// each twice (the second with pointers of its own, so equal filters share
// a check), gets through Publish exactly what it selects; and after some
// unsubscribe the others still do. A grouping that merged two different
// filters, or lost a subscriber of a shared one, fails here.
func TestFiltersThroughPublish(t *testing.T) {
	cases := filterCases()
	b := stream.New(stream.Config{MaxSubscribers: 2 * len(cases)})
	defer b.Close()
	subs := make([][2]*stream.Subscriber, len(cases))
	for i, tc := range cases {
		for j := range 2 {
			f := tc.f
			if f.Answered != nil {
				f.Answered = ptr(*f.Answered)
			}
			if f.KoD != nil {
				f.KoD = ptr(*f.KoD)
			}
			s, err := b.Subscribe(f)
			if err != nil {
				t.Fatal(err)
			}
			subs[i][j] = s
		}
	}
	check := func(round string, open func(i, j int) bool) {
		t.Helper()
		publish(b, filterEvents())
		for i, tc := range cases {
			for j := range 2 {
				if !open(i, j) {
					continue
				}
				got, dropped := seqs(t, parse(t, subs[i][j].Take(nil)))
				if fmt.Sprint(got) != fmt.Sprint(tc.want) || dropped != 0 {
					t.Errorf("%s: %s #%d got %v (dropped %d), want %v", round, tc.name, j, got, dropped, tc.want)
				}
			}
		}
	}
	check("all subscribed", func(int, int) bool { return true })
	// Close the first of every even case and both of every fifth.
	closed := func(i, j int) bool { return i%5 == 0 || (i%2 == 0 && j == 0) }
	for i := range cases {
		for j := range 2 {
			if closed(i, j) {
				subs[i][j].Close()
			}
		}
	}
	check("some closed", func(i, j int) bool { return !closed(i, j) })
}

// frame is one parsed text/event-stream frame.
type frame struct {
	event string
	data  map[string]any
}

// parse splits frames; comments are skipped.
func parse(t *testing.T, b []byte) []frame {
	t.Helper()
	s := string(b)
	if s != "" && !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("frames do not end with a blank line: %q", s)
	}
	var out []frame
	for _, f := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		if f == "" || strings.HasPrefix(f, ":") {
			continue
		}
		lines := strings.Split(f, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("frame %q is not an event line and one data line", f)
		}
		var fr frame
		fr.event = strings.TrimPrefix(lines[0], "event: ")
		if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[1], "data: ")), &fr.data); err != nil {
			t.Fatalf("data of %q: %v", f, err)
		}
		out = append(out, fr)
	}
	return out
}

func seqs(t *testing.T, fs []frame) (got []uint64, dropped uint64) {
	t.Helper()
	for _, f := range fs {
		switch f.event {
		case "session":
			got = append(got, uint64(f.data["seq"].(float64)))
		case "dropped":
			dropped += uint64(f.data["dropped"].(float64))
		default:
			t.Fatalf("unknown event %q", f.event)
		}
	}
	return got, dropped
}

// TestSessionFrame: the data is the session line of package wire, type
// and seq included, with worker_id; strings that need escaping stay one
// line.
func TestSessionFrame(t *testing.T) {
	b := stream.New(stream.Config{})
	sub, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	e := event(42, "2001:db8::1", kod)
	e.WorkerID = "w\n\"x\""
	e.Session.Interface = "eth0\nevent: forged"
	publish(b, []stream.Event{e})
	fs := parse(t, sub.Take(nil))
	if len(fs) != 1 || fs[0].event != "session" {
		t.Fatalf("frames %+v", fs)
	}
	d := fs[0].data
	for k, want := range map[string]any{"type": "session", "seq": 42.0, "worker_id": "w\n\"x\"", "client_ip": "2001:db8::1",
		"interface_name": "eth0\nevent: forged", "kod_code": "RATE", "answered": true, "mode": 3.0, "ntp_version": 4.0,
		"session_timestamp": "2026-12-02T07:00:00.042000000Z"} {
		if d[k] != want {
			t.Errorf("%s = %#v, want %#v", k, d[k], want)
		}
	}
	if len(d) != 28 {
		t.Errorf("%d fields, want the wire's 27 and worker_id: %v", len(d), d)
	}
}

// TestPublishTake: each subscriber gets what its filter selects, in order,
// and Take empties the buffer.
func TestPublishTake(t *testing.T) {
	b := stream.New(stream.Config{})
	if b.Listening() {
		t.Fatal("listening with no subscriber")
	}
	all, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	un, err := b.Subscribe(stream.Filter{Answered: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	defer un.Close()
	if !b.Listening() {
		t.Fatal("not listening with two subscribers")
	}
	batch := []stream.Event{event(1, "192.0.2.10"), event(2, "192.0.2.11", unanswered), event(3, "192.0.2.12"), event(4, "192.0.2.13", unanswered)}
	publish(b, batch)
	// The caller may reuse its events at once.
	for i := range batch {
		batch[i] = stream.Event{}
	}
	select {
	case <-all.Ready():
	default:
		t.Fatal("Ready did not receive after a publish")
	}
	if got, d := seqs(t, parse(t, all.Take(nil))); fmt.Sprint(got) != "[1 2 3 4]" || d != 0 {
		t.Errorf("all: %v, dropped %d", got, d)
	}
	if got, d := seqs(t, parse(t, un.Take(nil))); fmt.Sprint(got) != "[2 4]" || d != 0 {
		t.Errorf("unanswered: %v, dropped %d", got, d)
	}
	if rest := all.Take(nil); len(rest) != 0 {
		t.Errorf("a second Take returned %q", rest)
	}
	if st := b.Stats(); st.Subscribers != 2 || st.Sent != 6 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSlowSubscriberDrops: a subscriber that does not take loses what
// does not fit, and is told how many after what it kept; Publish does not
// wait for it, and another subscriber loses nothing.
func TestSlowSubscriberDrops(t *testing.T) {
	b := stream.New(stream.Config{Buffer: 4})
	slow, _ := b.Subscribe(stream.Filter{})
	defer slow.Close()
	fast, _ := b.Subscribe(stream.Filter{})
	defer fast.Close()
	narrow, _ := b.Subscribe(stream.Filter{ClientIP: netip.MustParseAddr("192.0.2.200")})
	defer narrow.Close()
	var fastGot []uint64
	for i := range 5 {
		var batch []stream.Event
		for j := range 2 {
			batch = append(batch, event(uint64(i*2+j+1), "192.0.2.1"))
		}
		publish(b, batch)
		got, _ := seqs(t, parse(t, fast.Take(nil)))
		fastGot = append(fastGot, got...)
	}
	got, dropped := seqs(t, parse(t, slow.Take(nil)))
	if fmt.Sprint(got) != "[1 2 3 4]" || dropped != 6 {
		t.Errorf("slow subscriber: %v and %d dropped, want [1 2 3 4] and 6", got, dropped)
	}
	if fmt.Sprint(fastGot) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("fast subscriber: %v", fastGot)
	}
	// The narrow filter selected nothing: nothing to drop either.
	if rest := narrow.Take(nil); len(rest) != 0 {
		t.Errorf("narrow subscriber got %q", rest)
	}
	// Once it has taken, it gets events again, and no second notice.
	publish(b, []stream.Event{event(11, "192.0.2.1")})
	got, dropped = seqs(t, parse(t, slow.Take(nil)))
	if fmt.Sprint(got) != "[11]" || dropped != 0 {
		t.Errorf("after taking: %v and %d dropped", got, dropped)
	}
	if st := b.Stats(); st.Dropped != 6 || st.Sent != 4+10+1 {
		t.Errorf("stats %+v, want 6 dropped, 15 sent", st)
	}
}

// TestBatchCounts: a Batch keeps what some filter's subscribers can still
// take and counts the rest; a session kept for one filter is not counted
// twice by another that also selects it but had already reached its limit.
func TestBatchCounts(t *testing.T) {
	b := stream.New(stream.Config{Buffer: 2})
	defer b.Close()
	all, _ := b.Subscribe(stream.Filter{})
	narrow, _ := b.Subscribe(stream.Filter{Prefix: netip.MustParsePrefix("198.51.100.0/24")})
	// Two outside the prefix first: all's two places go to them, and the
	// three inside are over for all but two of them are kept for narrow.
	publish(b, []stream.Event{event(1, "203.0.113.1"), event(2, "203.0.113.2"),
		event(3, "198.51.100.3"), event(4, "198.51.100.4"), event(5, "198.51.100.5")})
	for _, tc := range []struct {
		name    string
		s       *stream.Subscriber
		want    string
		dropped uint64
	}{
		{"all", all, "[1 2]", 3},
		{"narrow", narrow, "[3 4]", 1},
	} {
		got, dropped := seqs(t, parse(t, tc.s.Take(nil)))
		if fmt.Sprint(got) != tc.want || dropped != tc.dropped {
			t.Errorf("%s: %v and %d dropped, want %s and %d", tc.name, got, dropped, tc.want, tc.dropped)
		}
	}
	if st := b.Stats(); st.Dropped != 4 || st.Sent != 4 {
		t.Errorf("stats %+v, want 4 sent and 4 dropped", st)
	}
}

// TestBatchBelongsToItsSubscribers: a Batch is offered to the subscribers
// of the moment its first session came; one who subscribes later gets the
// next batch, and one who left meanwhile gets nothing.
func TestBatchBelongsToItsSubscribers(t *testing.T) {
	b := stream.New(stream.Config{})
	defer b.Close()
	early, _ := b.Subscribe(stream.Filter{})
	leaving, _ := b.Subscribe(stream.Filter{})
	x := b.NewBatch()
	add(x, event(1, "192.0.2.1"))
	late, _ := b.Subscribe(stream.Filter{})
	leaving.Close()
	add(x, event(2, "192.0.2.2"))
	b.Publish(x)
	if got, _ := seqs(t, parse(t, early.Take(nil))); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("early subscriber: %v", got)
	}
	if rest := late.Take(nil); len(rest) != 0 {
		t.Errorf("late subscriber got part of a batch begun before it: %q", rest)
	}
	x.Reset()
	add(x, event(3, "192.0.2.3"))
	b.Publish(x)
	if got, _ := seqs(t, parse(t, late.Take(nil))); fmt.Sprint(got) != "[3]" {
		t.Errorf("late subscriber, next batch: %v", got)
	}
	if rest := leaving.Take(nil); len(rest) != 0 {
		t.Errorf("the subscriber that left got %q", rest)
	}
	if st := b.Stats(); st.Sent != 3 {
		t.Errorf("%d sent, want 3", st.Sent)
	}
	var none *stream.Broadcaster
	y := none.NewBatch()
	add(y, event(1, "192.0.2.1"))
	none.Publish(y) // nothing to do, and no panic
}

// TestBatchHoldsWhatCanBeDelivered: under one unfiltered subscriber a
// batch of 50,000 sessions keeps the 2,048 its queue can take, not 50,000;
// the rest are counted as dropped.
func TestBatchHoldsWhatCanBeDelivered(t *testing.T) {
	const sessions = 50000
	b := stream.New(stream.Config{})
	defer b.Close()
	sub, _ := b.Subscribe(stream.Filter{})
	e := event(1, "192.0.2.1")
	before := heap()
	x := b.NewBatch()
	for i := range sessions {
		x.Add(e.WorkerID, uint64(i+1), &e.Session)
	}
	held := heap() - before
	perSession := int64(unsafe.Sizeof(e))
	t.Logf("a batch of %d sessions holds %d KiB; all of them would be %d KiB", sessions, held>>10, sessions*perSession>>10)
	if held > sessions*perSession/4 {
		t.Errorf("the batch holds %d KiB, more than a quarter of all %d sessions (%d KiB)", held>>10, sessions, sessions*perSession>>10)
	}
	b.Publish(x)
	runtime.KeepAlive(x)
	var got int
	var dropped uint64
	for buf := sub.Take(nil); len(buf) > 0; buf = sub.Take(nil) {
		g, d := seqs(t, parse(t, buf))
		got, dropped = got+len(g), dropped+d
	}
	if got != stream.DefaultBuffer || dropped != sessions-stream.DefaultBuffer {
		t.Errorf("%d received and %d dropped, want %d and %d", got, dropped, stream.DefaultBuffer, sessions-stream.DefaultBuffer)
	}
}

// TestTakeInChunks: a long queue is handed over in pieces of about 64 KiB,
// Ready receiving again while frames wait, in order; the drop notice comes
// after the last piece, because the events it names came after them all.
func TestTakeInChunks(t *testing.T) {
	const buffer, published = 1000, 1500
	b := stream.New(stream.Config{Buffer: buffer})
	defer b.Close()
	sub, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var batch []stream.Event
	for i := range published {
		batch = append(batch, event(uint64(i+1), "192.0.2.1"))
	}
	publish(b, batch)
	var got []uint64
	var pieces int
	for {
		select {
		case <-sub.Ready():
		default:
			t.Fatalf("Ready not receiving after %d pieces, %d events", pieces, len(got))
		}
		buf := sub.Take(nil)
		// The bound is on the frames before the one that passes it.
		if len(buf) > 64<<10+2048 {
			t.Errorf("piece %d is %d bytes", pieces, len(buf))
		}
		g, dropped := seqs(t, parse(t, buf))
		got = append(got, g...)
		pieces++
		if dropped != 0 {
			if dropped != published-buffer || len(got) != buffer {
				t.Errorf("told %d dropped after %d events, want %d after %d", dropped, len(got), published-buffer, buffer)
			}
			break
		}
		if len(g) == 0 {
			t.Fatalf("piece %d empty before the drop notice", pieces)
		}
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, seq)
		}
	}
	if pieces < 2 {
		t.Errorf("%d events in %d piece", len(got), pieces)
	}
	if rest := sub.Take(nil); len(rest) != 0 {
		t.Errorf("after the notice: %q", rest)
	}
	t.Logf("%d events in %d pieces", len(got), pieces)
}

// TestSubscribersShareFrames: thirty-two subscribers that read nothing
// hold one copy of the frames waiting for them, not thirty-two. The heap
// they add is measured against what the frames themselves take.
func TestSubscribersShareFrames(t *testing.T) {
	const subscribers, buffer = 32, 2048
	b := stream.New(stream.Config{Buffer: buffer, MaxSubscribers: subscribers})
	defer b.Close()
	probe, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for range subscribers - 1 {
		if _, err := b.Subscribe(stream.Filter{}); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]stream.Event, buffer)
	for i := range batch {
		batch[i] = event(uint64(i+1), "192.0.2.1")
	}
	before := heap()
	publish(b, batch)
	held := heap() - before
	// Read one subscriber's queue for the size of one copy of the frames.
	var frames int
	for {
		buf := probe.Take(nil)
		if len(buf) == 0 {
			break
		}
		frames += len(buf)
	}
	perCopy := float64(held) / float64(frames)
	t.Logf("%d subscribers hold %d KiB for %d KiB of frames: %.2f copies", subscribers, held>>10, frames>>10, perCopy)
	// One copy, plus a queue of references per subscriber (24 bytes each
	// against frames of about 500): far below two copies, let alone 32.
	if perCopy > 4 {
		t.Errorf("the subscribers hold %.1f copies of the frames", perCopy)
	}
	runtime.KeepAlive(batch)
}

// heap is the live heap after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestCap: over MaxSubscribers Subscribe fails with ErrTooMany; Close
// frees a place; Broadcaster.Close ends every subscription.
func TestCap(t *testing.T) {
	b := stream.New(stream.Config{MaxSubscribers: 2})
	s1, err1 := b.Subscribe(stream.Filter{})
	s2, err2 := b.Subscribe(stream.Filter{})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := b.Subscribe(stream.Filter{}); !errors.Is(err, stream.ErrTooMany) || !strings.Contains(err.Error(), "2 subscribed") {
		t.Fatalf("third subscriber: %v", err)
	}
	s1.Close()
	s1.Close() // twice is harmless
	if st := b.Stats(); st.Subscribers != 1 {
		t.Errorf("%d subscribers after a Close", st.Subscribers)
	}
	s3, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatalf("after a Close: %v", err)
	}
	select {
	case <-s1.Done():
	default:
		t.Error("Done not closed after Close")
	}
	b.Close()
	for _, s := range []*stream.Subscriber{s2, s3} {
		select {
		case <-s.Done():
		default:
			t.Error("Done not closed after Broadcaster.Close")
		}
	}
	if b.Listening() {
		t.Error("listening after Close")
	}
	if _, err := b.Subscribe(stream.Filter{}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	publish(b, []stream.Event{event(1, "192.0.2.1")}) // no one: nothing happens
}

// TestConcurrentAccounting: while one goroutine publishes and a reader
// takes at its own slower pace, every event is either received, in order,
// or counted in a dropped frame: none is lost silently. Other subscribers
// come and go meanwhile (run with -race).
func TestConcurrentAccounting(t *testing.T) {
	b := stream.New(stream.Config{Buffer: 64, MaxSubscribers: 4})
	sub, err := b.Subscribe(stream.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	const batches, per = 200, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // churn
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, err := b.Subscribe(stream.Filter{Answered: ptr(true)}); err == nil {
				s.Take(nil)
				s.Close()
			}
		}
	}()
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range batches {
			batch := make([]stream.Event, per)
			for j := range batch {
				batch[j] = event(uint64(i*per+j+1), "192.0.2.1")
			}
			publish(b, batch)
		}
	}()
	var got []uint64
	var dropped uint64
	var buf []byte
	take := func() {
		buf = sub.Take(buf)
		g, d := seqs(t, parse(t, buf))
		got, dropped = append(got, g...), dropped+d
	}
	for done := false; !done; {
		select {
		case <-sub.Ready():
			time.Sleep(200 * time.Microsecond) // slower than the publisher
			take()
		case <-published:
			done = true
		}
	}
	for take(); len(buf) > 0; take() { // what the last batches left
	}
	close(stop)
	wg.Wait()
	sub.Close()
	if uint64(len(got))+dropped != batches*per {
		t.Fatalf("%d received + %d dropped != %d published", len(got), dropped, batches*per)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("out of order at %d: %d after %d", i, got[i], got[i-1])
		}
	}
	if st := b.Stats(); st.Dropped < dropped {
		t.Errorf("stats count %d dropped, the subscriber was told %d", st.Dropped, dropped)
	}
	t.Logf("%d received, %d dropped", len(got), dropped)
}
