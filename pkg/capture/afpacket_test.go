package capture

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// TestAFPacketBeforeFilter: the ring takes in every frame of the
// interface between its bind and the filter's attach; those the filter
// would not have let in never reach the reader, those it would still do,
// and frames cut to the snaplen as the kernel would have cut them.
func TestAFPacketBeforeFilter(t *testing.T) {
	testnet.Require(t)
	n := testnet.New(t)
	a, b := n.AddHost("a"), n.AddHost("b")
	cfg := Config{ReadTimeout: 50 * time.Millisecond, Snaplen: 80}.withDefaults()
	r, err := newAFReader(a.Peer, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	s := &Source{af: r, link: frame.LinkEthernet, live: true, name: a.Peer, engine: EngineAFPacket}

	ntp := func(port uint16) []byte {
		return pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, b.V4, port, a.V4, 123, testnet.NTPRequest(4, 3, time.Now()))
	}
	other := pcapgen.AppendFrame(nil, frame.LinkEthernet, 0, b.V4, 5000, a.V4, 9999, []byte("not ntp"))
	// Before the filter: one that the filter takes and two it does not.
	if err := b.SendFrames([][]byte{other, ntp(30000), other}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // in the ring before the filter
	insns, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, cfg.Snaplen, Filter(cfg.Port))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.attach(insns, insns); err != nil {
		t.Fatal(err)
	}
	if err := b.SendFrames([][]byte{other, ntp(30001)}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		data, _, err := nextPacket(s)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var f frame.Frame
		if err := frame.Decode(s.LinkType(), data, &f); !errors.Is(err, frame.ErrCut) || len(data) != cfg.Snaplen {
			t.Errorf("packet %d: %d bytes, decode %v; want %d bytes cut by the snaplen", i, len(data), err, cfg.Snaplen)
		}
		if f.DstPort != 123 || f.SrcPort != uint16(30000+i) {
			t.Fatalf("packet %d: %v:%d → %v:%d", i, f.Src, f.SrcPort, f.Dst, f.DstPort)
		}
	}
	// Nothing else is left: a third read times out.
	if data, _, err := s.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("after the two requests: %d bytes, %v; want a timeout", len(data), err)
	}
}

// nextPacket returns the next packet of s, waiting up to five seconds.
func nextPacket(s *Source) ([]byte, time.Time, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, ts, err := s.Next()
		if !errors.Is(err, ErrTimeout) || time.Now().After(deadline) {
			return data, ts, err
		}
	}
}

// TestAFPacketLoopbackOnce: on loopback a packet socket sees every packet
// twice, leaving and arriving; the capture hands each over once, as
// libpcap does. The datagrams go to a port of 127.0.0.1 that nothing
// listens on, and the capture filters that port.
func TestAFPacketLoopbackOnce(t *testing.T) {
	testnet.Require(t)
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close() // free again: the datagrams find no listener
	s, err := OpenLive("lo", Config{ReadTimeout: 50 * time.Millisecond, Engine: EngineAFPacket, Port: uint16(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.Engine() != EngineAFPacket {
		t.Fatalf("engine %q", s.Engine())
	}
	// Past the attach's grace, so that the kernel's filter alone decides.
	time.Sleep(attachGrace + 100*time.Millisecond)
	// Unconnected, so that the port unreachable errors do not fail the
	// writes.
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	const sent = 3
	for i := range sent {
		if _, err := c.WriteTo([]byte{byte(i)}, to); err != nil {
			t.Fatal(err)
		}
	}
	got := readFrames(t, s, sent, func(i int, f *frame.Frame) {
		if f.DstPort != uint16(port) {
			t.Fatalf("packet %d: %+v", i, f)
		}
	})
	// The copies, were they captured, would follow in the same block.
	if _, _, err := s.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("after the %d datagrams sent on loopback, another packet (%v): each was captured twice", sent, err)
	}
	if got != sent {
		t.Fatalf("captured %d packets of %d datagrams sent on loopback, want each once", got, sent)
	}
}
