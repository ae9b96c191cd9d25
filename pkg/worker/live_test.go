package worker

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/capture"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// TestLiveCapture captures real traffic in network namespaces: chronyd
// serves, hand-made requests, chronyd -Q and ntpdig query it, and the
// worker captures on the server's bridge port, with each capture engine.
// Every hand-made exchange is checked field by field against the bytes
// sent and received; the real clients are checked against chronyd's own
// client log.
func TestLiveCapture(t *testing.T) {
	testnet.Require(t)
	for _, engine := range []capture.Engine{capture.EnginePcap, capture.EngineAFPacket} {
		t.Run(string(engine), func(t *testing.T) { liveCapture(t, engine) })
	}
}

func liveCapture(t *testing.T, engine capture.Engine) {
	n := testnet.New(t)
	srv := n.AddHost("srv")
	cli := n.AddHost("cli")
	chrony := srv.StartChronyd(t, testnet.ChronyOptions{})
	silent4, _ := srv.AddAddr() // nothing answers NTP here

	c := newCollector(t)
	snd := sender.New(sender.Config{Addr: c.addr(), Interface: srv.Peer, MinBackoff: 10 * time.Millisecond})
	w, err := New(Config{Interface: srv.Peer, Engine: engine, Timeout: 500 * time.Millisecond, StatsInterval: 200 * time.Millisecond, Logger: testLogger(t)}, snd)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.src.Engine(); got != engine {
		t.Fatalf("capture engine %q, want %q", got, engine)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := w.Run(ctx)
		done <- result{sum, err}
	}()
	time.Sleep(300 * time.Millisecond) // the capture is open; let it settle

	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()

	// Hand-made requests, each from its own port, over IPv4 and IPv6.
	type exchange struct {
		client netip.AddrPort
		server netip.Addr
		req    ntp.Packet
		resp   ntp.Packet
	}
	var sent []exchange
	for i, dst := range []netip.Addr{srv.V4, srv.V4, srv.V6, srv.V6, srv.V4} {
		port := uint16(40001 + i)
		version := uint8(4 - i%2) // v4 and v3 requests
		b := testnet.NTPRequest(version, ntp.ModeClient, time.Now())
		reply, err := cli.SendUDP(qctx, netip.AddrPortFrom(dst, 123), b, int(port))
		if err != nil || reply == nil {
			t.Fatalf("request %d to %v: reply %x, %v", i, dst, reply, err)
		}
		var ex exchange
		ex.client, ex.server = netip.AddrPortFrom(cli.Addr(dst), port), dst
		if err := ntp.Decode(b, &ex.req); err != nil {
			t.Fatal(err)
		}
		if err := ntp.Decode(reply, &ex.resp); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, ex)
	}
	// Real clients.
	if out, err := cli.ChronyQuery(qctx, srv.V4); err != nil {
		t.Fatalf("chronyd -Q: %v\n%s", err, out)
	}
	if out, err := cli.Ntpdig(qctx, srv.V6); err != nil {
		t.Fatalf("ntpdig: %v\n%s", err, out)
	}
	// A mode 6 query (chronyd ignores it) and a request nobody answers;
	// neither gets a reply, so each waits a short while for none.
	quick, qc := context.WithTimeout(qctx, 300*time.Millisecond)
	_, err = cli.SendUDP(quick, netip.AddrPortFrom(srv.V4, 123), testnet.ControlRequest(2, 2, 1), 40100)
	qc()
	if err != nil {
		t.Fatal(err)
	}
	quick, qc = context.WithTimeout(qctx, 300*time.Millisecond)
	_, err = cli.SendUDP(quick, netip.AddrPortFrom(silent4, 123), testnet.NTPRequest(4, ntp.ModeClient, time.Now()), 40200)
	qc()
	if err != nil {
		t.Fatal(err)
	}

	clients, err := chrony.Clients(qctx)
	if err != nil {
		t.Fatal(err)
	}
	served := map[netip.Addr]uint64{}
	var total uint64
	for _, cl := range clients {
		served[cl.Addr] = cl.NTPPackets - cl.NTPDrops
		total += cl.NTPPackets - cl.NTPDrops
	}
	// Wait for the answered sessions, the mode 6 record and, after the
	// 0.5 s timeout on a quiet interface, the unanswered one.
	want := int(total) + 2
	deadline := time.Now().Add(15 * time.Second)
	for len(c.sessions()) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30 s of its context ending")
	}
	if res.err != nil {
		t.Fatalf("run: %v", res.err)
	}

	got := c.sessions()
	if len(got) != want {
		for _, s := range got {
			t.Logf("session %v:%d → %v mode %d answered %v", s.ClientIP, s.ClientPort, s.ServerIP, s.Mode, s.Answered)
		}
		t.Fatalf("collector got %d records; want %d answered (chronyd's client log), 1 mode 6, 1 unanswered", len(got), want-2)
	}
	byClient := map[netip.AddrPort]session.Session{}
	answeredBy := map[netip.Addr]uint64{}
	var control, unanswered int
	for _, s := range got {
		if s.Interface != srv.Peer {
			t.Errorf("interface %q", s.Interface)
		}
		switch {
		case s.Mode == ntp.ModeControl:
			control++
			if s.ClientPort != 40100 || s.ServerIP != srv.V4 || s.Answered {
				t.Errorf("mode 6 record %+v", s)
			}
		case !s.Answered:
			unanswered++
			if s.ServerIP != silent4 || s.ClientPort != 40200 {
				t.Errorf("unanswered session %+v", s)
			}
		default:
			answeredBy[s.ClientIP]++
			byClient[netip.AddrPortFrom(s.ClientIP, s.ClientPort)] = s
			if s.Stratum != 8 || s.ReferenceID != "127.127.1.1" || s.Precision >= 0 {
				t.Errorf("chronyd's response fields: %+v", s)
			}
			if s.Total <= 0 || s.Total > 1 || s.Processing < 0 || s.Processing > 0.1 {
				t.Errorf("timings of %v: total %v processing %v", s.ClientIP, s.Total, s.Processing)
			}
		}
	}
	if control != 1 || unanswered != 1 {
		t.Errorf("%d mode 6 records and %d unanswered, want 1 and 1", control, unanswered)
	}
	for addr, n := range served {
		if answeredBy[addr] != n {
			t.Errorf("client %v: %d answered sessions, chronyd answered %d", addr, answeredBy[addr], n)
		}
	}
	for _, ex := range sent {
		s, ok := byClient[ex.client]
		if !ok {
			t.Errorf("no session for the request from %v", ex.client)
			continue
		}
		r := &ex.resp
		if s.ServerIP != ex.server || s.ServerPort != 123 || s.Version != ex.req.Version || s.Mode != ntp.ModeClient ||
			s.Poll != ex.req.Poll || s.PacketLength != 48 {
			t.Errorf("%v: request fields %+v, sent %+v", ex.client, s, ex.req)
		}
		if s.OriginateTime != ex.req.Transmit.Unix() || s.ReceiveTime != r.Receive.Unix() ||
			s.TransmitTime != r.Transmit.Unix() || s.ReferenceTime != r.Reference.Unix() ||
			s.Stratum != r.Stratum || s.Precision != r.Precision || s.Leap != session.LeapName(r.Leap) ||
			s.RootDelay != ntp.ShortSeconds(r.RootDelay) || s.RootDispersion != ntp.ShortSeconds(r.RootDispersion) {
			t.Errorf("%v: response fields %+v, received %+v", ex.client, s, *r)
		}
		// The request carried the sender's clock, in the same namespace
		// tree as the server's: a real latency, well under a second.
		if !s.LatencyValid || s.Latency != ntp.Sub(r.Receive, ex.req.Transmit) {
			t.Errorf("%v: latency %v (valid %v), want %v", ex.client, s.Latency, s.LatencyValid, ntp.Sub(r.Receive, ex.req.Transmit))
		}
		if s.Processing != ntp.Sub(r.Transmit, r.Receive) {
			t.Errorf("%v: processing %v, want %v", ex.client, s.Processing, ntp.Sub(r.Transmit, r.Receive))
		}
	}
	sum := res.sum
	if sum.Capture.Dropped != 0 || sum.Decode.Total() != 0 || sum.Pairing.Unmatched != 0 {
		t.Errorf("summary %+v", sum)
	}
	if sum.Sender.Acked != uint64(want) {
		t.Errorf("acked %d of %d", sum.Sender.Acked, want)
	}
	if st := c.stats(); len(st) == 0 || st[len(st)-1].Sessions != uint64(want-1) || st[len(st)-1].Packets != sum.Packets {
		t.Errorf("stats lines %+v, want the last one to count %d sessions and %d packets", st, want-1, sum.Packets)
	}
}
