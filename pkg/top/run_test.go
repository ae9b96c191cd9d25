package top

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient/apiclienttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable/termtabletest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// population serves the apiclienttest population through the real API.
func population(t *testing.T) (*apiclienttest.Server, *apiclient.Client) {
	t.Helper()
	now := time.Now()
	srv := apiclienttest.Start(t, apiclienttest.Options{})
	srv.Commit(t, apiclienttest.Population(now)...)
	c, err := apiclient.New(srv.URL, apiclient.Token{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func ips(rows []apiclient.ClientRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ClientIP)
	}
	return strings.Join(out, " ")
}

const (
	a = apiclienttest.AddrA
	b = apiclienttest.AddrB
	c = apiclienttest.AddrC
	d = apiclienttest.AddrD
)

func TestOnceJSON(t *testing.T) {
	_, api := population(t)
	var out strings.Builder
	err := Run(context.Background(), Config{API: api, Interval: 50 * time.Millisecond, Limit: 10, Once: true, JSON: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("--once printed %d lines, want one frame:\n%s", len(lines), out.String())
	}
	var f Frame
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatal(err)
	}
	if f.IntervalSeconds <= 0 || f.API != api.URL() || f.Error != "" {
		t.Errorf("frame %+v: want an interval, the API's URL and no error", f)
	}
	type totals struct{ clients, sessions, unanswered, kod int64 }
	want := map[string]totals{"eth0": {2, 18, 3, 0}, "eth1": {2, 7, 1, 2}}
	if len(f.Interfaces) != 2 {
		t.Fatalf("interfaces %+v, want eth0 and eth1", f.Interfaces)
	}
	for _, r := range f.Interfaces {
		if got := (totals{r.Clients, r.Sessions, r.Unanswered, r.KoD}); got != want[r.Interface] {
			t.Errorf("%s: %+v, want %+v", r.Interface, got, want[r.Interface])
		}
		// This API has no ingestion and so no workers: nothing to measure.
		if r.RequestsPerSecond != nil || r.AnsweredRatio != nil || r.Workers != 0 {
			t.Errorf("%s: rates %+v without any worker", r.Interface, r)
		}
	}
	if got := ips(f.TopTalkers); got != a+" "+b+" "+c+" "+d {
		t.Errorf("top talkers %s, want A B C D", got)
	}
	if got := ips(f.LatestUnanswered); got != c+" "+b {
		t.Errorf("latest unanswered %s, want C B", got)
	}
	if got := ips(f.LatestKoD); got != c {
		t.Errorf("latest KoD %s, want C", got)
	}
}

func TestOnceText(t *testing.T) {
	_, api := population(t)
	var out strings.Builder
	if err := Run(context.Background(), Config{API: api, Interval: 50 * time.Millisecond, Limit: 2, Once: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "\x1b") || strings.Contains(text, "q quits") {
		t.Errorf("output that is not a terminal has escapes or key help:\n%s", text)
	}
	_, talkers, ok := strings.Cut(text, "TOP TALKERS (most requests)\n")
	if !ok {
		t.Fatalf("no top talkers:\n%s", text)
	}
	rows := termtabletest.Rows(t, talkers)
	if len(rows) != 2 || rows[0]["ADDRESS"] != a || rows[0]["REQS"] != "10" || rows[0]["LAST SEEN"] != "3 min ago" ||
		rows[1]["ADDRESS"] != b || rows[1]["UNANS"] != "3" || rows[1]["INTERVAL"] != "64 s" {
		t.Errorf("top talkers %v, want A (10 requests, 3 min ago) and B (3 unanswered, every 64 s)", rows)
	}
}

// q ends the refreshes; so does the context. Both are a normal end.
func TestQuit(t *testing.T) {
	_, api := population(t)
	var out strings.Builder
	err := Run(context.Background(), Config{API: api, Interval: time.Hour, Limit: 1, Out: &out, In: strings.NewReader("xq")})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "ntp-collector top ·"); n != 1 {
		t.Errorf("%d frames before q, want 1", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	buf := &syncbuf.Buffer{}
	go func() {
		done <- Run(ctx, Config{API: api, Interval: 20 * time.Millisecond, Limit: 1, Out: buf, In: strings.NewReader("")})
	}()
	waitFor(t, func() bool { return strings.Count(buf.String(), "ntp-collector top ·") >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("cancelled: %v, want nil", err)
	}
}

// A collector that goes away after the start is shown in the frame, and top
// goes on trying; one that is not there at the start is an error.
func TestCollectorGone(t *testing.T) {
	srv, api := population(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{API: api, Interval: 20 * time.Millisecond, Limit: 1, JSON: true, Out: buf})
	}()
	waitFor(t, func() bool { return strings.Contains(buf.String(), `"top_talkers"`) })
	srv.Close()
	waitFor(t, func() bool { return strings.Count(buf.String(), `"error":"cannot reach the collector`) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}

	err := Run(context.Background(), Config{API: api, Interval: time.Millisecond, Limit: 1, Once: true, Out: &strings.Builder{}})
	if !errors.Is(err, apiclient.ErrUnreachable) {
		t.Errorf("no collector at the start: %v, want ErrUnreachable", err)
	}
}

func TestConfigChecked(t *testing.T) {
	api, _ := apiclient.New("http://127.0.0.1:1", apiclient.Token{})
	for _, cfg := range []Config{{API: api, Interval: 0, Limit: 1}, {API: api, Interval: time.Second, Limit: 0}, {API: api, Interval: time.Second, Limit: 1001}} {
		if err := Run(context.Background(), cfg); err == nil || errors.Is(err, apiclient.ErrUnreachable) {
			t.Errorf("interval %s, limit %d: %v, want a refusal before any request", cfg.Interval, cfg.Limit, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
