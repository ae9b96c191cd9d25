//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// The soak's knobs, from the environment (make soak sets them).
type soakConfig struct {
	duration      time.Duration // NTP_SOAK_DURATION: the whole soak; unset skips it
	backend       string        // NTP_SOAK_BACKEND: the store under test
	workerKill    time.Duration // NTP_SOAK_WORKER_KILL: SIGKILL the capturing worker this often
	collectorKill time.Duration // NTP_SOAK_COLLECTOR_KILL: SIGKILL the collector this often
	warmup        time.Duration // NTP_SOAK_WARMUP: left out of the flatness checks
	loadRate      int           // NTP_SOAK_LOAD_RATE: synthetic sessions per second
}

func soakEnv(t *testing.T) soakConfig {
	t.Helper()
	dur := func(name string, def time.Duration) time.Duration {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive Go duration such as 30m", name, v)
		}
		return d
	}
	c := soakConfig{
		duration:      dur("NTP_SOAK_DURATION", 0),
		backend:       os.Getenv("NTP_SOAK_BACKEND"),
		workerKill:    dur("NTP_SOAK_WORKER_KILL", 2*time.Minute),
		collectorKill: dur("NTP_SOAK_COLLECTOR_KILL", 5*time.Minute),
		warmup:        dur("NTP_SOAK_WARMUP", 2*time.Minute),
		loadRate:      envInt(t, "NTP_SOAK_LOAD_RATE", 200),
	}
	if c.backend == "" {
		c.backend = "sqlite"
	}
	return c
}

// soakLoadInterface is the interface name the synthetic stream reports;
// its sessions never touch a network, so the name is only a label.
const soakLoadInterface = "soak-load"

// soakClients is how many distinct client addresses the synthetic stream
// cycles through.
const soakClients = 500

