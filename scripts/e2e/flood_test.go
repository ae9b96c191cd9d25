//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// Flood sizes. NTP_FLOOD_SOURCES and NTP_FLOOD_RATE make the long run
// (scripts/bench-flood.sh: 1,000,000 sources at the highest rate).
const (
	floodSources    = 100_000
	floodRate       = 50_000
	floodMaxPending = 20_000
	floodMaxClients = 10_000
	// workerSpool is the worker's default --spool.
	workerSpool = 100_000
)

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// buildTool builds one of scripts/ into the test's temp directory.
func buildTool(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./scripts/"+name)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	return out
}

// metric sums the samples of one /metrics family whose labels contain
// every one of want ("reason=\"client_limit\"").
func (c *collector) metric(ctx context.Context, name string, want ...string) (float64, error) {
	st, raw, err := c.api(ctx, "GET", "/metrics", nil, nil)
	if err != nil || st != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %d %v", st, err)
	}
	var sum float64
	found := false
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		series, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		fam, labels, _ := strings.Cut(series, "{")
		if fam != name {
			continue
		}
		match := true
		for _, w := range want {
			match = match && strings.Contains(labels, w)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return 0, fmt.Errorf("/metrics %s: %v", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("/metrics has no %s %v", name, want)
	}
	return sum, nil
}

// totalClients is the pagination total of the client list.
func (c *collector) totalClients(ctx context.Context) (int, error) {
	var v struct {
		Pagination struct {
			Total int `json:"total"`
		} `json:"pagination"`
	}
	st, raw, err := c.api(ctx, "GET", "/api/ntp/history/clients?page_size=1", nil, &v)
	if err != nil || st != http.StatusOK {
		return 0, fmt.Errorf("GET clients: %d %s %v", st, raw, err)
	}
	return v.Pagination.Total, nil
}

