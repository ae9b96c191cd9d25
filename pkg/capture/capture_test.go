package capture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

func writeCapture(t *testing.T, cfg pcapgen.Config) (string, pcapgen.Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := pcapgen.Write(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ntp.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sum
}

func readAll(t *testing.T, s *Source) (n int, frames []frame.Frame) {
	t.Helper()
	for {
		data, ts, err := s.Next()
		if errors.Is(err, io.EOF) {
			return n, frames
		}
		if err != nil {
			t.Fatal(err)
		}
		if ts.IsZero() {
			t.Fatal("packet without a timestamp")
		}
		var f frame.Frame
		if err := frame.Decode(s.LinkType(), data, &f); err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		f.Payload = nil // aliases the capture buffer
		frames = append(frames, f)
		n++
	}
}

func TestOpenFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  pcapgen.Config
		link frame.LinkType
	}{
		{"ethernet", pcapgen.Config{Requests: 50, Clients: 5, IPv6Every: 2}, frame.LinkEthernet},
		{"vlan", pcapgen.Config{Requests: 50, Clients: 5, IPv6Every: 2, VLAN: 7}, frame.LinkEthernet},
		{"sll2", pcapgen.Config{Requests: 50, Clients: 5, IPv6Every: 2, Link: frame.LinkLinuxSLL2}, frame.LinkLinuxSLL2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, sum := writeCapture(t, tt.cfg)
			s, err := OpenFile(path, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Live() || !s.LinkType().Supported() {
				t.Fatalf("live %v, link type %v", s.Live(), s.LinkType())
			}
			n, frames := readAll(t, s)
			if n != sum.Packets {
				t.Fatalf("read %d packets, wrote %d", n, sum.Packets)
			}
			if tt.cfg.VLAN != 0 && frames[0].VLAN != tt.cfg.VLAN {
				t.Fatalf("VLAN %d", frames[0].VLAN)
			}
			if st, err := s.Stats(); err != nil || st != (Stats{}) {
				t.Fatalf("file stats %+v, %v", st, err)
			}
		})
	}
}

// TestFileFilter: only the monitored port passes, tagged or not.
func TestFileFilter(t *testing.T) {
	path, sum := writeCapture(t, pcapgen.Config{Requests: 20, Clients: 4, VLAN: 3, Port: 1123})
	for _, tt := range []struct {
		port uint16
		want int
	}{{123, 0}, {1123, sum.Packets}} {
		s, err := OpenFile(path, Config{Port: tt.port})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := readAll(t, s)
		s.Close()
		if n != tt.want {
			t.Errorf("port %d: %d packets pass, want %d", tt.port, n, tt.want)
		}
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "absent.pcap"), "no such file"},
		{text, "not a pcap or pcapng capture"},
	} {
		_, err := OpenFile(tt.path, Config{})
		if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: %v", tt.path, err)
		}
	}
}

func TestOpenLiveMissingInterface(t *testing.T) {
	_, err := OpenLive("nosuchif0", Config{})
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "ip link") {
		t.Fatalf("error %v", err)
	}
}

func TestFilterExpression(t *testing.T) {
	if got := Filter(123); got != "udp port 123 or (vlan and udp port 123)" {
		t.Fatal(got)
	}
}

// withEngines runs test once with each live capture engine, as subtests.
func withEngines(t *testing.T, test func(t *testing.T, engine Engine)) {
	testnet.Require(t)
	for _, engine := range []Engine{EnginePcap, EngineAFPacket} {
		t.Run(string(engine), func(t *testing.T) { test(t, engine) })
	}
}

