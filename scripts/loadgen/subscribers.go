package main

// The live stream's subscribers during a run: real HTTP connections to the
// collector's GET /api/ntp/stream, opened before the load starts and read
// frame by frame until every session they select has arrived or been
// announced dropped, so that a run measures what they cost ingestion.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// streamSpec is one configuration of subscribers: how many, and the /api/ntp/stream
// cidr filter they all use (none when not valid).
type streamSpec struct {
	subs int
	cidr netip.Prefix
}

// String is the spec as -stream-subscribers spells it.
func (s streamSpec) String() string {
	if s.cidr.IsValid() {
		return fmt.Sprintf("%d@%s", s.subs, s.cidr)
	}
	return strconv.Itoa(s.subs)
}

// parseStreamSpecs reads -stream-subscribers: comma-separated entries, each
// N (N unfiltered subscribers) or N@CIDR (N subscribers of that prefix).
func parseStreamSpecs(v string) ([]streamSpec, error) {
	var out []streamSpec
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		n, cidr, filtered := strings.Cut(f, "@")
		var s streamSpec
		var err error
		if s.subs, err = strconv.Atoi(n); err != nil || s.subs < 0 {
			return nil, fmt.Errorf("-stream-subscribers %q: want N or N@CIDR with N ≥ 0", f)
		}
		if filtered {
			if s.cidr, err = netip.ParsePrefix(cidr); err != nil {
				return nil, fmt.Errorf("-stream-subscribers %q: %w", f, err)
			}
			s.cidr = s.cidr.Masked()
		}
		out = append(out, s)
	}
	return out, nil
}

// subscriber is what one stream has delivered so far.
type subscriber struct {
	sessions   atomic.Uint64 // event: session frames
	dropped    atomic.Uint64 // the sum of the event: dropped frames' counts
	heartbeats atomic.Uint64 // ": heartbeat" comments
}

// audience is the subscribers of one run.
type audience struct {
	subs    []*subscriber
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closing atomic.Bool
	mu      sync.Mutex
	err     error // the first stream that ended before the run did
}

// subscribe opens n streams of base's GET /api/ntp/stream with the read
// token and returns once the collector has said each is subscribed.
func subscribe(ctx context.Context, base, token string, spec streamSpec) (*audience, error) {
	ctx, cancel := context.WithCancel(ctx)
	a := &audience{cancel: cancel}
	u := base + "/api/ntp/stream"
	if spec.cidr.IsValid() {
		u += "?" + url.Values{"cidr": {spec.cidr.String()}}.Encode()
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for range spec.subs {
		br, body, err := open(ctx, client, u, token)
		if err != nil {
			a.close()
			return nil, err
		}
		s := &subscriber{}
		a.subs = append(a.subs, s)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer body.Close()
			if err := s.read(br); !a.closing.Load() {
				a.mu.Lock()
				if a.err == nil {
					a.err = fmt.Errorf("a live stream ended before the run did: %w", err)
				}
				a.mu.Unlock()
			}
		}()
	}
	return a, nil
}

// open starts one stream and reads its first frame, the comment the
// collector sends once the subscription is in place.
func open(ctx context.Context, client *http.Client, u, token string) (*bufio.Reader, io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET /api/ntp/stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, nil, fmt.Errorf("GET /api/ntp/stream: %s: %s", resp.Status, msg)
	}
	// Session frames are far shorter than a worker's longest line.
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	first, err := br.ReadSlice('\n')
	if err != nil || !bytes.HasPrefix(first, []byte(": connected")) {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("GET /api/ntp/stream: first line %q, want the connected comment (%v)", first, err)
	}
	return br, resp.Body, nil
}

var (
	eventSession = []byte("event: session")
	eventDropped = []byte("event: dropped")
	dataPrefix   = []byte("data: ")
	heartbeat    = []byte(": heartbeat")
	droppedData  = []byte(`{"dropped":`)
)