// A spoofed-source flood through a real capture: ntpflood sends requests
// from distinct source addresses (unanswered: nothing has their server
// address) across the bridge while a real chronyd client queries a real
// chronyd server. The worker, capturing on the bridge with a small
// --max-pending, evicts and counts what its table cannot hold, its RSS stays
// under its bound, the collector's rows stay within --max-clients, and every
// answer the chronyd client got is stored.
func TestSpoofedSourceFlood(t *testing.T) {
	testnet.Require(t)
	sources := envInt(t, "NTP_FLOOD_SOURCES", floodSources)
	rate := envInt(t, "NTP_FLOOD_RATE", floodRate)
	maxPending := envInt(t, "NTP_FLOOD_MAX_PENDING", floodMaxPending)
	maxClients := envInt(t, "NTP_FLOOD_MAX_CLIENTS", floodMaxClients)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	n := testnet.New(t)
	srv, cli, fl := n.AddHost("srv"), n.AddHost("cli"), n.AddHost("flood")
	srv.StartChronyd(t, testnet.ChronyOptions{})
	col := maybeCollector(t, n, "--max-clients", strconv.Itoa(maxClients))
	if col == nil {
		t.Skip("the flood needs bin/ntp-collector and bin/ntp-worker")
	}
	flood := buildTool(t, "ntpflood")

	// The worker by hand, so that its limits are the test's.
	wcmd := exec.Command(col.workerBin, "--interface", n.Bridge,
		"--ingestion-host", "127.0.0.1", "--ingestion-port", strconv.Itoa(col.ingestPort),
		"--max-pending", strconv.Itoa(maxPending), "--stats-interval", "1s")
	worker := n.StartCmd(t, wcmd)
	pid := wcmd.Process.Pid
	deadline := time.Now().Add(20 * time.Second)
	for col.connectedWorkers(ctx) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("worker not connected:\n%s\n%s", worker.Output(), col.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // libpcap's ring
	idleRSS, _ := procstat.Status(pid, "VmRSS")

	// The real client queries all through the flood.
	var answered int
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := cli.ChronyQuery(ctx, srv.V4); err == nil {
				answered++
			} else {
				t.Logf("chronyd -Q during the flood: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	// Long enough for every source once, plus a second; at rate 0 (as
	// fast as the kernel takes) NTP_FLOOD_SECONDS long.
	duration := time.Duration(envInt(t, "NTP_FLOOD_SECONDS", 4)) * time.Second
	if rate > 0 {
		duration = time.Duration(float64(sources)/float64(rate)*float64(time.Second)) + time.Second
	}
	out, err := fl.Run(ctx, flood, "-i", fl.Iface, "-rate", strconv.Itoa(rate), "-duration", duration.String(),
		"-clients", strconv.Itoa(sources))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("ntpflood: %v", err)
	}
	t.Logf("ntpflood: %s", strings.TrimSpace(string(out)))
	if answered == 0 {
		t.Fatal("the chronyd client got no answer during the flood")
	}

	// Wait for the worker to time out what it holds and the collector to
	// commit it: the chronyd client's row shows every answer.
	var stored, kernelDrops float64
	deadline = time.Now().Add(60 * time.Second)
	for {
		stored = 0
		rows, _, err := col.clientRows(ctx, cli.V4)
		if err == nil {
			for _, r := range rows {
				if v, ok := r.num("answered_count"); ok {
					stored += v
				}
			}
		}
		lag, lagErr := col.metric(ctx, "ntp_worker_unacked_sessions")
		pending, _ := col.metric(ctx, "ntp_worker_pending_requests")
		kernelDrops, _ = col.metric(ctx, "ntp_worker_kernel_drops_total")
		if int(stored) >= answered && lagErr == nil && lag == 0 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chronyd client: %v answered sessions stored of %d answers (kernel drops %v, lag %v %v)\n%s",
				stored, answered, kernelDrops, lag, lagErr, col.log())
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // one more stats line and batch
	peak, err := procstat.Status(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	evicted, err := col.metric(ctx, "ntp_worker_evicted_requests_total")
	if err != nil {
		t.Fatal(err)
	}
	refused, err := col.metric(ctx, "ntp_ingest_rejected_total", `reason="client_limit"`)
	if err != nil {
		t.Fatal(err)
	}
	shed, _ := col.metric(ctx, "ntp_worker_shed_sessions_total")
	lost, _ := col.metric(ctx, "ntp_worker_lost_sessions_total")
	total, err := col.totalClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The worker's bound: the capture ring (32 MiB), the pending table
	// (at most 80 bytes a request), the spool (about 240 bytes a session)
	// and 64 MiB for the Go runtime and libpcap.
	bound := int64(32<<20 + 80*maxPending + 240*workerSpool + 64<<20)
	t.Logf("flood of %d sources at %d/s: worker RSS idle %.1f MiB, peak %.1f MiB (bound %.1f MiB); evicted %v; shed %v, lost %v; kernel drops %v; "+
		"collector rows %d (limit %d), sessions refused by the limit %v; chronyd client %d answers, %v stored",
		sources, rate, float64(idleRSS)/(1<<20), float64(peak)/(1<<20), float64(bound)/(1<<20), evicted, shed, lost, kernelDrops,
		total, maxClients, refused, answered, stored)
	if peak > bound {
		t.Errorf("worker peak RSS %d bytes, above its bound %d", peak, bound)
	}
	if sources > maxPending && evicted == 0 {
		t.Errorf("no eviction counted though %d sources flooded a table of %d", sources, maxPending)
	}
	if total > maxClients {
		t.Errorf("%d client rows, above --max-clients %d", total, maxClients)
	}
	if total < maxClients*9/10 {
		t.Errorf("%d client rows: the flood should have filled nine tenths of %d", total, maxClients)
	}
	if refused == 0 {
		t.Error("no session counted as refused by --max-clients")
	}
	if int(stored) != answered {
		t.Errorf("chronyd client: %v answered sessions stored, want its %d answers", stored, answered)
	}
}