// openTwoHosts makes hosts a and b on a bridge and captures on a's port.
func openTwoHosts(t *testing.T, engine Engine) (s *Source, a, b *testnet.Host) {
	t.Helper()
	n := testnet.New(t)
	a, b = n.AddHost("a"), n.AddHost("b")
	s, err := OpenLive(a.Peer, Config{ReadTimeout: 50 * time.Millisecond, Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.LinkType() != frame.LinkEthernet || s.Engine() != engine {
		t.Fatalf("link type %v, engine %q", s.LinkType(), s.Engine())
	}
	return s, a, b
}

// readFrames decodes captured packets until want have been read or five
// seconds passed, handing each to check, and returns how many it read.
func readFrames(t *testing.T, s *Source, want int, check func(i int, f *frame.Frame)) int {
	t.Helper()
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < want && time.Now().Before(deadline) {
		data, _, err := s.Next()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var f frame.Frame
		if err := frame.Decode(s.LinkType(), data, &f); err != nil {
			t.Fatal(err)
		}
		check(got, &f)
		got++
	}
	return got
}

// TestLiveQuietClose: a reader waiting on an interface that carries no
// traffic at all is released by Close, which itself returns.
func TestLiveQuietClose(t *testing.T) { withEngines(t, liveQuietClose) }

func liveQuietClose(t *testing.T, engine Engine) {
	n := testnet.New(t)
	h := n.AddHost("quiet")
	s, err := OpenLive(h.Peer, Config{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	if s.Engine() != engine {
		t.Fatalf("engine %q, want %q", s.Engine(), engine)
	}
	readerDone := make(chan error, 1)
	go func() {
		for {
			_, _, err := s.Next()
			if errors.Is(err, ErrTimeout) {
				continue
			}
			readerDone <- err
			return
		}
	}()
	time.Sleep(500 * time.Millisecond) // the reader is inside libpcap now
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	// A hang is the failure: generous bounds, not a timing assertion.
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still blocked after 10 s on a quiet interface")
	}
	select {
	case err := <-readerDone:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("reader ended with %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader still blocked after Close")
	}
	if _, err := s.Stats(); err != nil {
		t.Fatalf("Stats after Close: %v", err)
	}
}

// TestLiveCaptureStats captures hand-made NTP packets on a bridge port and
// checks what the kernel counts, with each engine.
func TestLiveCaptureStats(t *testing.T) { withEngines(t, liveCaptureStats) }

func liveCaptureStats(t *testing.T, engine Engine) {
	s, a, b := openTwoHosts(t, engine)
	const sent = 10
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range sent {
		dst := a.V4
		if i%2 == 1 {
			dst = a.V6
		}
		q, qc := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := b.SendUDP(q, netip.AddrPortFrom(dst, 123), testnet.NTPRequest(4, 3, time.Now()), 30000+i)
		qc()
		if err != nil {
			t.Fatal(err)
		}
		// Traffic to another port is filtered out.
		q, qc = context.WithTimeout(ctx, 10*time.Millisecond)
		b.SendUDP(q, netip.AddrPortFrom(dst, 9999), []byte("x"), 0)
		qc()
	}
	got := readFrames(t, s, sent, func(i int, f *frame.Frame) {
		if f.DstPort != 123 || f.SrcPort != uint16(30000+i) {
			t.Fatalf("packet %d: %v:%d → %v:%d", i, f.Src, f.SrcPort, f.Dst, f.DstPort)
		}
	})
	if got != sent {
		t.Fatalf("captured %d of %d requests", got, sent)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// ps_recv counts what passed the filter: the requests, plus any ICMP
	// errors that the filter lets through none of.
	if st.Received < sent || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A pcap written by pcapfile (nanosecond timestamps) keeps its precision.
func TestFileTimestamps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.pcap")
	f, _ := os.Create(path)
	w, err := pcapfile.NewWriter(f, int(frame.LinkEthernet), 256)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := pcapgen.Write(&buf, pcapgen.Config{Requests: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	_, data, orig, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	if err := w.WritePacket(want, data, orig); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := OpenFile(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, ts, err := s.Next()
	if err != nil || !ts.Equal(want) {
		t.Fatalf("timestamp %v (%v), want %v", ts, err, want)
	}
}

// TestLiveVLAN: requests tagged with an 802.1Q VLAN pass the filter and
// reach the decoder with their tag, with each engine (the kernel moves the
// tag out of the frame into the packet's metadata; libpcap and the
// afpacket engine put it back).
func TestLiveVLAN(t *testing.T) { withEngines(t, liveVLAN) }

func liveVLAN(t *testing.T, engine Engine) {
	s, a, b := openTwoHosts(t, engine)
	// Tagged frames from b, flooded by the bridge to a's port, where the
	// capture sees them leave the bridge.
	const vid, sent = 7, 5
	var frames [][]byte
	for i := range sent {
		frames = append(frames, pcapgen.AppendFrame(nil, frame.LinkEthernet, vid, b.V4, uint16(30000+i), a.V4, 123, testnet.NTPRequest(4, 3, time.Now())))
	}
	if err := b.SendFrames(frames); err != nil {
		t.Fatal(err)
	}
	got := readFrames(t, s, sent, func(i int, f *frame.Frame) {
		if f.VLAN != vid || f.Src != b.V4 || f.SrcPort != uint16(30000+i) || f.Dst != a.V4 || f.DstPort != 123 {
			t.Fatalf("packet %d: VLAN %d, %v:%d → %v:%d", i, f.VLAN, f.Src, f.SrcPort, f.Dst, f.DstPort)
		}
	})
	if got != sent {
		t.Fatalf("captured %d of %d tagged requests", got, sent)
	}
}
