package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket/afpacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
)

// Engine names how a live capture reads packets from the kernel.
type Engine string

// The capture engines. Both use the kernel's TPACKET_V3 ring.
const (
	// EnginePcap reads through libpcap (gopacket/pcap): a cgo call per
	// packet.
	EnginePcap Engine = "pcap"
	// EngineAFPacket reads the ring in Go (gopacket/afpacket): no cgo call
	// per packet. It captures interfaces that carry Ethernet frames
	// (Ethernet devices, veths, bridges, loopback); on others, and on
	// "any", OpenLive uses libpcap instead.
	EngineAFPacket Engine = "afpacket"
)

// DefaultEngine is the engine of a zero Config: it captured with about
// 15 % less CPU per packet than libpcap at 100,000 to 1,000,000 packets/s,
// with the same kernel drops (scripts/bench-capture.sh).
const DefaultEngine = EngineAFPacket

// DefaultBlockSize is the TPACKET_V3 block size of the afpacket engine:
// the kernel hands the ring over a block at a time, and 1 MiB holds about
// 7,000 NTP packets.
const DefaultBlockSize = 1 << 20

// ParseEngine returns the engine named s.
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(strings.ToLower(s)); e {
	case EnginePcap, EngineAFPacket:
		return e, nil
	}
	return "", fmt.Errorf("capture engine %q: must be %s or %s", s, EngineAFPacket, EnginePcap)
}

// afReader reads a live interface through gopacket/afpacket.
type afReader struct {
	// mu orders reads with Close: TPacket.Close unmaps the ring that a
	// read in progress is looking at. A read holds it for at most one
	// poll timeout.
	mu     sync.Mutex
	tp     *afpacket.TPacket
	closed bool
	// promisc holds the interface's promiscuous-mode membership; the
	// kernel drops it when the socket closes, however the worker ends.
	promisc int
	snap    int
	// early filters in Go the packets stamped before settled; nil once a
	// later one came (see attach).
	early   bpfProgram
	settled time.Time
}

// openAFPacket sets up the afpacket engine on iface.
func openAFPacket(iface string, cfg Config) (*Source, error) {
	// libpcap compiles the filter as it would for the file or interface:
	// ret #snaplen at the end makes the kernel cut packets to snaplen.
	insns, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, cfg.Snaplen, Filter(cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("capture on %q: filter: %w", iface, err)
	}
	r, err := newAFReader(iface, cfg)
	if err != nil {
		return nil, err
	}
	kernel := insns
	if hwType(iface) == unix.ARPHRD_LOOPBACK {
		kernel = skipOutgoing(insns)
	}
	if err := r.attach(kernel, insns); err != nil {
		r.close()
		return nil, fmt.Errorf("capture on %q: attach filter: %w", iface, err)
	}
	if !cfg.NoPromisc {
		if r.promisc, err = promiscuous(iface); err != nil {
			r.close()
			return nil, afError(iface, err)
		}
	}
	return &Source{af: r, link: frame.LinkEthernet, live: true, name: iface, engine: EngineAFPacket}, nil
}

// newAFReader maps a TPACKET_V3 ring on iface. The socket is bound, and
// so receiving every frame of the interface, until attach.
func newAFReader(iface string, cfg Config) (*afReader, error) {
	block := cfg.BlockSize
	blocks := max(cfg.BufferSize/block, 2)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptFrameSize(frameSizeFor(cfg.Snaplen, block)),
		// A block is handed over when full or after half a read timeout;
		// a poll that waits a whole read timeout in vain so means that
		// nothing is left in the kernel, as the worker's idle expiry
		// assumes.
		afpacket.OptBlockTimeout(max(cfg.ReadTimeout/2, time.Millisecond)),
		afpacket.OptPollTimeout(cfg.ReadTimeout),
		// VLAN tags that the kernel moved out of the frame go back in, as
		// libpcap puts them; gopacket copies such frames to do it.
		afpacket.OptAddVLANHeader(true),
	)
	if err != nil {
		return nil, afError(iface, err)
	}
	return &afReader{tp: tp, promisc: -1, snap: cfg.Snaplen}, nil
}

// attachGrace is how long after the filter is attached a packet's kernel
// time stamp may still belong to one that was let in before: the stamp is
// taken after the filter ran, on a CPU that may have been preempted.
const attachGrace = time.Second

