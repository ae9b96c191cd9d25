package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket/pcap"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
)

// Defaults for the zero fields of Config.
const (
	// DefaultSnaplen covers Ethernet, two VLAN tags, IPv6 with an extension
	// header, UDP and the 48-byte NTP header with room to spare.
	DefaultSnaplen = 256
	// DefaultBufferSize is the kernel capture buffer: about 30 ms of a
	// saturated gigabit link of minimum-size NTP frames, against 2 MiB by
	// default.
	DefaultBufferSize = 32 << 20
	// DefaultReadTimeout bounds how long a read waits when no packet comes;
	// it is also how long Close may wait for a read in progress.
	DefaultReadTimeout = 200 * time.Millisecond
	DefaultPort        = 123
)

// ErrTimeout is returned by Next when the read timeout passed without a
// packet: nothing is wrong, the caller may do idle work and read again.
var ErrTimeout = errors.New("capture: read timeout")

// ErrNoInterface and ErrPermission classify live-capture failures; the
// returned errors wrap them and say what to do.
var (
	ErrNoInterface = errors.New("no such interface")
	ErrPermission  = errors.New("permission denied")
	ErrFile        = errors.New("unreadable capture file")
)

// Config sets up a capture. A zero field means its default (the Default
// constants).
type Config struct {
	Port        uint16        // NTP server port to filter on
	Snaplen     int           // bytes kept per packet
	BufferSize  int           // kernel buffer in bytes (live only)
	ReadTimeout time.Duration // live only
	// NoPromisc leaves the interface out of promiscuous mode. Promiscuous
	// mode (libpcap's and tcpdump's default) is what a mirror port or a
	// bridge needs to see traffic that is not addressed to the host.
	NoPromisc bool
	// Engine reads a live capture: libpcap or the ring read in Go
	// (afpacket.go). BufferSize is the ring's size with either.
	Engine Engine
	// BlockSize is the afpacket engine's TPACKET_V3 block size, a
	// multiple of the page size. (libpcap picks its own, 256 KiB.)
	BlockSize int
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Snaplen <= 0 {
		c.Snaplen = DefaultSnaplen
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Engine == "" {
		c.Engine = DefaultEngine
	}
	if c.BlockSize <= 0 {
		c.BlockSize = DefaultBlockSize
	}
	return c
}

// Filter returns the BPF filter for NTP on port: plain UDP, or UDP inside
// one 802.1Q tag (a BPF "udp" alone does not look past the tag).
func Filter(port uint16) string {
	p := strconv.Itoa(int(port))
	return "udp port " + p + " or (vlan and udp port " + p + ")"
}

// Source is an open capture. Next must be called from one goroutine; Close
// and Stats may be called from any.
type Source struct {
	h    *pcap.Handle
	file *savefile // reads a classic pcap file in place of h when set
	af   *afReader // reads a live capture in place of h when set
	link frame.LinkType
	live bool
	name string
	// engine is what reads a live capture.
	engine Engine

	closeOnce sync.Once
	mu        sync.Mutex // guards the fields below and orders Stats with Close
	closed    bool
	last      [3]uint32 // the kernel's 32-bit counters at the previous Stats
	total     Stats     // the counters widened to 64 bits
}

// Stats are the kernel's running totals for a live capture, as libpcap
// reports them (the afpacket engine reports the same two counters of the
// same socket statistics, and no interface drops).
type Stats struct {
	Received         uint64 // ps_recv: packets that passed the filter, dropped ones included
	Dropped          uint64 // ps_drop: dropped because the buffer was full
	InterfaceDropped uint64 // ps_ifdrop: dropped by the interface or driver
}

// OpenLive starts capturing on the interface named iface with cfg.Engine.
func OpenLive(iface string, cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	if iface != "any" {
		if _, err := net.InterfaceByName(iface); err != nil {
			return nil, fmt.Errorf("capture on %q: %w (list them with `ip link`)", iface, ErrNoInterface)
		}
	}
	switch cfg.Engine {
	case EngineAFPacket:
		if iface != "any" && ethernetLike(iface) {
			return openAFPacket(iface, cfg)
		}
	case EnginePcap:
	default:
		return nil, fmt.Errorf("capture on %q: unknown capture engine %q", iface, cfg.Engine)
	}
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, liveError(iface, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(cfg.Snaplen) },
		func() error { return in.SetBufferSize(cfg.BufferSize) },
		func() error { return in.SetTimeout(cfg.ReadTimeout) },
		func() error { return in.SetPromisc(!cfg.NoPromisc) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("capture on %q: %w", iface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, liveError(iface, err)
	}
	s := &Source{h: h, link: frame.LinkType(h.LinkType()), live: true, name: iface, engine: EnginePcap}
	if _, err := s.setFilter(cfg.Port); err != nil {
		h.Close()
		return nil, err
	}
	return s, nil
}

// liveError turns libpcap's terse activation errors into one line that
// names the cause and the fix.
func liveError(iface string, err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "no such device"):
		return fmt.Errorf("capture on %q: %w (list them with `ip link`)", iface, ErrNoInterface)
	case strings.Contains(low, "permission") || strings.Contains(low, "not permitted"):
		return fmt.Errorf("capture on %q: %w: capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN: run as root or `setcap cap_net_raw,cap_net_admin+eip bin/ntp-worker` (%s)", iface, ErrPermission, msg)
	case strings.Contains(low, "not up"):
		return fmt.Errorf("capture on %q: interface is down: bring it up with `ip link set %s up`", iface, iface)
	}
	return fmt.Errorf("capture on %q: %w", iface, err)
}

