package retention

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

func TestParseAge(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"8d", 8 * 24 * time.Hour, false},
		{"400d", 400 * 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"off", 0, false},
		{"0", 0, false},
		{"0d", 0, true},
		{"-1d", 0, true},
		{"30s", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	} {
		got, err := ParseAge(c.in)
		if got != c.want || (err != nil) != c.err || err != nil && !errors.Is(err, ErrAge) {
			t.Errorf("ParseAge(%q) = %v, %v", c.in, got, err)
		}
	}
}

// Old minute buckets (more than one delete chunk of them), hours and
// clients go, newer ones stay, and the counter and log line say how many.
func TestRetentionDeletesOldKeepsNew(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ntp.db"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	now := storetest.Base.Add(30 * 24 * time.Hour)
	// 6,000 minutes of one session each ending 10 days before now (old for
	// the minutes, young for the hours), and one session a minute ago from
	// another client.
	b := store.NewBatch()
	g := storetest.NewGenerator(10, 1)
	var s session.Session
	oldEnd := now.Add(-10 * 24 * time.Hour)
	for i := range 6000 {
		g.Next(&s)
		s.Timestamp = oldEnd.Add(-time.Duration(i) * time.Minute)
		b.Add("w", "eth0", uint64(i+1), &s)
	}
	g.Next(&s)
	s.ClientIP = storetest.Client(99)
	s.Timestamp = now.Add(-time.Minute)
	b.Add("w", "eth0", 6001, &s)
	if _, err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	r := New(Config{MinuteRetention: DefaultMinuteRetention, HourRetention: 5 * 24 * time.Hour, ClientRetention: 9 * 24 * time.Hour,
		Now: func() time.Time { return now }, Logger: log, Interval: time.Hour}, st)
	// Run makes its first pass at once and logs it.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for deleted(t, r, TableClients) != 10 {
		if time.Now().After(deadline) {
			t.Fatal("Run made no pass")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	hours := float64(6000/60 + 1) // the old minutes span 100 hours and a part
	if m, h := deleted(t, r, TableMinutes), deleted(t, r, TableHours); m != 6000 || h < hours-1 || h > hours+1 {
		t.Errorf("deleted %v minutes, %v hours; want 6000 and about %v", m, h, hours)
	}
	if !strings.Contains(logs.String(), "retention deleted expired rows") || !strings.Contains(logs.String(), "series_minutes=6000") {
		t.Errorf("no log line of the pass: %s", logs.String())
	}
	tot, _, err := st.SeriesTotals(ctx, now.Add(-60*24*time.Hour), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := tot["eth0"]; e == nil || e.Requests+e.Modes[6]+e.Modes[7] != 1 {
		t.Errorf("left after retention: %+v, want the session of a minute ago", e)
	}
	if n, err := st.CountClients(ctx, store.ClientFilter{}); err != nil || n != 1 {
		t.Errorf("clients left: %d, %v; want 1", n, err)
	}
	// A second pass finds nothing more.
	if res, err := r.Once(ctx); err != nil || res != (Result{}) {
		t.Errorf("second pass: %+v, %v", res, err)
	}
}

// deleted reads the counter of table as /metrics would export it.
func deleted(t *testing.T, r *Runner, table string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no counter for %s", table)
	return 0
}
