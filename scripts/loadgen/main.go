// Command loadgen measures the collector end to end: it starts a real
// ntp-collector process on a fresh on-disk database, streams sessions from
// several concurrent worker connections, and times until every session is
// acknowledged. It reports sessions/s, the batch commit latency (from the
// collector's debug log) and the collector's peak RSS, then checks that the
// database holds exactly the sessions sent.
//
// With -stream-subscribers it also opens live streams (GET
// /api/ntp/stream) before the load starts and reads them until the run
// ends, reporting what they received and lost; with several
// configurations and -rounds it alternates them, run by run, and ends with
// their medians and the ratio of each to the first, so that the stream's
// cost to ingestion is measured on the same machine at the same moment.
//
//	loadgen -batch-sizes 100 -group-commit -rounds 3 \
//	  -stream-subscribers '0,32,32@198.18.0.0/24'
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
)

func main() {
	collector := flag.String("collector", "bin/ntp-collector", "ntp-collector binary")
	sizes := flag.String("batch-sizes", "100,1000,10000", "comma-separated --batch-size values, one run each")
	sessions := flag.Int("sessions", 1_000_000, "sessions per run, split over the connections")
	conns := flag.Int("conns", 4, "concurrent worker connections")
	clients := flag.Int("clients", 10000, "distinct client addresses; beyond 20,000 each appears, and with at least -sessions of them every session is a distinct client")
	queue := flag.Int("queue-size", 0, "--queue-size for the collector (0: its default)")
	group := flag.Bool("group-commit", false, "let batches grow while a commit is in progress (the collector's default); without it every batch is exactly --batch-size, so the commit latencies are those of that size")
	streams := flag.String("stream-subscribers", "0", "comma-separated live stream configurations, one run each: N subscribers of GET /api/ntp/stream reading every event, or N@CIDR filtered to that prefix")
	rounds := flag.Int("rounds", 1, "repeat the runs, alternating the configurations, and print their medians")
	dir := flag.String("dir", "", "directory for the databases (default: a new temporary directory)")
	flag.Parse()

	specs, err := parseStreamSpecs(*streams)
	if err != nil {
		fail(err)
	}
	var batches []int
	for f := range strings.SplitSeq(*sizes, ",") {
		bs, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || bs <= 0 {
			fail(fmt.Errorf("batch size %q", f))
		}
		batches = append(batches, bs)
	}
	if *rounds < 1 || *conns < 1 || *sessions < *conns {
		fail(fmt.Errorf("-rounds %d, -conns %d, -sessions %d: want at least one round and a session per connection", *rounds, *conns, *sessions))
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "ntp-loadgen-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("# %d sessions per run over %d connections, %d distinct clients, on-disk database in %s\n",
		*sessions, *conns, *clients, *dir)
	mode := "fixed-size batches"
	if *group {
		mode = "group commit (batches grow up to --max-batch-size while a commit runs)"
	}
	fmt.Printf("# %s\n", mode)
	streaming := slices.ContainsFunc(specs, func(s streamSpec) bool { return s.subs > 0 })
	header := fmt.Sprintf("%-10s %10s %9s %12s %8s %10s %12s %12s %12s %10s",
		"batch", "sessions", "elapsed", "sessions/s", "commits", "per_commit", "commit_p50", "commit_p99", "commit_max", "peak_rss")
	if streaming {
		header += fmt.Sprintf(" %-20s %10s %10s %6s %10s %12s", "streams", "events", "dropped", "beats", "m_sent", "m_dropped")
	}
	fmt.Println(header)

	ld := newLoad(*sessions, *clients, 42)
	results := make(map[runKey][]*result)
	for round := range *rounds {
		for _, bs := range batches {
			for si, spec := range specs {
				maxBatch := bs
				if *group {
					maxBatch = 0 // the collector's default
				}
				cfg := runConfig{bin: *collector, db: filepath.Join(*dir, fmt.Sprintf("bench-%d-%t-%d-%d.db", bs, *group, si, round)),
					batch: bs, maxBatch: maxBatch, queue: *queue, total: *sessions, conns: *conns, load: ld, stream: spec}
				r, err := runOnce(cfg)
				if err != nil {
					fail(fmt.Errorf("batch size %d, streams %s: %w", bs, spec, err))
				}
				os.Remove(cfg.db)
				results[runKey{bs, si}] = append(results[runKey{bs, si}], r)
				row := fmt.Sprintf("%-10d %10d %8.2fs %12.0f %8d %10.0f %12s %12s %12s %7.1fMiB",
					bs, r.sessions, r.elapsed.Seconds(), r.rate(), len(r.commits),
					float64(r.sessions)/float64(max(len(r.commits), 1)), pct(r.commits, 50), pct(r.commits, 99), pct(r.commits, 100), float64(r.peakRSS)/(1<<20))
				if streaming {
					t := r.stream
					row += fmt.Sprintf(" %-20s %10d %10d %6d %10d %12d", spec, t.sessions, t.dropped, t.heartbeats, t.sent, t.droppedTotal)
				}
				fmt.Println(row)
			}
		}
	}
	if *rounds > 1 || len(specs) > 1 {
		summarize(os.Stdout, batches, specs, results)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

type result struct {
	sessions int
	elapsed  time.Duration
	commits  []time.Duration
	peakRSS  int64
	stream   streamTotals
}

func (r *result) rate() float64 { return float64(r.sessions) / r.elapsed.Seconds() }

func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond).String()
}

