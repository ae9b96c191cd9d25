//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// TestCollectorCrash kills the collector with SIGKILL while clients are
// sending, restarts it on the same database and ports, and checks that the
// worker reconnects and resends so that the final counts equal what was
// sent — nothing lost, nothing counted twice.
func TestCollectorCrash(t *testing.T) {
	testnet.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := testnet.New(t)
	srv := n.AddHost("srv")
	var clients []*testnet.Host
	for _, name := range []string{"c1", "c2", "c3"} {
		clients = append(clients, n.AddHost(name))
	}
	pcap := filepath.Join(t.TempDir(), "crash.pcap")
	stopCapture := startCapture(t, n, pcap)
	srv.StartChronyd(t, testnet.ChronyOptions{})

	col := maybeCollector(t, n)
	if col == nil {
		t.Skip("collector not built: nothing to crash")
	}
	col.startWorker(ctx, t, n.Bridge)

	// Each client sends a steady stream over ~3 s: the first over IPv6,
	// the others over IPv4.
	l := newLedger()
	const perClient = 150
	var wg sync.WaitGroup
	for i, h := range clients {
		dst := srv.V4
		if i == 0 {
			dst = srv.V6
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream(ctx, t, l, h, dst, perClient, 20*time.Millisecond)
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	addrs := []netip.Addr{clients[0].V6, clients[1].V4, clients[2].V4}
	before, _ := col.apiCounts(ctx, t, n.Bridge, addrs)
	stored := 0
	for _, c := range before {
		stored += c.Requests
	}
	pidBefore := col.workerPID(ctx)
	col.crash(t)
	t.Logf("collector killed with SIGKILL with %d of %d sessions stored; worker pid %d", stored, perClient*len(clients), pidBefore)
	if stored == 0 || stored >= perClient*len(clients) {
		t.Errorf("the crash did not happen mid-traffic: %d of %d sessions stored", stored, perClient*len(clients))
	}
	time.Sleep(500 * time.Millisecond)
	col.start(t)
	t.Log("collector restarted on the same database")
	wg.Wait()

	// After the restart the collector has adopted the worker (or
	// restarted it); wait for it, let the last requests time out and the
	// worker's resend and last batch land, then stop it through the API.
	col.waitWorker(ctx, t, n.Bridge)
	t.Logf("after the restart the worker pid is %d (%s)", col.workerPID(ctx),
		map[bool]string{true: "adopted", false: "restarted"}[col.workerPID(ctx) == pidBefore])
	time.Sleep(3 * time.Second)
	col.stopWorker(ctx, t, n.Bridge)
	stopCapture()

	pkts, err := dissect(ctx, pcap)
	if err != nil {
		t.Fatal(err)
	}
	wire := tally(pkts, 123)
	sent := l.snapshot()
	m := &mismatches{t: t}
	compareCounts(m, "sent", "tshark", sent, wire.counts, "requests", "answered", "unanswered", "versions")
	got, _ := col.apiCounts(ctx, t, n.Bridge, slices.Collect(maps.Keys(sent)))
	compareCounts(m, "api", "sent", got, sent, "requests", "answered", "unanswered", "kod")
	m.summary("collector crash")
	if m.count > 0 {
		t.Logf("collector log (tail):\n%s", col.log())
	}
}

// stream sends n NTPv4 requests from one socket, interval apart, and
// records each with its outcome, matching answers by originate timestamp.
func stream(ctx context.Context, t *testing.T, l *ledger, h *testnet.Host, dst netip.Addr, n int, interval time.Duration) {
	c, err := h.ListenUDP(netip.AddrPortFrom(h.Addr(dst), 0))
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	answers := readAnswers(c)
	var sent []uint64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		pkt := testnet.NTPRequest(4, 3, time.Now().Add(time.Duration(i)*time.Nanosecond))
		sent = append(sent, binary.BigEndian.Uint64(pkt[40:]))
		if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(dst, 123)); err != nil {
			t.Error(err)
			return
		}
		<-tick.C
	}
	time.Sleep(500 * time.Millisecond)
	got := answers()
	for _, x := range sent {
		kod, ok := got[x]
		l.request(h.Addr(dst), 4, ok, kod)
	}
}
