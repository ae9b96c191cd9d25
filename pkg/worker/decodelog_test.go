package worker

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// TestDecodeErrorsLogged: a packet dropped for not decoding is logged with
// why and the client's address, at most decodeLogBurst times per window;
// the next line after a full window says how many were held back.
func TestDecodeErrorsLogged(t *testing.T) {
	srv := netip.MustParseAddr("192.0.2.1")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	req := ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Transmit: ntp.FromTime(t0)})
	v7 := append([]byte(nil), req...)
	v7[0] = 7<<3 | 3
	path := filepath.Join(t.TempDir(), "bad.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := pcapfile.NewWriter(f, int(frame.LinkEthernet), 65535)
	if err != nil {
		t.Fatal(err)
	}
	type bad struct{ client, reason string }
	var want []bad
	at := t0
	write := func(b []byte, w bad) {
		at = at.Add(time.Millisecond)
		if err := pw.WritePacket(at, b, len(b)); err != nil {
			t.Fatal(err)
		}
		want = append(want, w)
	}
	for i := range 15 {
		cli := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		port := uint16(40000 + i)
		switch i % 4 {
		case 0: // a request with half an NTP header
			write(pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, cli, port, srv, 123, req[:20]),
				bad{netip.AddrPortFrom(cli, port).String(), "ntp: packet truncated"})
		case 1: // NTP version 7
			write(pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, cli, port, srv, 123, v7),
				bad{netip.AddrPortFrom(cli, port).String(), "ntp: unsupported version"})
		case 2: // a response from the server, cut short: the client is its destination
			write(pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, srv, 123, cli, port, req[:30]),
				bad{netip.AddrPortFrom(cli, port).String(), "ntp: packet truncated"})
		case 3: // a UDP header whose length is shorter than the header
			b := pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, cli, port, srv, 123, req)
			binary.BigEndian.PutUint16(b[14+20+4:], 4)
			write(b, bad{netip.AddrPortFrom(cli, port).String(), "frame: malformed header: UDP length"})
		}
	}
	f.Close()

	var logs syncbuf.Buffer
	cfg := Config{PcapFile: path, Interface: "eth0", Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	c := newCollector(t)
	w, err := New(cfg, sender.New(sender.Config{Addr: c.addr(), Block: true, Spool: 1000, Interface: "eth0"}))
	if err != nil {
		t.Fatal(err)
	}
	// The limiter's clock stands still for the first 12 errors, then moves
	// past the window: errors 11 and 12 are held back and counted on 13.
	var calls atomic.Int32
	w.decodeLog.Now = func() time.Time {
		if calls.Add(1) <= 12 {
			return t0
		}
		return t0.Add(2 * decodeLogWindow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Decode.Total(); n != 15 {
		t.Fatalf("%d decode errors counted, want 15 (%+v)", n, sum.Decode)
	}
	type line struct {
		Level, Msg, Client, Reason, Interface string
		Suppressed                            int
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec line
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if strings.HasPrefix(rec.Msg, "packet did not decode") {
			got = append(got, rec)
		}
	}
	// Logged: 1–10, then 13–15 (13 saying that 2 were held back).
	logged := append(append([]bad{}, want[:10]...), want[12:]...)
	if len(got) != len(logged) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(logged), logs.String())
	}
	for i, g := range got {
		w := logged[i]
		suppressed := 0
		if i == 10 {
			suppressed = 2
		}
		if g.Level != "WARN" || g.Client != w.client || !strings.HasPrefix(g.Reason, w.reason) || g.Interface != "eth0" || g.Suppressed != suppressed {
			t.Errorf("line %d: %+v, want client %q, reason %q…, suppressed %d", i, g, w.client, w.reason, suppressed)
		}
	}
}

// The client end of a frame, as far as it was decoded.
func TestDecodeErrorClient(t *testing.T) {
	cli, srv := netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name string
		fr   frame.Frame
		want string
	}{
		{"request", frame.Frame{Src: cli, SrcPort: 40000, Dst: srv, DstPort: 123}, "[2001:db8::7]:40000"},
		{"response", frame.Frame{Src: srv, SrcPort: 123, Dst: cli, DstPort: 40000}, "[2001:db8::7]:40000"},
		{"server to server", frame.Frame{Src: srv, SrcPort: 123, Dst: cli, DstPort: 123}, "192.0.2.1:123"},
		{"IP header only", frame.Frame{Src: cli, Dst: srv}, "2001:db8::7"},
		{"nothing decoded", frame.Frame{}, ""},
	}
	for _, tc := range tests {
		w := &Worker{cfg: Config{Port: 123}, fr: tc.fr}
		if got := w.client(); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}
