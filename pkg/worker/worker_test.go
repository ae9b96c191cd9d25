package worker

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/tsharktest"
)

var update = flag.Bool("update", false, "rewrite the generated captures in testdata/")

// generated are the synthetic captures committed in testdata/, each with
// the pcapgen configuration that wrote it (go test -run TestGenerated
// -update rewrites them).
var generated = []struct {
	file string
	cfg  pcapgen.Config
}{
	{"mixed.pcap", pcapgen.Config{Requests: 300, Clients: 40, IPv6Every: 3, UnansweredEvery: 7, KoDEvery: 11, ControlEvery: 50, RandomTransmitEvery: 4, Interval: 10 * time.Millisecond, Delay: 300 * time.Microsecond, ClientOffset: 2 * time.Millisecond, Seed: 7}},
	{"vlan.pcap", pcapgen.Config{Requests: 60, Clients: 6, IPv6Every: 2, UnansweredEvery: 5, VLAN: 100, Interval: 5 * time.Millisecond, Seed: 8}},
	{"sll2.pcap", pcapgen.Config{Requests: 60, Clients: 6, IPv6Every: 2, UnansweredEvery: 5, KoDEvery: 9, Link: frame.LinkLinuxSLL2, Interval: 5 * time.Millisecond, Seed: 9}},
	// Responses 2.5 s after their requests, beyond the 2 s timeout: every
	// request is unanswered and every response unmatched.
	{"late.pcap", pcapgen.Config{Requests: 20, Clients: 20, IPv6Every: 2, Interval: 100 * time.Millisecond, Delay: 2500 * time.Millisecond, Seed: 10}},
}

func TestGeneratedCaptures(t *testing.T) {
	for _, g := range generated {
		t.Run(g.file, func(t *testing.T) {
			path := filepath.Join("testdata", g.file)
			var buf bytes.Buffer
			want, err := pcapgen.Write(&buf, g.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, buf.Bytes()) {
				t.Fatalf("%s differs from what its configuration generates (run with -update): %v", path, err)
			}

			c := newCollector(t)
			sum := runFile(t, c, path, Config{})
			got := c.sessions()
			checkGenerated(t, want, got, sum, g.file)
		})
	}
}