// OpenFile reads the pcap or pcapng file at path. Its packets are filtered
// to port like a live capture's.
func OpenFile(path string, cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFile, path, err)
	}
	// OpenOfflineFile would keep using f; libpcap opens the path itself
	// once we know it is readable.
	f.Close()
	h, err := pcap.OpenOffline(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: not a pcap or pcapng capture (%v); write one with `tcpdump -w FILE`", ErrFile, path, err)
	}
	s := &Source{h: h, link: frame.LinkType(h.LinkType()), name: path}
	expr, err := s.setFilter(cfg.Port)
	if err != nil {
		h.Close()
		return nil, err
	}
	// libpcap has accepted the file; for the classic format Go reads the
	// records from here on (see savefile).
	if f, ok := openSavefile(path, h, expr); ok {
		h.Close()
		s.h, s.file = nil, f
	}
	return s, nil
}

// setFilter installs Filter(port), or the plain UDP part alone on link types
// where BPF has no notion of VLAN tags (e.g. Linux cooked capture, where the
// kernel has already stripped them), and returns the one installed.
func (s *Source) setFilter(port uint16) (string, error) {
	if expr := Filter(port); s.h.SetBPFFilter(expr) == nil {
		return expr, nil
	}
	plain := "udp port " + strconv.Itoa(int(port))
	if err := s.h.SetBPFFilter(plain); err != nil {
		return "", fmt.Errorf("capture on %q: filter %q: %w", s.name, plain, err)
	}
	return plain, nil
}

// LinkType returns the capture's link-layer type.
func (s *Source) LinkType() frame.LinkType { return s.link }

// Engine returns the engine that reads a live capture, "" for a file.
func (s *Source) Engine() Engine { return s.engine }

// Live reports whether the source is an interface rather than a file.
func (s *Source) Live() bool { return s.live }

// Next returns the next packet's bytes and capture time. The data is only
// valid until the next call. It returns ErrTimeout when no packet came
// within the read timeout and io.EOF at the end of a file or after Close.
func (s *Source) Next() (data []byte, ts time.Time, err error) {
	if s.file != nil || s.af != nil {
		if s.file != nil {
			data, ts, err = s.file.next()
		} else {
			data, ts, err = s.af.next()
		}
		if err != nil && err != io.EOF && err != ErrTimeout {
			err = fmt.Errorf("capture on %q: %w", s.name, err)
		}
		return data, ts, err
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	switch {
	case err == nil:
		return data, ci.Timestamp, nil
	case err == pcap.NextErrorTimeoutExpired:
		return nil, time.Time{}, ErrTimeout
	case err == io.EOF:
		return nil, time.Time{}, io.EOF
	}
	return nil, time.Time{}, fmt.Errorf("capture on %q: %w", s.name, err)
}

// Stats returns libpcap's counters as running totals since the capture
// opened. libpcap keeps them in 32 bits, which wrap after a few hours at a
// million packets a second; Stats widens them, so call it at least once per
// wrap (every few seconds is plenty). After Close it returns the last
// totals. A file has no counters.
func (s *Source) Stats() (Stats, error) {
	if !s.live {
		return Stats{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.total, nil
	}
	now, err := s.counters()
	if err != nil {
		return s.total, fmt.Errorf("capture on %q: stats: %w", s.name, err)
	}
	s.total.Received += uint64(now[0] - s.last[0])
	s.total.Dropped += uint64(now[1] - s.last[1])
	s.total.InterfaceDropped += uint64(now[2] - s.last[2])
	s.last = now
	return s.total, nil
}

// counters returns the engine's running totals: received, dropped and
// dropped by the interface, in 32 bits.
func (s *Source) counters() ([3]uint32, error) {
	if s.af != nil {
		return s.af.counters()
	}
	st, err := s.h.Stats()
	if err != nil {
		return [3]uint32{}, err
	}
	return [3]uint32{uint32(st.PacketsReceived), uint32(st.PacketsDropped), uint32(st.PacketsIfDropped)}, nil
}

// Close stops the capture. It waits at most one read timeout for a read in
// progress on another goroutine; a later Next returns io.EOF. The final
// counters are taken first, so Stats still reports them.
func (s *Source) Close() {
	s.closeOnce.Do(func() {
		_, _ = s.Stats()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		switch {
		case s.file != nil:
			s.file.close()
		case s.af != nil:
			s.af.close()
		default:
			s.h.Close()
		}
	})
}