// TestSoak runs a real worker on real chronyd traffic beside a steady
// synthetic stream through the real sender, while it SIGKILLs the worker
// every NTP_SOAK_WORKER_KILL and the collector every NTP_SOAK_COLLECTOR_KILL.
// At the end:
//   - the synthetic stream (spooled in this process, resent after every
//     collector restart) is stored exactly once: every client's count and
//     every minute of its series equal what was sent;
//   - the captured traffic is never counted twice (no client, no minute
//     above what was sent), and every minute that no worker kill touched
//     equals what was sent exactly — a SIGKILLed worker loses the requests
//     it held in memory, which is what the worker-kill minutes may miss;
//   - RSS of the collector and the worker is flat after the warm-up
//     (±10 %, medians of the first and last quarter), descriptors do not grow;
//   - /health was red only inside a fault window.
//
// It runs only when NTP_SOAK_DURATION is set (make soak), never in CI.
func TestSoak(t *testing.T) {
	cfg := soakEnv(t)
	if cfg.duration == 0 {
		t.Skip("NTP_SOAK_DURATION not set: the soak runs through make soak DURATION=30m")
	}
	if cfg.backend != "sqlite" {
		t.Fatalf("NTP_SOAK_BACKEND=%s: this build has the sqlite store only", cfg.backend)
	}
	testnet.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration+10*time.Minute)
	defer cancel()

	n := testnet.New(t)
	srv := n.AddHost("srv")
	var hosts []*testnet.Host
	for _, name := range []string{"c1", "c2", "c3", "c4"} {
		hosts = append(hosts, n.AddHost(name))
	}
	srv.StartChronyd(t, testnet.ChronyOptions{})
	col := maybeCollector(t, n)
	if col == nil {
		t.Fatal("ntp-collector and ntp-worker must be built for the soak (make build)")
	}
	col.startWorker(ctx, t, n.Bridge)
	start := time.Now()
	end := start.Add(cfg.duration)
	t.Logf("soak: %v on %s, worker SIGKILL every %v, collector SIGKILL every %v, %d synthetic sessions/s",
		cfg.duration, cfg.backend, cfg.workerKill, cfg.collectorKill, cfg.loadRate)

	faults := &faultLog{}
	mon := newMonitor(col)
	mon.setCollector(col.proc.Cmd.Process.Pid)
	monCtx, stopMon := context.WithCancel(ctx)
	go mon.run(monCtx)
	var wg sync.WaitGroup // traffic and load

	// Real traffic: each host polls chronyd ten times a second.
	trafficCtx, stopTraffic := context.WithDeadline(ctx, end)
	defer stopTraffic()
	sent := make([]*soakStream, len(hosts))
	for i, h := range hosts {
		dst := srv.V4
		if i%2 == 0 {
			dst = srv.V6
		}
		s := &soakStream{addr: h.Addr(dst)}
		sent[i] = s
		wg.Add(1)
		go func() { defer wg.Done(); s.run(trafficCtx, t, h, dst, 100*time.Millisecond) }()
	}

	// Synthetic load through the real sender, spooled here.
	load := newSoakLoad(col.ingestPort)
	loadCtx, stopLoad := context.WithCancel(ctx)
	senderDone := make(chan error, 1)
	go func() { senderDone <- load.snd.Run(loadCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); load.run(trafficCtx, cfg.loadRate) }()

	// The faults, in order of their due times; the collector goes first
	// when both are due.
	nextWorker, nextCollector := start.Add(cfg.workerKill), start.Add(cfg.collectorKill)
	for {
		due := nextWorker
		if nextCollector.Before(due) || nextCollector.Equal(due) {
			due = nextCollector
		}
		if !due.Before(end) {
			break
		}
		time.Sleep(time.Until(due))
		if due.Equal(nextCollector) {
			mon.sampleNow(ctx)
			w := faults.open("collector")
			col.crash(t)
			time.Sleep(time.Second)
			col.start(t)
			mon.setCollector(col.proc.Cmd.Process.Pid)
			col.waitWorker(ctx, t, n.Bridge)
			faults.close(w, 3*time.Second)
			t.Logf("%5.0fs collector SIGKILLed and restarted (%v)", time.Since(start).Seconds(), faults.last().length())
			nextCollector = nextCollector.Add(cfg.collectorKill)
			continue
		}
		mon.sampleNow(ctx)
		pid := col.workerPID(ctx)
		if pid <= 0 {
			t.Fatalf("no worker pid to kill at %v", time.Since(start))
		}
		// A killed worker loses what it captured and had not yet had
		// acknowledged: requests still inside the pairing timeout (2 s) and
		// sessions sent in the last batch interval. The window opens that
		// far back.
		w := faults.openAt("worker", time.Now().Add(-4*time.Second))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill worker %d: %v", pid, err)
		}
		waitNewWorker(ctx, t, col, n.Bridge, pid)
		faults.close(w, 3*time.Second)
		t.Logf("%5.0fs worker %d SIGKILLed, now %d (%v)", time.Since(start).Seconds(), pid, col.workerPID(ctx), faults.last().length())
		nextWorker = nextWorker.Add(cfg.workerKill)
	}
	time.Sleep(time.Until(end))
	stopTraffic()
	wg.Wait()
	mon.sampleNow(ctx)

	// Drain: the synthetic spool until all is acknowledged, the worker
	// through its API stop (it flushes and waits for acks).
	flushCtx, cancelFlush := context.WithTimeout(ctx, time.Minute)
	if err := load.snd.Flush(flushCtx); err != nil {
		t.Errorf("synthetic sender flush: %v (counters %+v)", err, load.snd.Counters())
	}
	cancelFlush()
	stopLoad()
	<-senderDone
	time.Sleep(3 * time.Second) // the worker's last requests time out
	col.stopWorker(ctx, t, n.Bridge)
	stopMon()
	mon.wait()

	m := &mismatches{t: t}
	checkLoad(ctx, t, m, col, load, start, end)
	checkTraffic(ctx, t, m, col, n.Bridge, sent, faults, start, end)
	mon.check(t, m, faults, start.Add(cfg.warmup))
	m.summary("soak")
	if m.count > 0 {
		t.Logf("collector log (tail):\n%s", col.log())
	}
}

// waitNewWorker waits until the supervisor has replaced the killed worker
// and the new one is connected.
func waitNewWorker(ctx context.Context, t *testing.T, col *collector, iface string, old int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var s ifaceStatus
		st, _, err := col.api(ctx, "GET", "/api/ntp/interfaces/"+iface+"/status", nil, &s)
		if err == nil && st == http.StatusOK && s.PID > 0 && s.PID != old && s.State == "running" {
			col.workerPIDs[s.PID] = true
			col.waitWorker(ctx, t, iface)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the worker killed as pid %d was not replaced within 60 s\n%s", old, col.log())
}

// A fault window is the time inside which a fault may show: red health,
// and for a worker kill, requests that were never stored.
type fault struct {
	kind     string
	from, to time.Time
}

func (f fault) length() time.Duration { return f.to.Sub(f.from).Round(100 * time.Millisecond) }

type faultLog struct {
	mu     sync.Mutex
	faults []fault
}

func (l *faultLog) open(kind string) int { return l.openAt(kind, time.Now()) }

func (l *faultLog) openAt(kind string, from time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Until closed, the window reaches far into the future.
	l.faults = append(l.faults, fault{kind: kind, from: from, to: from.Add(24 * time.Hour)})
	return len(l.faults) - 1
}

// close ends window i after a grace for what follows recovery (the next
// health poll, the first batch of the new process).
func (l *faultLog) close(i int, grace time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults[i].to = time.Now().Add(grace)
}

func (l *faultLog) last() fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.faults[len(l.faults)-1]
}