// read counts the frames of a text/event-stream until it ends: field lines
// up to a blank line, comments starting with a colon.
func (s *subscriber) read(br *bufio.Reader) error {
	var event []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0:
			event = event[:0]
		case line[0] == ':':
			if bytes.Equal(line, heartbeat) {
				s.heartbeats.Add(1)
			}
		case bytes.HasPrefix(line, []byte("event: ")):
			event = append(event[:0], line...)
		case bytes.HasPrefix(line, dataPrefix):
			data := line[len(dataPrefix):]
			switch {
			case bytes.Equal(event, eventSession):
				s.sessions.Add(1)
			case bytes.Equal(event, eventDropped):
				n, ok := bytes.CutPrefix(data, droppedData)
				v, err := strconv.ParseUint(string(bytes.TrimSuffix(n, []byte("}"))), 10, 64)
				if !ok || err != nil {
					return fmt.Errorf("dropped frame %q", data)
				}
				s.dropped.Add(v)
			default:
				return fmt.Errorf("data %.80q of an unknown event %q", data, event)
			}
		default:
			return fmt.Errorf("unexpected line %.80q", line)
		}
	}
}

// streamTotals sums the subscribers' counts and adds the collector's.
type streamTotals struct {
	sessions, dropped, heartbeats uint64
	// sent and droppedTotal are the collector's /metrics counters
	// ntp_collector_stream_events_sent_total and
	// ntp_collector_stream_events_dropped_total.
	sent, droppedTotal uint64
}

func (a *audience) totals() streamTotals {
	var t streamTotals
	for _, s := range a.subs {
		t.sessions += s.sessions.Load()
		t.dropped += s.dropped.Load()
		t.heartbeats += s.heartbeats.Load()
	}
	return t
}

// settle waits until every subscriber has received or been told it lost
// each of the want sessions it selects (the collector publishes a batch
// after acknowledging it, so the last ones arrive after the run's last
// ack), then reads the collector's stream counters and checks that they
// agree with what the subscribers counted.
func (a *audience) settle(ctx context.Context, metricsURL, token string, want int) (streamTotals, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		if err := a.failed(); err != nil {
			return streamTotals{}, err
		}
		short := -1
		for i, s := range a.subs {
			if got := s.sessions.Load() + s.dropped.Load(); got > uint64(want) {
				return streamTotals{}, fmt.Errorf("subscriber %d: %d sessions and %d dropped, more than the %d it selects", i, s.sessions.Load(), s.dropped.Load(), want)
			} else if got < uint64(want) {
				short = i
			}
		}
		if short < 0 {
			break
		}
		if time.Now().After(deadline) {
			s := a.subs[short]
			return streamTotals{}, fmt.Errorf("subscriber %d: %d sessions and %d dropped a minute after the last ack, of the %d it selects", short, s.sessions.Load(), s.dropped.Load(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t := a.totals()
	m, err := scrape(ctx, metricsURL, token, "ntp_collector_stream_events_sent_total", "ntp_collector_stream_events_dropped_total")
	if err != nil {
		return t, err
	}
	t.sent, t.droppedTotal = m[0], m[1]
	if t.sent != t.sessions || t.droppedTotal != t.dropped {
		return t, fmt.Errorf("the collector counts %d events sent and %d dropped, its subscribers %d received and %d announced dropped", t.sent, t.droppedTotal, t.sessions, t.dropped)
	}
	return t, nil
}

func (a *audience) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// close ends every stream and waits for the readers.
func (a *audience) close() {
	a.closing.Store(true)
	a.cancel()
	a.wg.Wait()
}

// scrape reads counters from a Prometheus text exposition.
func scrape(ctx context.Context, u, token string, names ...string) ([]uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	out := make([]uint64, len(names))
	found := make([]bool, len(names))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, n := range names {
			if name == n {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("/metrics %s: %w", n, err)
				}
				out[i], found[i] = uint64(f), true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	for i, n := range names {
		if !found[i] {
			return nil, errors.New("/metrics has no " + n)
		}
	}
	return out, nil
}