// runConfig is one run: a fresh collector and database, its batching, the
// load and the live streams open during it.
type runConfig struct {
	bin, db                string
	batch, maxBatch, queue int
	total, conns           int
	load                   *load
	stream                 streamSpec
}

func runOnce(cfg runConfig) (*result, error) {
	ctx := context.Background()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	token := rand.Text()

	cmd := exec.Command(cfg.bin, "serve", "--db", cfg.db, "--ingestion-port", port, "--http-listen", httpAddr,
		"--max-stream-clients", strconv.Itoa(max(cfg.stream.subs, stream.DefaultMaxSubscribers)),
		"--batch-size", strconv.Itoa(cfg.batch), "--max-batch-size", strconv.Itoa(cfg.maxBatch), "--batch-interval", "200ms",
		"--queue-size", strconv.Itoa(cfg.queue), "--log-level", "debug", "--log-format", "json")
	// Reads need a token, as on a collector that shows live client
	// addresses to more people than its admins; the environment keeps it
	// out of ps.
	cmd.Env = append(os.Environ(), "NTP_API_READ_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Process.Kill()
	var commits []time.Duration
	var logTail []string
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if bytes.Contains(line, []byte(`"msg":"batch committed"`)) {
				var e struct {
					Duration int64 `json:"duration_us"`
				}
				if json.Unmarshal(line, &e) == nil {
					commits = append(commits, time.Duration(e.Duration)*time.Microsecond)
				}
				continue
			}
			logTail = append(logTail, sc.Text())
			if len(logTail) > 20 {
				logTail = logTail[1:]
			}
		}
	}()
	if err := waitListening(addr, 30*time.Second); err != nil {
		return nil, err
	}
	base := "http://" + httpAddr
	var subs *audience
	if cfg.stream.subs > 0 {
		if subs, err = subscribe(ctx, base, token, cfg.stream); err != nil {
			return nil, err
		}
		defer subs.close()
	}

	per := cfg.total / cfg.conns
	total := per * cfg.conns
	bodies := cfg.load.bodies
	var wg sync.WaitGroup
	errs := make(chan error, cfg.conns)
	start := time.Now()
	for c := range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ingesttest.Stream(addr, fmt.Sprintf("loadgen-%d", c), per, bodies, cfg.load.offset(c, cfg.conns), 5*time.Minute); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	res := &result{sessions: total, elapsed: elapsed}
	if subs != nil {
		want := cfg.load.matching(cfg.stream.cidr, per, cfg.conns)
		if res.stream, err = subs.settle(ctx, base+"/metrics", token, want); err != nil {
			return nil, err
		}
		subs.close()
	}
	if res.peakRSS, err = procstat.Status(cmd.Process.Pid, "VmHWM"); err != nil {
		return nil, err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-logsDone
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("collector exit: %w\n%s", err, strings.Join(logTail, "\n"))
	}
	res.commits = commits

	st, err := store.Open(ctx, cfg.db, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var stored int64
	if err := st.ReadDB().QueryRow(`SELECT coalesce(sum(session_count + mode1_count + mode2_count + mode5_count + mode6_count + mode7_count), 0) FROM ntp_clients`).Scan(&stored); err != nil {
		return nil, err
	}
	if stored != int64(total) {
		return nil, fmt.Errorf("database holds %d sessions, %d were acknowledged", stored, total)
	}
	return res, nil
}

// freeAddr is a 127.0.0.1 address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector not listening on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