// touches reports whether [from, to) overlaps a window of kind ("" any).
func (l *faultLog) touches(kind string, from, to time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.faults {
		if (kind == "" || f.kind == kind) && f.from.Before(to) && from.Before(f.to) {
			return true
		}
	}
	return false
}

// soakStream sends NTPv4 requests from one host and records, per minute
// of their send time, how many went out and how many were answered.
// Nothing is sent within 200 ms of a minute boundary, so that a request's
// capture time falls in the minute it was sent in.
type soakStream struct {
	addr     netip.Addr
	mu       sync.Mutex
	minutes  map[time.Time]*[2]int // requests, answered
	requests int
}

func (s *soakStream) run(ctx context.Context, t *testing.T, h *testnet.Host, dst netip.Addr, interval time.Duration) {
	s.minutes = map[time.Time]*[2]int{}
	c, err := h.ListenUDP(netip.AddrPortFrom(h.Addr(dst), 0))
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	pending := map[uint64]time.Time{} // transmit timestamp → minute
	answers := readAnswers(c)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		now := time.Now()
		if off := now.Sub(now.Truncate(time.Minute)); off < 200*time.Millisecond || off > time.Minute-200*time.Millisecond {
			<-tick.C
			continue
		}
		pkt := testnet.NTPRequest(4, 3, now.Add(time.Duration(i)*time.Nanosecond))
		if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(dst, 123)); err != nil {
			t.Error(err)
			return
		}
		pending[binary.BigEndian.Uint64(pkt[40:])] = now.UTC().Truncate(time.Minute)
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	time.Sleep(time.Second)
	answered := answers()
	s.mu.Lock()
	defer s.mu.Unlock()
	for x, minute := range pending {
		v := s.minutes[minute]
		if v == nil {
			v = &[2]int{}
			s.minutes[minute] = v
		}
		v[0]++
		if _, ok := answered[x]; ok {
			v[1]++
		}
		s.requests++
	}
}

// soakLoad is the synthetic stream: answered sessions from soakClients
// addresses in 198.18.0.0/15 (the benchmarking range; nothing is sent to
// them), counted per client and per minute as they are handed to the
// sender.
type soakLoad struct {
	snd      *sender.Sender
	mu       sync.Mutex
	perIP    map[netip.Addr]int
	minutes  map[time.Time]int
	sessions int
}

func newSoakLoad(port int) *soakLoad {
	return &soakLoad{
		snd: sender.New(sender.Config{
			Addr:       fmt.Sprintf("127.0.0.1:%d", port),
			Interface:  soakLoadInterface,
			Spool:      1_000_000,
			Block:      true,
			MaxBackoff: 2 * time.Second,
		}),
		perIP:   map[netip.Addr]int{},
		minutes: map[time.Time]int{},
	}
}

func (l *soakLoad) run(ctx context.Context, rate int) {
	if rate <= 0 {
		return
	}
	const tickEvery = 20 * time.Millisecond
	perTick := max(1, rate*int(tickEvery)/int(time.Second))
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	srv := netip.MustParseAddr("192.0.2.1")
	for i := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now().UTC()
		for range perTick {
			ip := netip.AddrFrom4([4]byte{198, 18, byte(i % soakClients >> 8), byte(i % soakClients)})
			s := &session.Session{
				ClientIP: ip, ClientPort: 123, ServerIP: srv, ServerPort: 123,
				Interface: soakLoadInterface, Version: 4, Mode: 3, PacketLength: 48,
				Answered: true, Stratum: 2, Precision: -20, ReferenceID: "192.0.2.2",
				Leap: session.LeapNoWarning, Processing: 20e-6, Total: 150e-6,
				Timestamp: now,
			}
			l.snd.Send(s)
			l.mu.Lock()
			l.perIP[ip]++
			l.minutes[now.Truncate(time.Minute)]++
			l.sessions++
			l.mu.Unlock()
			i++
		}
	}
}