// attach puts the filter kernel on the socket, and early, the same but for
// what only the kernel can test, on the frames it took in before. Frames
// that the unfiltered socket
// took in between are still in the ring: until a packet stamped past the
// grace comes, next runs the same program over each in Go and skips those
// the kernel would not have let in, as libpcap does with the packets
// already in its ring when a filter is set.
func (r *afReader) attach(kernel, early []pcap.BPFInstruction) error {
	raw := make([]bpf.RawInstruction, len(kernel))
	for i, in := range kernel {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, ok := newBPFProgram(early)
	if !ok {
		return errors.New("the filter program does not validate")
	}
	if err := r.tp.SetBPF(raw); err != nil {
		return err
	}
	r.early, r.settled = prog, time.Now().Add(attachGrace)
	return nil
}

// skipOutgoing puts before prog a test that refuses the packets the host
// sends: on loopback a packet socket sees each one twice, leaving and
// arriving, and libpcap skips the leaving copy. The test reads the
// kernel's packet type (SKF_AD_PKTTYPE), which only the kernel's filter
// can; prog's jumps are relative, so prepending keeps them. The frames the
// ring took in before the filter (attach) are checked without it, and may
// hold both copies of a packet sent in the moment before the capture began.
func skipOutgoing(prog []pcap.BPFInstruction) []pcap.BPFInstruction {
	const (
		ldPktType  = 0x20 // BPF_LD|BPF_W|BPF_ABS
		skfAdOff   = 0xfffff000
		adPktType  = 4
		jeqK       = 0x15
		retK       = 0x06
		pkOutgoing = unix.PACKET_OUTGOING
	)
	return append([]pcap.BPFInstruction{
		{Code: ldPktType, K: skfAdOff + adPktType},
		{Code: jeqK, Jt: 0, Jf: 1, K: pkOutgoing},
		{Code: retK, K: 0},
	}, prog...)
}

// frameSizeFor returns a TPACKET_V3 frame size for snaplen: the kernel
// packs packets into a block back to back whatever it is, but checks that
// it divides the block and that a packet of snaplen fits one.
func frameSizeFor(snaplen, block int) int {
	f := 2048
	for f < snaplen+128 && f < block {
		f *= 2
	}
	return f
}

// ethernetLike reports whether iface carries Ethernet frames (an Ethernet
// device, a veth, a bridge, loopback): the afpacket engine hands frames to
// the decoder as Ethernet, where libpcap would tell the link type.
func ethernetLike(iface string) bool {
	t := hwType(iface)
	return t == unix.ARPHRD_ETHER || t == unix.ARPHRD_LOOPBACK
}

// hwType is iface's ARPHRD_ type, -1 when it cannot be read.
func hwType(iface string) int {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return -1
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return t
}

// promiscuous opens a packet socket that holds iface in promiscuous mode
// while it is open.
func promiscuous(iface string) (int, error) {
	ifi, err := netInterfaceIndex(iface)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func netInterfaceIndex(iface string) (int, error) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/ifindex")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// afError classifies a failure to set up the afpacket engine as liveError
// does libpcap's.
func afError(iface string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("capture on %q: %w: capturing needs root or CAP_NET_RAW: run as root or `setcap cap_net_raw,cap_net_admin+eip bin/ntp-worker` (%v)", iface, ErrPermission, err)
	}
	return fmt.Errorf("capture on %q: %s engine: %w", iface, EngineAFPacket, err)
}

func (r *afReader) next() ([]byte, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, time.Time{}, io.EOF
	}
	for {
		data, ci, err := r.tp.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			if r.early != nil {
				if ci.Timestamp.After(r.settled) {
					r.early = nil
				} else if !r.early.match(data, uint32(ci.Length)) {
					continue
				} else if len(data) > r.snap {
					data = data[:r.snap]
				}
			}
			return data, ci.Timestamp, nil
		case errors.Is(err, afpacket.ErrTimeout):
			return nil, time.Time{}, ErrTimeout
		}
		return nil, time.Time{}, err
	}
}

// counters returns the kernel's running totals: packets that passed the
// filter (dropped ones included, as libpcap's ps_recv) and packets dropped
// because the ring was full.
func (r *afReader) counters() ([3]uint32, error) {
	_, st, err := r.tp.SocketStats()
	if err != nil {
		return [3]uint32{}, err
	}
	return [3]uint32{uint32(st.Packets()), uint32(st.Drops()), 0}, nil
}

func (r *afReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.tp.Close()
	if r.promisc >= 0 {
		unix.Close(r.promisc)
	}
}
