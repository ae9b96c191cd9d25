package pcapgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
)

// Config describes the traffic.
type Config struct {
	Requests int // client requests in total
	Clients  int // distinct clients; request i comes from client i mod Clients
	// IPv6Every puts every n-th client on IPv6 (0: none).
	IPv6Every int
	// UnansweredEvery leaves every n-th request unanswered (0: none; 1: all).
	UnansweredEvery int
	// KoDEvery answers every n-th request with a RATE kiss-o'-death (0: none).
	KoDEvery int
	// ControlEvery sends a mode 6 READVAR query after every n-th request
	// (0: none).
	ControlEvery int
	// RandomTransmitEvery gives every n-th client chrony's random transmit
	// bits instead of its clock (0: none).
	RandomTransmitEvery int

	Link frame.LinkType // frame.LinkEthernet (default) or frame.LinkLinuxSLL2
	VLAN uint16         // 802.1Q tag on Ethernet frames, 0 for none

	Start    time.Time     // capture time of the first request
	Interval time.Duration // between requests (default 1 µs)
	Delay    time.Duration // request to response on the wire (default 150 µs)
	// Processing is the server's T3−T2 (default 20 µs) and ClientOffset
	// how far the client clocks run behind (default 0). The server
	// receives a request 1 µs after it is captured, so a client with real
	// transmit times has T2−T1 = Delay/2 + 1 µs + ClientOffset, and C2−C1
	// is Delay.
	Processing   time.Duration
	ClientOffset time.Duration

	Server4, Server6 netip.Addr // defaults 192.0.2.1 and 2001:db8::1
	Port             uint16     // default 123
	Seed             uint64
}

// Summary is what Write wrote.
type Summary struct {
	Config     Config // the configuration with its defaults filled in
	Packets    int
	Requests   int
	Answered   int // responses written, KoDs included
	Unanswered int
	KoD        int
	Control    int
	IPv4       int // requests over IPv4
	IPv6       int // requests over IPv6
	First      time.Time
	Last       time.Time
}

func (c *Config) defaults() error {
	if c.Requests < 0 || c.Clients < 0 {
		return errors.New("pcapgen: negative Requests or Clients")
	}
	if c.Clients == 0 {
		c.Clients = 1
	}
	if c.Link == 0 {
		c.Link = frame.LinkEthernet
	}
	if c.Link != frame.LinkEthernet && c.Link != frame.LinkLinuxSLL2 {
		return fmt.Errorf("pcapgen: link type %v not supported (Ethernet or LINUX_SLL2)", c.Link)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Interval <= 0 {
		c.Interval = time.Microsecond
	}
	if c.Delay <= 0 {
		c.Delay = 150 * time.Microsecond
	}
	if c.Processing <= 0 {
		c.Processing = 20 * time.Microsecond
	}
	if !c.Server4.IsValid() {
		c.Server4 = netip.MustParseAddr("192.0.2.1")
	}
	if !c.Server6.IsValid() {
		c.Server6 = netip.MustParseAddr("2001:db8::1")
	}
	if c.Port == 0 {
		c.Port = 123
	}
	return nil
}

// Client returns the address and port of client i under c's defaults.
// IPv4 clients come from 198.51.100.0/24 and onwards (wrapping into the
// 10.0.0.0/8 space beyond 256), IPv6 clients from 2001:db8:1::/48.
func (c Config) Client(i int) (netip.Addr, uint16) {
	port := uint16(1024 + i%50000)
	if c.IPv6Every > 0 && i%c.IPv6Every == 0 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 10: byte(i >> 40), 11: byte(i >> 32), 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i + 1)}), port
	}
	if i < 254 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), port
	}
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), port
}

type pendingResponse struct {
	at       time.Time
	client   netip.Addr
	port     uint16
	org      ntp.Time
	received time.Time // server clock, T2
	kod      bool
}

