package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// TestStatisticsNewUser is what a new user does: start the collector on
// an empty store with the default settings, open the statistics, let a
// worker send five clients over TCP, and open them again at once. The
// second answer has the five clients: once, the first answer's "data": []
// was served from a cache for minutes after.
func TestStatisticsNewUser(t *testing.T) {
	st := openStore(t)
	in, addr, m, _ := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m; c.StatsMaxAge = 0 })

	type statsBody struct {
		Data []struct {
			InterfaceName string `json:"interface_name"`
			Clients       int64  `json:"clients"`
			Sessions      int64  `json:"sessions"`
			Processing    struct {
				P50 *float64 `json:"p50_of_client_means"`
			} `json:"server_processing_time_seconds"`
			Range struct {
				Requests        int64  `json:"requests"`
				DistinctClients uint64 `json:"distinct_clients"`
				NewClients      int64  `json:"new_clients"`
			} `json:"range"`
		} `json:"data"`
		ClientMeansAge *float64 `json:"client_means_age_seconds"`
	}
	get := func() statsBody {
		r := ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
		wantStatus(t, r, http.StatusOK)
		return decode[statsBody](t, r)
	}
	if b := get(); len(b.Data) != 0 {
		t.Fatalf("empty store: %+v", b.Data)
	}

	w := dialWorker(t, addr, "w-1", "veth-new")
	var buf []byte
	for i := range 5 {
		s := sess(fmt.Sprintf("198.51.100.%d", i+1), onIface("veth-new"), at(time.Duration(i)*time.Second))
		buf = wire.AppendSession(buf[:0], uint64(i+1), &s)
		w.send(buf)
	}
	w.waitAck(5)

	b := get()
	if len(b.Data) != 1 {
		t.Fatalf("after five clients were stored: %+v", b.Data)
	}
	d := b.Data[0]
	if d.InterfaceName != "veth-new" || d.Clients != 5 || d.Sessions != 5 {
		t.Errorf("after five clients were stored: %+v", d)
	}
	if d.Range.Requests != 5 || d.Range.DistinctClients != 5 || d.Range.NewClients != 5 {
		t.Errorf("range after five clients were stored: %+v", d.Range)
	}
	// Five rows take no time to scan: the percentiles of the client means
	// are recomputed for the new clients within the wait.
	if d.Processing.P50 == nil || b.ClientMeansAge == nil {
		t.Errorf("client means: p50 %v, age %v", d.Processing.P50, b.ClientMeansAge)
	}
}

// TestClientMeansWait holds a refresh of the client means in progress and
// checks who waits for it: a request finds the figures stale (older than
// maxAge) and waits when the last computation was quick, as a small
// table's is, so that it answers with the new figures; it answers at once
// with the old ones when the last computation took longer than the wait,
// as a large table's does. The wait is widened to an hour so that a
// request that waits when it should not cannot return before the
// computation is let go.
func TestClientMeansWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lastTook time.Duration
		wantNew  bool // the answer is the held computation's
	}{
		{"last computation quick: waits", time.Millisecond, true},
		{"last computation slow: answers at once", 2 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			fixture(t, st)
			ctx := context.Background()
			c := newClientMeansCache(ctx, time.Minute, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
			c.wait = time.Hour
			if _, _, err := c.get(ctx); err != nil {
				t.Fatal(err)
			}
			c.mu.Lock()
			if c.val == nil {
				c.mu.Unlock()
				t.Fatal("the first request did not wait for the first figures")
			}
			// Stale, and ended long enough ago that the refresh is due.
			old := c.at.Add(-2 * time.Minute)
			c.at, c.took = old, tc.lastTook
			c.ended = time.Now().Add(-tc.lastTook - time.Minute)
			c.mu.Unlock()

			started, release := make(chan struct{}), make(chan struct{})
			c.means = func(ctx context.Context) (map[string]store.ClientMeans, error) {
				close(started)
				<-release
				return st.ClientMeanPercentiles(ctx)
			}
			type answer struct {
				at  time.Time
				err error
			}
			got := make(chan answer, 1)
			go func() {
				_, at, err := c.get(ctx)
				got <- answer{at, err}
			}()
			<-started
			if tc.wantNew {
				close(release)
			}
			select {
			case a := <-got:
				if a.err != nil {
					t.Fatal(a.err)
				}
				if isNew := !a.at.Equal(old); isNew != tc.wantNew {
					t.Errorf("answered with the figures begun at %v (the old ones: %v), want new ones: %v", a.at, old, tc.wantNew)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the request is still waiting for the held computation")
			}
			if !tc.wantNew {
				close(release)
			}
			awaitMeans(c)
		})
	}
}

// TestClientMeansOutwaited holds the first computation of the client
// means, as a large table's is long: the first request waits the whole
// wait and answers without figures, and the next one, with the wait
// widened to an hour, answers at once rather than wait for it again.
func TestClientMeansOutwaited(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ctx := context.Background()
	c := newClientMeansCache(ctx, time.Minute, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	release := make(chan struct{})
	c.means = func(ctx context.Context) (map[string]store.ClientMeans, error) {
		<-release
		return st.ClientMeanPercentiles(ctx)
	}
	c.wait = 50 * time.Millisecond
	if v, at, err := c.get(ctx); err != nil || v != nil || !at.IsZero() {
		t.Fatalf("first request: %v, %v, %v; want no figures yet", v, at, err)
	}
	c.wait = time.Hour
	got := make(chan error, 1)
	go func() {
		_, _, err := c.get(ctx)
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the second request is waiting for the computation the first outwaited")
	}
	close(release)
	awaitMeans(c)
}

// awaitMeans waits for c's running computation, if any, so that it ends
// before the test closes the store.
func awaitMeans(c *clientMeansCache) {
	c.mu.Lock()
	done := c.inflight
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}
