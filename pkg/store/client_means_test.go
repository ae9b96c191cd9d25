package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// exactMeans returns the nearest-rank p50 and p95 of iface's per-client
// means of each metric, sorted straight from the rows.
func exactMeans(t *testing.T, s *Store, iface string) [meanMetrics][2]float64 {
	t.Helper()
	rows, err := s.ReadDB().Query(`SELECT latency_sum / NULLIF(latency_count, 0), processing_sum / answered_count, total_sum / answered_count
		FROM ntp_clients WHERE interface_name = ? AND answered_count > 0`, iface)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var by [meanMetrics][]float64
	for rows.Next() {
		var lat *float64
		var proc, tot float64
		if err := rows.Scan(&lat, &proc, &tot); err != nil {
			t.Fatal(err)
		}
		if lat != nil {
			by[meanLatency] = append(by[meanLatency], *lat)
		}
		by[meanProcessing] = append(by[meanProcessing], proc)
		by[meanTotal] = append(by[meanTotal], tot)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var out [meanMetrics][2]float64
	for m, v := range by {
		slices.Sort(v)
		for i, q := range []float64{0.5, 0.95} {
			if len(v) > 0 {
				out[m][i] = v[max(0, int(math.Ceil(q*float64(len(v))))-1)]
			} else {
				out[m][i] = math.NaN()
			}
		}
	}
	return out
}

// builtMeans counts iface's mean buckets afresh, as a reader would.
func builtMeans(t *testing.T, s *Store, iface string) *meanCounts {
	t.Helper()
	tx, err := s.ReadDB().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	built, err := buildMeans(context.Background(), tx)
	if err != nil {
		t.Fatal(err)
	}
	if k := built[iface]; k != nil && k.changes == changesOf(t, tx, iface) {
		return k
	}
	t.Fatalf("no buckets of %s built", iface)
	return nil
}

// keptMeans copies the buckets s keeps of ifc, and their version.
func keptMeans(s *Store, ifc string) (changes int64, n map[int64]int64, ok bool) {
	s.means.mu.Lock()
	defer s.means.mu.Unlock()
	k := s.means.of[ifc]
	if k == nil {
		return 0, nil, false
	}
	return k.changes, maps.Clone(k.n), true
}

// TestClientMeansFollowTheRows commits answered sessions of a few hundred
// clients on two interfaces, with log-normal timings and some latencies
// hidden or negative, and after every commit holds the kept buckets of the
// client means to buckets counted afresh from the rows (equal, key for
// key), and the statistics' p50 and p95 of the client means to the exact
// nearest-rank percentiles of the rows' means, within the buckets' error.
// It also checks that each commit moved the kept buckets itself rather
// than leaving them to be built again; then a cleanup, and a commit by
// another Store on the same file, which the buckets cannot follow.
func TestClientMeansFollowTheRows(t *testing.T) {
	path := t.TempDir() + "/ntp.db"
	s := openAt(t, path, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 8))
	ifaces := []string{"eth0", "eth1"}

	check := func(step string) {
		t.Helper()
		st, err := s.InterfaceStatistics(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range st {
			want := exactMeans(t, s, i.Interface)
			for m, got := range [meanMetrics]MetricStats{meanLatency: i.Latency, meanProcessing: i.Processing, meanTotal: i.Total} {
				for j, p := range []struct {
					name string
					v    float64
					ok   bool
				}{{"p50", got.P50.Float64, got.P50.Valid}, {"p95", got.P95.Float64, got.P95.Valid}} {
					w := want[m][j]
					if math.IsNaN(w) != !p.ok || p.ok && math.Abs(p.v-w) > loghist.RelativeError*math.Abs(w)+loghist.ZeroThreshold {
						t.Fatalf("%s: %s metric %d %s %v (valid %v), exact %v", step, i.Interface, m, p.name, p.v, p.ok, w)
					}
				}
			}
		}
	}
	kept := func(step, ifc string, version int64) {
		t.Helper()
		changes, n, ok := keptMeans(s, ifc)
		if !ok || changes != version {
			t.Fatalf("%s: the kept buckets of %s are not of version %d: %d, %v", step, ifc, version, changes, ok)
		}
		if built := builtMeans(t, s, ifc); !maps.Equal(n, built.n) {
			t.Fatalf("%s: kept buckets of %s\n%v\nbuilt from the rows\n%v", step, ifc, n, built.n)
		}
	}
	commit := seqCommitter(t)
	logNormal := func(median, sigma float64) float64 { return median * math.Exp(sigma*rng.NormFloat64()) }
	randomSessions := func() []session.Session {
		var ss []session.Session
		for range 1 + rng.IntN(40) {
			ip := fmt.Sprintf("198.51.100.%d", rng.IntN(250))
			opts := []func(*session.Session){iface(ifaces[rng.IntN(2)])}
			switch r := rng.IntN(10); {
			case r == 0: // unanswered: no means move
			case r == 1: // latency hidden
				opts = append(opts, answered(-1, logNormal(40e-6, 1), logNormal(3e-3, 0.5)))
			case r == 2: // a client whose clock is ahead
				opts = append(opts, answered(-logNormal(2e-3, 1), logNormal(40e-6, 1), logNormal(3e-3, 0.5)))
				opts = append(opts, func(s *session.Session) { s.Latency = -math.Abs(s.Latency) })
			default:
				opts = append(opts, answered(logNormal(2e-3, 1), logNormal(40e-6, 1), logNormal(3e-3, 0.5)))
			}
			ss = append(ss, sess(ip, rng.Float64()*3600, opts...))
		}
		return ss
	}
	changes := func(iface string) int64 { return changesOf(t, s.ReadDB(), iface) }

	for range 10 {
		commit(s, randomSessions())
	}
	check("first read")
	for i := range 100 {
		before := map[string]int64{"eth0": changes("eth0"), "eth1": changes("eth1")}
		commit(s, randomSessions())
		for _, ifc := range ifaces {
			if after := changes(ifc); after != before[ifc] {
				kept(fmt.Sprintf("commit %d", i), ifc, after)
			}
		}
		check(fmt.Sprintf("after commit %d", i))
	}

	if n, err := s.Cleanup(ctx, t0.Add(30*time.Minute), false); err != nil || n == 0 {
		t.Fatalf("Cleanup: %d, %v", n, err)
	}
	check("after a cleanup")
	other := openAt(t, path, Options{})
	commit(other, randomSessions())
	check("after another Store's commit")
	commit(s, randomSessions())
	check("after a commit of this Store again")
	kept("after a commit of this Store again", "eth0", changes("eth0"))
}

// The kept key of a mean holds its metric and its loghist bucket, for
// every bucket of either sign.
func TestMeanKeys(t *testing.T) {
	for m := range meanMetrics {
		for _, v := range []float64{0, 1e-12, 1e-9, 3e-5, 1, 5000, math.Inf(1), -1e-9, -0.25, -5000, math.Inf(-1)} {
			gm, key := splitMeanKey(meanKey(m, v))
			if gm != m || key != loghist.Key(v) {
				t.Errorf("mean %v of metric %d: split into metric %d key %d, want key %d", v, m, gm, key, loghist.Key(v))
			}
		}
	}
}

// TestClientMeansReaderBehind reads the client means in a read transaction
// that began before two commits, with the kept buckets already moved past
// it: the percentiles are of the transaction's own version, from the kept
// buckets less the two commits' moves, without building them again, and
// the kept buckets stay as they were.
func TestClientMeansReaderBehind(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	commitAll(t, s, "w", 1, sess("198.51.100.1", 0, answered(0.001, 0.0001, 0.002)),
		sess("198.51.100.2", 1, answered(0.001, 0.0001, 0.002)))
	if _, err := s.InterfaceStatistics(ctx, t0); err != nil {
		t.Fatal(err)
	}
	tx, c := readTx(t, s)
	// Both clients' means move far up, and a third client comes.
	commitAll(t, s, "w", 10, sess("198.51.100.1", 2, answered(1, 0.1, 2)), sess("198.51.100.2", 3, answered(1, 0.1, 2)))
	commitAll(t, s, "w", 12, sess("198.51.100.3", 4, answered(1, 0.1, 2)))
	s.means.mu.Lock()
	kept := s.means.of["eth0"]
	before := maps.Clone(kept.n)
	s.means.mu.Unlock()
	if kept.changes != c+2 {
		t.Fatalf("kept buckets of version %d, want them moved to %d", kept.changes, c+2)
	}
	cm, err := s.meansOf(ctx, tx, meansKey{iface: "eth0", changes: c})
	if err != nil {
		t.Fatal(err)
	}
	if p := cm.Processing.P95; !p.Valid || math.Abs(p.Float64-0.0001) > 0.0001*loghist.RelativeError {
		t.Errorf("processing p95 as of the transaction: %v, want 0.0001", p)
	}
	s.means.mu.Lock()
	same := s.means.of["eth0"] == kept && maps.Equal(kept.n, before)
	s.means.mu.Unlock()
	if !same {
		t.Errorf("the read built the buckets again, or changed them")
	}
}

// TestMeansBuildOnce: a reader that finds a build of the buckets under way
// waits for it rather than building again, and one that comes after it
// builds anew. Whether the second reader arrives while the first build is
// held is up to the scheduler, so the round is repeated until it has; a
// second build that runs while the first is under way fails at once.
func TestMeansBuildOnce(t *testing.T) {
	var c clientMeans
	ctx := context.Background()
	for round := 0; ; round++ {
		if round == 50 {
			t.Fatal("in 50 rounds the second reader never came while the first build was held")
		}
		var running atomic.Bool
		release, started := make(chan struct{}), make(chan struct{})
		first := make(chan bool)
		go func() {
			ran, err := c.buildOnce(ctx, func() error {
				running.Store(true)
				close(started)
				<-release
				running.Store(false)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			first <- ran
		}()
		<-started
		second := make(chan bool)
		go func() {
			ran, err := c.buildOnce(ctx, func() error {
				if running.Load() {
					t.Error("a second build ran while the first was under way")
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			second <- ran
		}()
		time.Sleep(20 * time.Millisecond) // time for the second to find the first under way
		close(release)
		if !<-first {
			t.Fatal("the first build did not run")
		}
		if !<-second {
			break // it waited for the first
		}
	}
	if ran, err := c.buildOnce(ctx, func() error { return nil }); !ran || err != nil {
		t.Fatalf("a build after the first: ran %v, %v", ran, err)
	}
}

// TestClientMeansConcurrent reads the statistics from 8 goroutines, the
// first of them building the buckets, while commits move them; at the end
// the kept buckets equal buckets built from the rows (run it with -race).
func TestClientMeansConcurrent(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	commit := seqCommitter(t)
	rng := rand.New(rand.NewPCG(9, 9))
	batch := func() []session.Session {
		var ss []session.Session
		for range 20 {
			ss = append(ss, sess(fmt.Sprintf("198.51.100.%d", rng.IntN(250)), rng.Float64()*60,
				answered(rng.Float64()*0.01, rng.Float64()*1e-4, rng.Float64()*0.01), iface([]string{"eth0", "eth1"}[rng.IntN(2)])))
		}
		return ss
	}
	commit(s, batch())
	stop := make(chan struct{})
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if _, err := s.InterfaceStatistics(ctx, t0); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	for range 50 {
		commit(s, batch())
	}
	close(stop)
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, ifc := range []string{"eth0", "eth1"} {
		_, n, ok := keptMeans(s, ifc)
		if built := builtMeans(t, s, ifc); !ok || !maps.Equal(n, built.n) {
			t.Errorf("%s: kept buckets %v, built from the rows %v", ifc, n, built.n)
		}
	}
}
