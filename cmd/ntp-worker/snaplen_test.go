package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
)

// cutCapture writes a capture of five exchanges, some of whose datagrams
// carry 64 bytes of extension fields after the header that the capture
// kept only the first 20 of (a snaplen below the datagram), and returns
// how many sessions have a cut packet.
func cutCapture(t *testing.T, path string, start time.Time) (sessions, cut int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw, err := pcapfile.NewWriter(f, int(frame.LinkEthernet), 65535)
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddr("192.0.2.1")
	const extra, kept = 64, 20
	write := func(at time.Time, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, p *ntp.Packet, cut bool) {
		payload := ntp.AppendPacket(nil, p)
		if cut {
			payload = append(payload, make([]byte, extra)...)
		}
		data := pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, src, sport, dst, dport, payload)
		captured := data
		if cut {
			captured = data[:len(data)-extra+kept]
		}
		if err := pw.WritePacket(at, captured, len(data)); err != nil {
			t.Fatal(err)
		}
	}
	exchanges := []struct {
		reqCut, respCut, answered bool
	}{
		{false, false, true},
		{true, false, true},  // an NTS request: its cookie beyond the snaplen
		{false, true, true},  // the answer's extension fields cut
		{true, false, false}, // cut and never answered
		{false, false, false},
	}
	for i, x := range exchanges {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		client := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
		tx := ntp.FromTime(at.Add(-time.Millisecond))
		write(at, client, 40000, server, 123, &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Poll: 6, Transmit: tx, Length: ntp.HeaderSize}, x.reqCut)
		if x.answered {
			rx := ntp.FromTime(at.Add(time.Microsecond))
			write(at.Add(200*time.Microsecond), server, 123, client, 40000, &ntp.Packet{
				Version: 4, Mode: ntp.ModeServer, Stratum: 2, Poll: 6, Precision: -24,
				ReferenceID: [4]byte{192, 0, 2, 250}, Reference: ntp.FromTime(at.Add(-time.Minute)),
				Originate: tx, Receive: rx, Transmit: ntp.FromTime(at.Add(30 * time.Microsecond)), Length: ntp.HeaderSize,
			}, x.respCut)
		}
		sessions++
		if x.reqCut || x.respCut {
			cut++
		}
	}
	return sessions, cut
}

// A capture whose datagrams the snaplen cut after their NTP header, read by
// ntp-worker --pcap-file into a real collector over TCP: every session is
// stored, and the traffic series counts those with a cut packet in
// snaplen_cut.
func TestSnaplenCutReachesTheSeries(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	capture := filepath.Join(dir, "cut.pcap")
	sessions, cut := cutCapture(t, capture, start.Add(5*time.Minute))

	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, filepath.Join(dir, "ntp.db"), store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, err := ingest.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ingest.New(ingest.Config{Listener: ln, BatchInterval: 20 * time.Millisecond, Logger: quiet}, st)
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(sctx); err != nil {
			t.Errorf("ingest: %v", err)
		}
	})
	defer func() { stop(); wg.Wait() }()

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	stderr, code := runBin(t, bin, nil, "--pcap-file", capture, "--interface", "cut0",
		"--ingestion-host", host, "--ingestion-port", port, "--log-format", "json")
	if code != 0 {
		t.Fatalf("ntp-worker exit %d:\n%s", code, stderr)
	}

	tot, _, err := st.SeriesTotals(ctx, start, start.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := tot["cut0"]
	if b == nil {
		t.Fatalf("no series for cut0: %v", tot)
	}
	if b.Requests != int64(sessions) || b.Answered != 3 || b.SnaplenCut != int64(cut) {
		t.Errorf("series: %d requests, %d answered, %d cut by the snaplen; want %d, 3, %d",
			b.Requests, b.Answered, b.SnaplenCut, sessions, cut)
	}
	n, err := st.CountClients(ctx, store.ClientFilter{})
	if err != nil || n != int64(sessions) {
		t.Errorf("%d client rows (%v), want %d", n, err, sessions)
	}
}