func checkGenerated(t *testing.T, want pcapgen.Summary, got []session.Session, sum Summary, label string) {
	t.Helper()
	cfg := want.Config
	late := cfg.Delay > 2*time.Second
	wantAnswered := want.Answered
	if late {
		wantAnswered = 0
	}
	if sum.Packets != uint64(want.Packets) || sum.Decode.Total() != 0 {
		t.Errorf("packets %d (decode errors %+v), want %d", sum.Packets, sum.Decode, want.Packets)
	}
	if len(got) != want.Requests+want.Control {
		t.Fatalf("collector got %d records, want %d requests + %d mode 6", len(got), want.Requests, want.Control)
	}
	if sum.Sender.Acked != uint64(len(got)) || sum.Sender.Lost != 0 {
		t.Errorf("sender counters %+v", sum.Sender)
	}
	var answered, unanswered, kod, control int
	clients := map[netip.AddrPort]bool{}
	for i := range max(cfg.Clients, 1) {
		a, p := cfg.Client(i)
		clients[netip.AddrPortFrom(a, p)] = true
		clients[netip.AddrPortFrom(a, p+1)] = true // mode 6 queries
	}
	for _, s := range got {
		if s.Interface != label {
			t.Fatalf("interface %q, want %q", s.Interface, label)
		}
		if !clients[netip.AddrPortFrom(s.ClientIP, s.ClientPort)] {
			t.Fatalf("session from %v:%d, not a client of the capture", s.ClientIP, s.ClientPort)
		}
		wantServer := netip.MustParseAddr("192.0.2.1")
		if s.ClientIP.Is6() {
			wantServer = netip.MustParseAddr("2001:db8::1")
		}
		if s.ServerIP != wantServer || s.ServerPort != 123 {
			t.Fatalf("server %v:%d", s.ServerIP, s.ServerPort)
		}
		if s.Mode == ntp.ModeControl {
			control++
			continue
		}
		if s.Mode != ntp.ModeClient || s.Version != 4 || s.Poll != 6 || s.PacketLength != 48 {
			t.Fatalf("request fields: %+v", s)
		}
		if !s.Answered {
			unanswered++
			continue
		}
		answered++
		if s.KoD != "" {
			kod++
			if s.KoD != "RATE" || s.Stratum != 0 || s.LatencyValid {
				t.Errorf("KoD session %+v", s)
			}
			continue
		}
		if s.Stratum != 2 || s.ReferenceID != "192.0.2.250" || s.Precision != -24 || s.Leap != session.LeapNoWarning {
			t.Errorf("response fields: %+v", s)
		}
		near := func(a float64, d time.Duration) bool { return math.Abs(a-d.Seconds()) < 2e-6 }
		if !near(s.Total, cfg.Delay) || !near(s.Processing, 20*time.Microsecond) {
			t.Errorf("total %v processing %v, want %v and 20µs", s.Total, s.Processing, cfg.Delay)
		}
		// Clients that hide their transmit time have no latency; the
		// others are Delay/2 + 1 µs + their clock offset away.
		ci := -1
		for i := range max(cfg.Clients, 1) {
			if a, p := cfg.Client(i); a == s.ClientIP && p == s.ClientPort {
				ci = i
			}
		}
		hides := cfg.RandomTransmitEvery > 0 && ci%cfg.RandomTransmitEvery == 0
		if hides == s.LatencyValid {
			t.Errorf("client %d (hides transmit: %v): latency valid %v", ci, hides, s.LatencyValid)
		}
		if !hides && !near(s.Latency, cfg.Delay/2+time.Microsecond+cfg.ClientOffset) {
			t.Errorf("latency %v, want %v", s.Latency, cfg.Delay/2+time.Microsecond+cfg.ClientOffset)
		}
	}
	if answered != wantAnswered || unanswered != want.Requests-wantAnswered || control != want.Control {
		t.Errorf("answered %d unanswered %d mode 6 %d; want %d, %d, %d", answered, unanswered, control, wantAnswered, want.Requests-wantAnswered, want.Control)
	}
	if !late && kod != want.KoD {
		t.Errorf("KoD %d, want %d", kod, want.KoD)
	}
	p := sum.Pairing
	if late && p.Unmatched != uint64(want.Answered) {
		t.Errorf("unmatched %d, want every one of %d late responses", p.Unmatched, want.Answered)
	}
	if p.Answered != uint64(answered) || p.Unanswered != uint64(unanswered) || p.Control != uint64(control) || p.Pending != 0 {
		t.Errorf("pairing counters %+v disagree with what the collector got", p)
	}
}

// tsharkPacket is one NTP packet as tshark's dissector sees it.
type tsharkPacket struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	version, mode    int
	stratum          int
	cut              bool // captured short of its length (snaplen)
}

func tsharkPackets(t *testing.T, path string) []tsharkPacket {
	t.Helper()
	rows := tsharktest.Fields(t, path, "ntp", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
		"udp.srcport", "udp.dstport", "ntp.flags.vn", "ntp.flags.mode", "ntp.stratum", "frame.len", "frame.cap_len")
	var pkts []tsharkPacket
	for _, f := range rows {
		var p tsharkPacket
		addr := func(a, b string) netip.Addr {
			if a == "" {
				a = b
			}
			return netip.MustParseAddr(a)
		}
		num := func(s string) int {
			if s == "" {
				return -1
			}
			n, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				t.Fatalf("tshark field %q: %v", s, err)
			}
			return int(n)
		}
		p.src, p.dst = addr(f[0], f[1]), addr(f[2], f[3])
		p.srcPort, p.dstPort = uint16(num(f[4])), uint16(num(f[5]))
		p.version, p.mode, p.stratum = num(f[6]), num(f[7]), num(f[8])
		p.cut = num(f[10]) < num(f[9])
		pkts = append(pkts, p)
	}
	return pkts
}

