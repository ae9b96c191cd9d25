// Command apiload fills an inventory database with synthetic clients and
// measures the HTTP API against it: latency percentiles and throughput under
// concurrent clients, and the time of full exports. It is the engine of
// scripts/bench-api.sh.
//
//	apiload fill   --db F --clients N --interfaces K   fill through store.Batch/Commit
//	               [--series-days 30 --series-hour-days 400] and the traffic series
//	apiload serve  --db F --addr A                     serve the API (httpapi.Server) on F
//	apiload load   --url U --concurrency C --duration D
//	apiload export --url U --format ndjson|csv
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/dashboard"
	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// defaultToken is the admin token of `apiload serve` and what `apiload
// export` presents, unless --token says otherwise: the server is a
// benchmark's, on loopback, and its data synthetic.
const defaultToken = "apiload-bench-token"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: apiload fill|serve|load|export [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "fill":
		err = fill(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "export":
		err = export(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(1)
	}
}

// clientAddr is the i-th synthetic client: two in three IPv4 in 10.0.0.0/8,
// one in three IPv6 in 2001:db8::/32.
func clientAddr(i int) netip.Addr {
	if i%3 == 2 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
	}
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func fill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	dbPath := fs.String("db", "", "database file (created)")
	clients := fs.Int("clients", 1_000_000, "distinct clients")
	ifaces := fs.Int("interfaces", 8, "capture interfaces (eth0…)")
	batchRows := fs.Int("batch", 50_000, "rows per commit")
	minuteDays := fs.Int("series-days", 30, "days of minute buckets per interface")
	hourDays := fs.Int("series-hour-days", 400, "days of hour buckets per interface")
	perMinute := fs.Int("series-per-minute", 4000, "requests a minute per interface in the series")
	seriesOnly := fs.Bool("series-only", false, "write only the series (into a database already filled with clients)")
	fs.Parse(args)
	if *dbPath == "" {
		return errors.New("fill: --db is required")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *dbPath, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer st.Close()
	if !*seriesOnly {
		if err := fillClients(ctx, st, *clients, *ifaces, *batchRows); err != nil {
			return err
		}
	}
	if *minuteDays > 0 || *hourDays > 0 {
		start := time.Now()
		if err := fillSeries(ctx, *dbPath, *ifaces, *clients, *perMinute, *minuteDays, *hourDays, time.Now().UTC()); err != nil {
			return fmt.Errorf("fill series: %w", err)
		}
		fmt.Printf("fill: series of %d interfaces, %d days of minutes and %d of hours, %d requests a minute, in %.1f s\n",
			*ifaces, *minuteDays, *hourDays, *perMinute, time.Since(start).Seconds())
	}
	return nil
}

// genSession makes s a session of client i (on interface i mod ifaces)
// captured at ts: mostly NTPv4, 5 % unanswered, a third of the answers
// with a latency, one in a hundred a RATE Kiss-o'-Death.
func genSession(rng *rand.Rand, s *session.Session, i, ifaces int, ts time.Time) {
	*s = session.Session{
		ClientIP: clientAddr(i), ClientPort: uint16(1024 + i%60000),
		ServerIP: netip.MustParseAddr("192.0.2.1"), ServerPort: 123,
		Interface: fmt.Sprintf("eth%d", i%ifaces), Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Timestamp: ts,
	}
	switch r := rng.IntN(100); {
	case r < 8:
		s.Version = 3
	case r < 9:
		s.Version = 2
	}
	if rng.IntN(20) == 0 { // 5% unanswered
		return
	}
	s.Answered, s.Stratum, s.Precision = true, 2, -24
	s.RootDelay, s.RootDispersion, s.ReferenceID, s.Leap = 0.01, 0.02, "192.0.2.200", session.LeapNoWarning
	s.Processing = 20e-6 + rng.Float64()*80e-6
	s.Total = s.Processing + 50e-6 + rng.ExpFloat64()*200e-6
	if rng.IntN(3) != 0 { // chrony hides its transmit time
		s.Latency, s.LatencyValid = 0.0002+rng.ExpFloat64()*0.01, true
	}
	tx := float64(s.Timestamp.UnixNano()) / 1e9
	s.OriginateTime, s.ReceiveTime, s.TransmitTime = tx, tx+0.0001, tx+0.0002
	if rng.IntN(100) == 0 {
		s.Stratum, s.KoD, s.ReferenceID = 0, "RATE", "RATE"
	}
}

// ingest commits rate sessions a second, captured now, of clients drawn
// from the first clients, in a batch every 100 ms through the store's
// write path, until ctx ends: the commits a live collector makes while the
// API is read. newPerMille of the sessions are of clients never seen
// before, as a public server's are. It returns the commits and the
// sessions they held.
func ingest(ctx context.Context, st *store.Store, rate, clients, ifaces, newPerMille int) (commits, sessions int, err error) {
	rng := rand.New(rand.NewPCG(7, 7))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	b := store.NewBatch()
	var s session.Session
	var seq uint64
	// The next client never seen: past every row, those of the new
	// clients of earlier runs on the file too.
	dbst, err := st.Stats(ctx)
	if err != nil {
		return 0, 0, err
	}
	next := max(clients, int(dbst.Rows))
	for {
		select {
		case <-ctx.Done():
			return commits, sessions, nil
		case <-tick.C:
		}
		now := time.Now()
		for range max(rate/10, 1) {
			i := rng.IntN(clients)
			if rng.IntN(1000) < newPerMille {
				i = next
				next++
			}
			genSession(rng, &s, i, ifaces, now)
			seq++
			b.Add("ingest", s.Interface, seq, &s)
		}
		n := b.Len()
		if _, err := st.Commit(ctx, b); err != nil {
			if ctx.Err() != nil {
				return commits, sessions, nil
			}
			return commits, sessions, err
		}
		commits++
		sessions += n
		b.Reset()
	}
}

func fillClients(ctx context.Context, st *store.Store, clients, ifaces, batchRows int) error {
	// The clients' last sessions spread over the 30 days before now, so the
	// "active in the last hour/day" windows hold a realistic share.
	now := time.Now().UTC()
	span := 30 * 24 * time.Hour
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	b := store.NewBatch()
	var seq uint64
	sessions := 0
	var s session.Session
	for i := range clients {
		n := 1
		if i%10 == 0 {
			n = 2 + rng.IntN(8) // one client in ten is a regular
		}
		last := now.Add(-time.Duration(rng.Int64N(int64(span))))
		for k := range n {
			genSession(rng, &s, i, ifaces, last.Add(-time.Duration(k)*64*time.Second))
			seq++
			b.Add("fill", s.Interface, seq, &s)
			sessions++
		}
		if b.Rows() >= batchRows {
			if _, err := st.Commit(ctx, b); err != nil {
				return err
			}
			b.Reset()
		}
	}
	if _, err := st.Commit(ctx, b); err != nil {
		return err
	}
	d := time.Since(start)
	dbs, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("fill: %d clients (%d sessions) over %d interfaces in %.1f s (%.0f rows/s), %d rows, %.0f MiB\n",
		clients, sessions, ifaces, d.Seconds(), float64(clients)/d.Seconds(), dbs.Rows, float64(dbs.SizeBytes())/(1<<20))
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dbPath := fs.String("db", "", "database file")
	addr := fs.String("addr", "127.0.0.1:18000", "listen address")
	logFile := fs.String("log", "", "request log file (default: discard)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (profiling the API under load)")
	token := fs.String("token", defaultToken, "admin token of the API (export needs it)")
	rate := fs.Int("ingest-rate", 0, "commit this many sessions a second while serving, captured now, as a live collector does (0: none)")
	clients := fs.Int("clients", 1000000, "with --ingest-rate: the clients the sessions are drawn from (as filled)")
	ifaces := fs.Int("interfaces", 8, "with --ingest-rate: the interfaces (as filled)")
	newClients := fs.Int("new-per-mille", 10, "with --ingest-rate: sessions in a thousand of clients never seen before (a public server's new clients)")
	fs.Parse(args)
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil)
	}
	var w io.Writer = io.Discard
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	log := slog.New(slog.NewTextHandler(w, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	st, err := store.Open(ctx, *dbPath, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	page, err := dashboard.New()
	if err != nil {
		return err
	}
	srv, err := httpapi.New(httpapi.Config{Addr: *addr, Store: st, Token: *token, Logger: log, Page: page})
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	ingested := make(chan struct{})
	if *rate > 0 {
		go func() {
			defer close(ingested)
			start := time.Now()
			commits, sessions, err := ingest(ctx, st, *rate, *clients, *ifaces, *newClients)
			fmt.Fprintf(os.Stderr, "serve: ingested %d sessions in %d commits over %.1f s\n", sessions, commits, time.Since(start).Seconds())
			if err != nil {
				errc <- fmt.Errorf("ingest: %w", err)
			}
		}()
	} else {
		close(ingested)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	<-ingested
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

type scenario struct {
	name string
	path func(rng *rand.Rand) string
	// deep, when set, is a list query (its sort): the scenario reads the
	// page after page 25,000 of it (rows 500,001–500,020) by the cursor
	// that page hands out, fetched once before the load.
	deep string
}

// deepCursor fetches page 25,000 of the list query q and returns its
// next_cursor.
func deepCursor(hc *http.Client, base, q string) (string, error) {
	resp, err := hc.Get(base + "/api/ntp/history/clients?page=25000&" + q)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b struct {
		Pagination struct {
			NextCursor *string `json:"next_cursor"`
		} `json:"pagination"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return "", fmt.Errorf("page 25000 of %s: %w", q, err)
	}
	if b.Pagination.NextCursor == nil {
		return "", fmt.Errorf("page 25000 of %s: no next_cursor (fewer than 500,000 rows?)", q)
	}
	return *b.Pagination.NextCursor, nil
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:18000", "API base URL")
	conc := fs.Int("concurrency", 16, "concurrent clients")
	dur := fs.Duration("duration", 10*time.Second, "duration of each scenario")
	clients := fs.Int("clients", 1_000_000, "clients in the DB (for the detail scenario)")
	only := fs.String("only", "", "run only scenarios whose name contains this")
	timeout := fs.Duration("timeout", time.Minute, "timeout of one request")
	fs.Parse(args)

	scenarios := []scenario{
		{name: "list first page", path: func(*rand.Rand) string { return "/api/ntp/history/clients" }},
		{name: "list deep page (page 2500 x 20, offset 49,980)", path: func(*rand.Rand) string { return "/api/ntp/history/clients?page=2500" }},
		{name: "list deeper page (page 25000 x 20, offset 499,980)", path: func(*rand.Rand) string { return "/api/ntp/history/clients?page=25000" }},
		{name: "list by cursor 500,000 rows deep", deep: "sort_by=last_seen"},
		{name: "list by cursor 500,000 deep, client_ip asc", deep: "sort_by=client_ip&sort_order=asc"},
		{name: "list by cursor 500,000 deep, session_count", deep: "sort_by=session_count"},
		{name: "list by cursor 500,000 deep, latency", deep: "sort_by=latency"},
		{name: "list filtered interface_name=eth3", path: func(*rand.Rand) string { return "/api/ntp/history/clients?interface_name=eth3" }},
		{name: "list filtered cidr=10.1.0.0/16 + eth3", path: func(*rand.Rand) string {
			return "/api/ntp/history/clients?cidr=10.1.0.0/16&interface_name=eth3"
		}},
		{name: "list sorted client_ip asc", path: func(*rand.Rand) string { return "/api/ntp/history/clients?sort_by=client_ip&sort_order=asc" }},
		{name: "list sorted session_count desc", path: func(*rand.Rand) string { return "/api/ntp/history/clients?sort_by=session_count" }},
		{name: "list sorted latency desc", path: func(*rand.Rand) string { return "/api/ntp/history/clients?sort_by=latency" }},
		// Sorts and a filter by derived means, with no index: every row is read.
		{name: "list sorted processing desc", path: func(*rand.Rand) string { return "/api/ntp/history/clients?sort_by=processing" }},
		{name: "list sorted interval asc", path: func(*rand.Rand) string {
			return "/api/ntp/history/clients?sort_by=interval&sort_order=asc"
		}},
		{name: "list filtered max_interval=120", path: func(*rand.Rand) string { return "/api/ntp/history/clients?max_interval=120" }},
		{name: "list filtered max_interval=120 + eth2", path: func(*rand.Rand) string {
			return "/api/ntp/history/clients?max_interval=120&interface_name=eth2"
		}},
		{name: "detail (random client)", path: func(r *rand.Rand) string {
			return "/api/ntp/history/clients/" + clientAddr(r.IntN(*clients)).String()
		}},
		{name: "interface statistics", path: func(*rand.Rand) string { return "/api/ntp/history/interfaces/statistics" }},
	}
	// The series scenarios end at the time the load starts, so that both
	// ends of the range are ragged as a dashboard's "last 30 days" is.
	now := time.Now().UTC()
	for _, r := range []struct {
		name string
		span time.Duration
		step string
	}{{"1d at 60s", 24 * time.Hour, "60s"}, {"30d at 1h", 30 * 24 * time.Hour, "1h"}, {"400d at 1d", 400 * 24 * time.Hour, "1d"}} {
		rng := "from=" + now.Add(-r.span).Format(time.RFC3339) + "&to=" + now.Format(time.RFC3339)
		scenarios = append(scenarios,
			scenario{name: "series timeseries " + r.name, path: func(*rand.Rand) string {
				return "/api/ntp/history/timeseries?step=" + r.step + "&" + rng
			}},
			scenario{name: "series interface statistics " + r.name[:strings.Index(r.name, " ")], path: func(*rand.Rand) string {
				return "/api/ntp/history/interfaces/statistics?" + rng
			}},
			scenario{name: "series service statistics " + r.name[:strings.Index(r.name, " ")], path: func(*rand.Rand) string {
				return "/api/ntp/history/service/statistics?" + rng
			}})
	}
	tr := &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: *timeout}
	fmt.Printf("%-52s %9s %9s %9s %9s %8s\n", "scenario", "req/s", "p50 ms", "p99 ms", "max ms", "errors")
	for _, sc := range scenarios {
		if *only != "" && !strings.Contains(sc.name, *only) {
			continue
		}
		if sc.deep != "" {
			cur, err := deepCursor(hc, *base, sc.deep)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			p := "/api/ntp/history/clients?" + sc.deep + "&cursor=" + url.QueryEscape(cur)
			sc.path = func(*rand.Rand) string { return p }
		}
		// One request first: warms the connection pool and, for statistics,
		// the first computation (reported separately).
		t0 := time.Now()
		if err := get(hc, *base+sc.path(rand.New(rand.NewPCG(9, 9)))); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		first := time.Since(t0)
		var mu sync.Mutex
		var lat []time.Duration
		errs := 0
		deadline := time.Now().Add(*dur)
		var wg sync.WaitGroup
		for g := range *conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				var mine []time.Duration
				bad := 0
				for time.Now().Before(deadline) {
					t := time.Now()
					if err := get(hc, *base+sc.path(rng)); err != nil {
						bad++
					}
					mine = append(mine, time.Since(t))
				}
				mu.Lock()
				lat = append(lat, mine...)
				errs += bad
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		fmt.Printf("%-52s %9.0f %9.2f %9.2f %9.2f %8d   (first request %.0f ms)\n", sc.name, float64(len(lat))/dur.Seconds(),
			pct(0.50), pct(0.99), pct(1), errs, float64(first.Microseconds())/1000)
	}
	return nil
}

func get(hc *http.Client, url string) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func export(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:18000", "API base URL")
	format := fs.String("format", "ndjson", "json, ndjson or csv")
	token := fs.String("token", defaultToken, "admin token of the API")
	fs.Parse(args)
	start := time.Now()
	req, err := http.NewRequest(http.MethodPost, *base+"/api/ntp/history/export", strings.NewReader(`{"format":"`+*format+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("export: %s: %s", resp.Status, b)
	}
	var n, lines int64
	buf := make([]byte, 256<<10)
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		for _, c := range buf[:k] {
			if c == '\n' {
				lines++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	d := time.Since(start)
	fmt.Printf("export %-6s %d lines, %.0f MiB in %.2f s (%.0f MiB/s)\n", *format, lines, float64(n)/(1<<20), d.Seconds(), float64(n)/(1<<20)/d.Seconds())
	return nil
}