// checkLoad holds the synthetic stream to exactly once: per client and
// per minute.
func checkLoad(ctx context.Context, t *testing.T, m *mismatches, col *collector, l *soakLoad, from, to time.Time) {
	t.Helper()
	var v struct {
		Data []clientRow `json:"data"`
	}
	st, raw, err := col.api(ctx, "GET", fmt.Sprintf("/api/ntp/history/clients?interface_name=%s&page_size=%d", soakLoadInterface, soakClients+10), nil, &v)
	if err != nil || st != http.StatusOK {
		t.Errorf("client list: %d %s %v", st, raw, err)
		return
	}
	stored := 0
	got := map[netip.Addr]int{}
	for _, r := range v.Data {
		a, err := netip.ParseAddr(r.str("client_ip"))
		if err != nil {
			t.Errorf("client_ip %q: %v", r.str("client_ip"), err)
			continue
		}
		f, _ := r.num("session_count")
		got[a] = int(f)
		stored += int(f)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for a, want := range l.perIP {
		m.check(got[a] == want, "synthetic "+a.String()+" sessions", got[a], want, "stored", "sent")
	}
	m.check(len(got) == len(l.perIP), "synthetic clients", len(got), len(l.perIP), "stored", "sent")
	pts, err := col.timeseries(ctx, soakLoadInterface, from, to)
	if err != nil {
		t.Error(err)
		return
	}
	for _, minute := range slices.SortedFunc(maps.Keys(l.minutes), time.Time.Compare) {
		m.check(pts[minute].Requests == l.minutes[minute], "synthetic minute "+minute.Format("15:04"), pts[minute].Requests, l.minutes[minute], "series", "sent")
	}
	t.Logf("synthetic stream: %d sessions sent from %d clients, %d stored (%d minutes); sender counters %+v",
		l.sessions, len(l.perIP), stored, len(l.minutes), l.snd.Counters())
}

// checkTraffic holds the captured traffic to at most once everywhere and
// exactly once outside the worker-kill windows.
func checkTraffic(ctx context.Context, t *testing.T, m *mismatches, col *collector, iface string, streams []*soakStream, faults *faultLog, from, to time.Time) {
	t.Helper()
	want := map[time.Time][2]int{}
	var addrs []netip.Addr
	total := 0
	for _, s := range streams {
		s.mu.Lock()
		for minute, v := range s.minutes {
			w := want[minute]
			w[0] += v[0]
			w[1] += v[1]
			want[minute] = w
		}
		total += s.requests
		s.mu.Unlock()
		addrs = append(addrs, s.addr)
	}
	got, _ := col.apiCounts(ctx, t, iface, addrs)
	storedTotal := 0
	for _, s := range streams {
		g := 0
		if c := got[s.addr]; c != nil {
			g = c.Requests
		}
		storedTotal += g
		m.check(g <= s.requests, "captured "+s.addr.String()+" at most once", g, s.requests, "stored", "sent")
	}
	pts, err := col.timeseries(ctx, iface, from, to)
	if err != nil {
		t.Error(err)
		return
	}
	exact, faulty, lost := 0, 0, 0
	for _, minute := range slices.SortedFunc(maps.Keys(want), time.Time.Compare) {
		w, p := want[minute], pts[minute]
		g := [2]int{p.Requests, p.Answered}
		name := "captured minute " + minute.Format("15:04")
		if faults.touches("worker", minute, minute.Add(time.Minute)) {
			faulty++
			lost += w[0] - g[0]
			m.check(g[0] <= w[0], name+" requests at most once", g[0], w[0], "series", "sent")
			continue
		}
		exact++
		m.check(g[0] == w[0], name+" requests", g[0], w[0], "series", "sent")
		m.check(g[1] == w[1], name+" answered", g[1], w[1], "series", "sent")
	}
	t.Logf("captured traffic: %d requests sent, %d stored; %d minutes exact, %d minutes with a worker kill lost %d requests",
		total, storedTotal, exact, faulty, lost)
}

// monitor samples the collector's and the worker's RSS and descriptors
// every 5 s (and before each fault), and polls /health every second.
type monitor struct {
	col       *collector
	done      chan struct{}
	mu        sync.Mutex
	colPID    int // the running collector; set again after each restart
	firstSeen map[int]time.Time
	samples   map[string][]procSample // "collector", "worker"
	health    []healthPoll
}

type procSample struct {
	at  time.Time
	pid int
	rss int64 // bytes
	fds int
	age time.Duration // since this pid was first seen
}

type healthPoll struct {
	at time.Time
	ok bool
}

func newMonitor(col *collector) *monitor {
	return &monitor{col: col, done: make(chan struct{}), firstSeen: map[int]time.Time{}, samples: map[string][]procSample{}}
}

func (m *monitor) run(ctx context.Context) {
	defer close(m.done)
	sampleTick := time.NewTicker(5 * time.Second)
	defer sampleTick.Stop()
	healthTick := time.NewTicker(time.Second)
	defer healthTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sampleTick.C:
			m.sampleNow(ctx)
		case <-healthTick.C:
			m.pollHealth(ctx)
		}
	}
}