// Write writes the capture to w.
func Write(w io.Writer, cfg Config) (Summary, error) {
	if err := cfg.defaults(); err != nil {
		return Summary{}, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	pw, err := pcapfile.NewWriter(bw, int(cfg.Link), 65535)
	if err != nil {
		return Summary{}, err
	}
	g := &gen{cfg: cfg, pw: pw, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6e7470))}
	g.sum.Config = cfg
	var queue []pendingResponse // FIFO: a fixed delay keeps responses in order
	flushUntil := func(t time.Time) error {
		for len(queue) > 0 && !queue[0].at.After(t) {
			r := queue[0]
			queue = queue[1:]
			if err := g.response(&r); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range cfg.Requests {
		at := cfg.Start.Add(time.Duration(i) * cfg.Interval)
		if err := flushUntil(at); err != nil {
			return g.sum, err
		}
		ci := i % cfg.Clients
		client, port := cfg.Client(ci)
		var tx ntp.Time
		if cfg.RandomTransmitEvery > 0 && ci%cfg.RandomTransmitEvery == 0 {
			tx = ntp.Time(g.rng.Uint64() | 1)
		} else {
			// The capture point is at the server: the client stamped
			// its transmit half the round trip earlier, by its own clock.
			tx = ntp.FromTime(at.Add(-cfg.Delay/2 - cfg.ClientOffset))
		}
		if err := g.request(at, client, port, tx); err != nil {
			return g.sum, err
		}
		if cfg.ControlEvery > 0 && i%cfg.ControlEvery == 0 {
			if err := g.control(at.Add(cfg.Interval/2), client, port); err != nil {
				return g.sum, err
			}
		}
		if cfg.UnansweredEvery > 0 && i%cfg.UnansweredEvery == 0 {
			g.sum.Unanswered++
			continue
		}
		queue = append(queue, pendingResponse{
			at: at.Add(cfg.Delay), client: client, port: port, org: tx,
			received: at.Add(time.Microsecond),
			kod:      cfg.KoDEvery > 0 && i%cfg.KoDEvery == 0,
		})
	}
	if err := flushUntil(time.Unix(1<<40, 0)); err != nil {
		return g.sum, err
	}
	return g.sum, bw.Flush()
}

type gen struct {
	cfg Config
	pw  *pcapfile.Writer
	rng *rand.Rand
	sum Summary
	buf []byte
	ntp []byte
}

func (g *gen) server(client netip.Addr) netip.Addr {
	if client.Is4() {
		return g.cfg.Server4
	}
	return g.cfg.Server6
}

func (g *gen) request(at time.Time, client netip.Addr, port uint16, tx ntp.Time) error {
	p := ntp.Packet{Version: 4, Mode: ntp.ModeClient, Poll: 6, Precision: -20, Transmit: tx, Length: ntp.HeaderSize}
	g.ntp = ntp.AppendPacket(g.ntp[:0], &p)
	g.sum.Requests++
	if client.Is4() {
		g.sum.IPv4++
	} else {
		g.sum.IPv6++
	}
	return g.write(at, client, port, g.server(client), g.cfg.Port, g.ntp)
}

func (g *gen) control(at time.Time, client netip.Addr, port uint16) error {
	p := ntp.Packet{Version: 2, Mode: ntp.ModeControl, Length: ntp.ControlHeaderSize, Control: ntp.Control{Opcode: 2, Sequence: 1}}
	g.ntp = ntp.AppendPacket(g.ntp[:0], &p)
	g.sum.Control++
	return g.write(at, client, port+1, g.server(client), g.cfg.Port, g.ntp)
}

func (g *gen) response(r *pendingResponse) error {
	rx := ntp.FromTime(r.received)
	p := ntp.Packet{
		Version: 4, Mode: ntp.ModeServer, Stratum: 2, Poll: 6, Precision: -24,
		RootDelay: 0x0000_0100, RootDispersion: 0x0000_0200,
		ReferenceID: [4]byte{192, 0, 2, 250},
		Reference:   ntp.FromTime(r.received.Add(-30 * time.Second)),
		Originate:   r.org,
		Receive:     rx,
		Transmit:    ntp.FromTime(r.received.Add(g.cfg.Processing)),
		Length:      ntp.HeaderSize,
	}
	if r.kod {
		p.Stratum, p.ReferenceID = 0, [4]byte{'R', 'A', 'T', 'E'}
		p.Reference, p.Receive, p.Transmit = r.org, r.org, r.org
		g.sum.KoD++
	}
	g.ntp = ntp.AppendPacket(g.ntp[:0], &p)
	g.sum.Answered++
	return g.write(r.at, g.server(r.client), g.cfg.Port, r.client, r.port, g.ntp)
}

// write frames payload in UDP, IP and the link layer and writes it.
func (g *gen) write(at time.Time, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte) error {
	g.buf = AppendFrame(g.buf[:0], g.cfg.Link, g.cfg.VLAN, src, sport, dst, dport, payload)
	if g.sum.Packets == 0 {
		g.sum.First = at
	}
	g.sum.Last = at
	g.sum.Packets++
	return g.pw.WritePacket(at, g.buf, len(g.buf))
}

// AppendFrame appends a UDP datagram from src:sport to dst:dport carrying
// payload, with valid IPv4/IPv6 and UDP headers and checksums, framed for
// link (Ethernet, with an 802.1Q tag when vlan is not 0, or Linux cooked
// v2). src and dst must be of the same family.
func AppendFrame(b []byte, link frame.LinkType, vlan uint16, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte) []byte {
	etherType := uint16(0x0800)
	if src.Is6() {
		etherType = 0x86dd
	}
	switch link {
	case frame.LinkLinuxSLL2:
		b = binary.BigEndian.AppendUint16(b, etherType)
		b = append(b, 0, 0)                     // reserved
		b = binary.BigEndian.AppendUint32(b, 2) // interface index
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = append(b, 0, 6)                     // to us; address length
		b = append(b, 2, 0, 0, 0, 0, 1, 0, 0)   // link-layer address, padded to 8
	default:
		b = append(b, 2, 0, 0, 0, 0, 2) // destination MAC
		b = append(b, 2, 0, 0, 0, 0, 1) // source MAC
		if vlan != 0 {
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, vlan&0x0fff)
		}
		b = binary.BigEndian.AppendUint16(b, etherType)
	}
	udpLen := 8 + len(payload)
	ipStart := len(b)
	if src.Is4() {
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(20+udpLen))
		b = append(b, 0, 0, 0x40, 0, 64, 17, 0, 0) // id, DF, TTL, UDP, checksum
		s4, d4 := src.As4(), dst.As4()
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
		binary.BigEndian.PutUint16(b[ipStart+10:], ^fold(sum(b[ipStart:ipStart+20], 0)))
	} else {
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
		b = append(b, 17, 64)
		s16, d16 := src.As16(), dst.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	}
	udpStart := len(b)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	b = append(b, payload...)
	// UDP checksum over the pseudo-header; mandatory for IPv6.
	var ps uint32
	if src.Is4() {
		ps = sum(b[ipStart+12:ipStart+20], 0)
	} else {
		ps = sum(b[ipStart+8:ipStart+40], 0)
	}
	ps += 17 + uint32(udpLen)
	c := ^fold(sum(b[udpStart:], ps))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[udpStart+6:], c)
	return b
}

func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