// TestGoldenCaptures runs the worker over the real chrony and ntpsec
// captures and checks its sessions against tshark's reading of the same
// files.
func TestGoldenCaptures(t *testing.T) {
	for _, name := range []string{"chrony.pcap", "ntpsec.pcap", "vlan.pcap", "sll2.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "ntp", "testdata", "golden", name)
			pkts := tsharkPackets(t, path)
			type peer struct {
				client netip.AddrPort
				server netip.Addr
				mode   int
			}
			want := map[string]int{}
			wantPeers := map[peer]int{}
			var cut uint64
			for _, p := range pkts {
				if p.cut {
					// A long mode 6 reply beyond the snaplen: its header
					// is read (and ignored, as every mode 6 reply is),
					// and it is counted as cut, not as an error.
					cut++
					continue
				}
				switch {
				case p.srcPort == 123 && p.mode == 4:
					want["responses"]++
					if p.stratum == 0 {
						want["kod"]++
					}
				case p.dstPort == 123 && (p.mode == 3 || p.version == 1 && p.mode == 0):
					want["requests"]++
					wantPeers[peer{netip.AddrPortFrom(p.src, p.srcPort), p.dst, 3}]++
				case p.dstPort == 123 && p.mode >= 1:
					want["other"]++
					wantPeers[peer{netip.AddrPortFrom(p.src, p.srcPort), p.dst, p.mode}]++
				}
			}
			c := newCollector(t)
			sum := runFile(t, c, path, Config{Interface: "golden0"})
			got := map[string]int{}
			gotPeers := map[peer]int{}
			for _, s := range c.sessions() {
				if s.Interface != "golden0" {
					t.Fatalf("interface %q", s.Interface)
				}
				mode := int(s.Mode)
				if s.IsRequest() {
					got["requests"]++
					mode = 3
					if s.Answered {
						got["responses"]++
					}
					if s.KoD != "" {
						got["kod"]++
						if s.KoD != "RATE" && s.KoD != "INIT" {
							t.Errorf("kiss code %q", s.KoD)
						}
					}
				} else {
					got["other"]++
				}
				gotPeers[peer{netip.AddrPortFrom(s.ClientIP, s.ClientPort), s.ServerIP, mode}]++
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("worker saw %v, tshark %v", got, want)
			}
			if fmt.Sprint(sortedPeers(gotPeers)) != fmt.Sprint(sortedPeers(wantPeers)) {
				t.Errorf("clients differ:\nworker %v\ntshark %v", sortedPeers(gotPeers), sortedPeers(wantPeers))
			}
			if sum.Pairing.Unmatched != 0 || sum.Decode.Total() != 0 || sum.Decode.Cut != cut {
				t.Errorf("unmatched %d, decode errors %+v", sum.Pairing.Unmatched, sum.Decode)
			}
		})
	}
}

func sortedPeers[K comparable](m map[K]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%v×%d", k, v))
	}
	sort.Strings(out)
	return out
}

// TestBadCaptureFiles: unreadable and non-pcap files fail at once with an
// error that says what is wrong.
func TestBadCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPcap, []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.pcap")
	whole, err := os.ReadFile(filepath.Join("testdata", "mixed.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, whole[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.pcap"), "no such file"},
		{notPcap, "not a pcap"},
		{truncated, "not a pcap"},
		{dir, "not a pcap"},
	} {
		_, err := New(Config{PcapFile: tt.path}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %q", tt.path, err, tt.want)
		}
	}
}

