// Command loadgen measures the collector end to end: it starts a real
// ntp-collector process on a fresh on-disk database, streams sessions from
// several concurrent worker connections, and times until every session is
// acknowledged. It reports sessions/s, the batch commit latency (from the
// collector's debug log) and the collector's peak RSS, then checks that the
// database holds exactly the sessions sent.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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
)

func main() {
	collector := flag.String("collector", "bin/ntp-collector", "ntp-collector binary")
	sizes := flag.String("batch-sizes", "100,1000,10000", "comma-separated --batch-size values, one run each")
	sessions := flag.Int("sessions", 1_000_000, "sessions per run, split over the connections")
	conns := flag.Int("conns", 4, "concurrent worker connections")
	clients := flag.Int("clients", 10000, "distinct client addresses")
	queue := flag.Int("queue-size", 0, "--queue-size for the collector (0: its default)")
	group := flag.Bool("group-commit", false, "let batches grow while a commit is in progress (the collector's default); without it every batch is exactly --batch-size, so the commit latencies are those of that size")
	dir := flag.String("dir", "", "directory for the databases (default: a new temporary directory)")
	flag.Parse()

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
	fmt.Printf("%-10s %10s %9s %12s %8s %10s %12s %12s %12s %10s\n",
		"batch", "sessions", "elapsed", "sessions/s", "commits", "per_commit", "commit_p50", "commit_p99", "commit_max", "peak_rss")
	for _, f := range strings.Split(*sizes, ",") {
		bs, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || bs <= 0 {
			fail(fmt.Errorf("batch size %q", f))
		}
		maxBatch := bs
		if *group {
			maxBatch = 0 // the collector's default
		}
		r, err := runOnce(*collector, filepath.Join(*dir, fmt.Sprintf("bench-%d-%t.db", bs, *group)), bs, maxBatch, *queue, *sessions, *conns, *clients)
		if err != nil {
			fail(fmt.Errorf("batch size %d: %w", bs, err))
		}
		fmt.Printf("%-10d %10d %8.2fs %12.0f %8d %10.0f %12s %12s %12s %7.1fMiB\n",
			bs, r.sessions, r.elapsed.Seconds(), float64(r.sessions)/r.elapsed.Seconds(), len(r.commits),
			float64(r.sessions)/float64(max(len(r.commits), 1)), pct(r.commits, 50), pct(r.commits, 99), pct(r.commits, 100), float64(r.peakRSS)/(1<<20))
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
}

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

func runOnce(bin, db string, batch, maxBatch, queue, total, conns, clients int) (*result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	cmd := exec.Command(bin, "serve", "--db", db, "--ingestion-port", strconv.Itoa(port),
		"--batch-size", strconv.Itoa(batch), "--max-batch-size", strconv.Itoa(maxBatch), "--batch-interval", "200ms",
		"--queue-size", strconv.Itoa(queue), "--log-level", "debug", "--log-format", "json")
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

	// Lines are prepared before the clock starts: the generator and the
	// encoder are not what is measured. Each connection writes
	// prefix + seq + one of a pool of encoded session bodies.
	const pool = 20000
	bodies := ingesttest.Bodies(pool, clients, 42)
	per := total / conns
	total = per * conns

	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ingesttest.Stream(addr, fmt.Sprintf("loadgen-%d", c), per, bodies, c*pool/conns, 5*time.Minute); err != nil {
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
	rss, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-logsDone
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("collector exit: %w\n%s", err, strings.Join(logTail, "\n"))
	}

	st, err := store.Open(context.Background(), db, store.Options{})
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
	return &result{sessions: total, elapsed: elapsed, commits: commits, peakRSS: rss}, nil
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

// peakRSS reads the process's high-water resident set size.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, io.ErrUnexpectedEOF
}