func (m *monitor) wait() { <-m.done }

func (m *monitor) setCollector(pid int) {
	m.mu.Lock()
	m.colPID = pid
	m.mu.Unlock()
}

// sampleNow records RSS and descriptors of the collector and the worker
// that are running now.
func (m *monitor) sampleNow(ctx context.Context) {
	m.mu.Lock()
	colPID := m.colPID
	m.mu.Unlock()
	pids := map[string]int{"collector": colPID, "worker": m.col.workerPID(ctx)}
	now := time.Now()
	for kind, pid := range pids {
		if pid <= 0 {
			continue
		}
		rss, err := procstat.Status(pid, "VmRSS")
		if err != nil {
			continue
		}
		fds, err := procstat.FDs(pid)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if _, ok := m.firstSeen[pid]; !ok {
			m.firstSeen[pid] = now
		}
		m.samples[kind] = append(m.samples[kind], procSample{at: now, pid: pid, rss: rss, fds: fds, age: now.Sub(m.firstSeen[pid])})
		m.mu.Unlock()
	}
}

func (m *monitor) pollHealth(ctx context.Context) {
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ok := false
	if req, err := http.NewRequestWithContext(hctx, "GET", "http://"+m.col.httpAddr+"/health", nil); err == nil {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			ok = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	m.mu.Lock()
	m.health = append(m.health, healthPoll{at: time.Now(), ok: ok})
	m.mu.Unlock()
}

// check holds RSS flat and descriptors steady after the warm-up, and
// /health green outside the fault windows. A process counts once it has
// run a minute (a restarted one is warming up again).
func (m *monitor) check(t *testing.T, mm *mismatches, faults *faultLog, warm time.Time) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	t.Logf("%-9s %6s %12s %12s %9s %9s %8s", "process", "pids", "rss_first_q", "rss_last_q", "change", "fds_first", "fds_last")
	for _, kind := range []string{"collector", "worker"} {
		var warmSamples []procSample
		pids := map[int]bool{}
		for _, s := range m.samples[kind] {
			pids[s.pid] = true
			if s.at.After(warm) && s.age >= time.Minute {
				warmSamples = append(warmSamples, s)
			}
		}
		if len(warmSamples) < 8 {
			t.Errorf("%s: %d warm samples; the soak is too short to judge flatness", kind, len(warmSamples))
			continue
		}
		q := len(warmSamples) / 4
		first, last := warmSamples[:q], warmSamples[len(warmSamples)-q:]
		rssFirst, rssLast := medianRSS(first), medianRSS(last)
		fdsFirst, fdsLast := maxFDs(first), maxFDs(last)
		change := float64(rssLast)/float64(rssFirst) - 1
		t.Logf("%-9s %6d %9.1fMiB %9.1fMiB %+8.1f%% %9d %8d", kind, len(pids), float64(rssFirst)/(1<<20), float64(rssLast)/(1<<20), 100*change, fdsFirst, fdsLast)
		mm.check(change <= 0.10 && change >= -0.10, kind+" RSS flat within 10%", fmt.Sprintf("%+.1f%%", 100*change), "±10%", "change", "bound")
		mm.check(fdsLast <= fdsFirst+2, kind+" descriptors steady", fdsLast, fdsFirst, "last quarter", "first quarter")
	}
	red, redOutside := 0, 0
	for _, h := range m.health {
		if h.ok {
			continue
		}
		red++
		if !faults.touches("", h.at.Add(-time.Second), h.at) {
			redOutside++
			t.Logf("/health red at %s outside every fault window", h.at.Format(time.TimeOnly))
		}
	}
	windows := 0
	faults.mu.Lock()
	var total time.Duration
	for _, f := range faults.faults {
		windows++
		total += f.to.Sub(f.from)
	}
	faults.mu.Unlock()
	t.Logf("/health: %d polls, %d red, %d of them outside the %d fault windows (%v in all)", len(m.health), red, redOutside, windows, total.Round(time.Second))
	mm.check(redOutside == 0, "/health red only inside fault windows", redOutside, 0, "red outside", "allowed")
}

func medianRSS(s []procSample) int64 {
	v := make([]int64, len(s))
	for i, x := range s {
		v[i] = x.rss
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func maxFDs(s []procSample) int {
	n := 0
	for _, x := range s {
		n = max(n, x.fds)
	}
	return n
}