// A capture that ends mid-record still yields every whole packet before
// the damage, then the worker reports the error.
func TestTruncatedCaptureFile(t *testing.T) {
	whole, err := os.ReadFile(filepath.Join("testdata", "vlan.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, whole[:len(whole)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCollector(t)
	sum, err := runFileErr(t, c, path, Config{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	n, _ := pcapgen.Write(io.Discard, generated[1].cfg)
	if sum.Packets != uint64(n.Packets-1) {
		t.Fatalf("read %d packets of %d whole ones", sum.Packets, n.Packets-1)
	}
	// Every request read became a session, and all of them arrived.
	got := c.sessions()
	if len(got) == 0 || uint64(len(got)) != sum.Pairing.Sessions()+sum.Pairing.OtherModes || sum.Sender.Acked != uint64(len(got)) {
		t.Fatalf("collector has %d sessions; pairing %+v; sender %+v", len(got), sum.Pairing, sum.Sender)
	}
}

// TestMalformedPackets: damaged frames and NTP payloads are counted by
// kind, never fatal, and the good packets around them still pair.
func TestMalformedPackets(t *testing.T) {
	cli, srv := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("192.0.2.1")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tx := ntp.FromTime(t0)
	req := ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Transmit: tx})
	resp := ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeServer, Stratum: 2, Originate: tx, Receive: tx + 1000, Transmit: tx + 2000})
	v0 := append([]byte(nil), req...)
	v0[0] = 0<<3 | 3
	v7 := append([]byte(nil), req...)
	v7[0] = 7<<3 | 3
	// A request with 30 bytes after the header: neither an extension
	// field nor a MAC. Its header is whole, so it is still paired.
	badExt := append(ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Transmit: tx + 5}), make([]byte, 30)...)

	path := filepath.Join(t.TempDir(), "bad.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapfile.NewWriter(f, int(frame.LinkEthernet), 65535)
	if err != nil {
		t.Fatal(err)
	}
	at := t0
	write := func(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte, cut int) {
		b := pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, src, sport, dst, dport, payload)
		at = at.Add(time.Millisecond)
		if err := w.WritePacket(at, b[:len(b)-cut], len(b)); err != nil {
			t.Fatal(err)
		}
	}
	write(cli, 40000, srv, 123, req, 0)
	write(cli, 40001, srv, 123, req[:20], 0) // NTP header cut short
	write(cli, 40002, srv, 123, v0, 0)
	write(cli, 40003, srv, 123, v7, 0)
	write(cli, 40004, srv, 123, req, 10) // captured short of the UDP length
	write(cli, 40005, srv, 123, badExt, 0)
	write(srv, 123, cli, 40000, resp, 0)
	write(cli, 40006, srv, 123, nil, 0) // empty UDP payload
	// A long request cut by the snaplen right after its 48-byte header:
	// not an error, it pairs, and packet_length is the whole datagram's.
	long := append(ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeClient, Transmit: tx + 9}), make([]byte, 52)...)
	write(cli, 40007, srv, 123, long, 52)
	write(srv, 123, cli, 40007, ntp.AppendPacket(nil, &ntp.Packet{Version: 4, Mode: ntp.ModeServer, Stratum: 2, Originate: tx + 9, Receive: tx + 1000, Transmit: tx + 2000}), 0)
	f.Close()

	c := newCollector(t)
	sum := runFile(t, c, path, Config{})
	want := DecodeErrors{Cut: 2, NTPShort: 3, NTPVersion: 2, NTPExtension: 1}
	if sum.Decode != want || sum.Packets != 10 {
		t.Fatalf("decode errors %+v over %d packets, want %+v over 10", sum.Decode, sum.Packets, want)
	}
	got := c.sessions()
	if len(got) != 3 {
		t.Fatalf("%d sessions, want the two answered requests and the one with a bad extension", len(got))
	}
	for _, s := range got {
		switch s.ClientPort {
		case 40000:
			if !s.Answered || s.Total != 0.006 {
				t.Errorf("answered session %+v", s)
			}
		case 40005:
			if s.Answered || s.PacketLength != 78 {
				t.Errorf("bad-extension session %+v", s)
			}
		case 40007:
			if !s.Answered || s.PacketLength != 100 {
				t.Errorf("cut session %+v, want answered with packet_length 100", s)
			}
		default:
			t.Errorf("session from port %d", s.ClientPort)
		}
	}
}
