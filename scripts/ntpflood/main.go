// Command ntpflood sends NTP client requests, and with -answer the server's
// response to each, as raw Ethernet frames at a fixed rate: the load for
// capture benchmarks (scripts/bench-capture.sh). Frames go out through an
// AF_PACKET socket in batches of sendmmsg(2), past the qdisc, paced by a
// token bucket; every request comes from its own client address and port
// (up to -clients) with its own transmit timestamp, so a worker pairs each
// request with its response.
//
// It refuses to run anywhere but in a network namespace that ip-netns(8)
// made: it is meant for a veth inside namespaces a benchmark created, never
// for a real network.
//
//	ip netns exec ns-a ntpflood -i veth-a -rate 300000 -duration 5s -answer
//
// It prints one line: packets sent, seconds, the rate achieved, and the
// sendmmsg calls that the kernel cut short (ENOBUFS, retried).
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	frameLen  = 14 + 20 + 8 + 48 // Ethernet, IPv4, UDP, NTP header
	ntpOffset = 14 + 20 + 8
	// ntpEpochOffset is 1900-01-01 to 1970-01-01 in seconds.
	ntpEpochOffset = 2208988800
)

func main() {
	iface := flag.String("i", "", "interface to send on (required; must be in a network namespace other than the host's)")
	rate := flag.Int("rate", 100_000, "packets per second (0: as fast as the kernel takes them)")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	clients := flag.Int("clients", 1_000_000, "distinct client addresses, from 10.0.0.0 upwards")
	answer := flag.Bool("answer", false, "follow every request by the server's response (half the packets)")
	batch := flag.Int("batch", 64, "frames per sendmmsg call")
	server := flag.String("server", "192.0.2.1", "server IPv4 address the requests go to")
	dstMAC := flag.String("dst-mac", "ff:ff:ff:ff:ff:ff", "destination MAC of the requests")
	allowHostNS := flag.Bool("allow-host-netns", false, "send even outside a namespace made by ip netns (never do this on a real network)")
	flag.Parse()
	if err := run(*iface, *rate, *duration, *clients, *answer, *batch, *server, *dstMAC, *allowHostNS); err != nil {
		fmt.Fprintln(os.Stderr, "ntpflood:", err)
		os.Exit(1)
	}
}

func run(iface string, rate int, duration time.Duration, clients int, answer bool, batch int, server, dstMAC string, allowHostNS bool) error {
	if iface == "" {
		return errors.New("-i is required")
	}
	if batch < 1 || batch > 1024 || clients < 1 || clients > 1<<24 || rate < 0 {
		return errors.New("-batch must be 1–1024, -clients 1–16777216, -rate ≥ 0")
	}
	if answer && batch%2 != 0 {
		batch++ // a request and its response go in the same call
	}
	if !allowHostNS {
		if named, err := inNamedNetns(); !named {
			return fmt.Errorf("refusing to send outside a namespace made by ip netns (run it with ip netns exec NS ntpflood …): %v", err)
		}
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	srv, err := netip.ParseAddr(server)
	if err != nil || !srv.Is4() {
		return fmt.Errorf("-server %q: not an IPv4 address", server)
	}
	dst, err := net.ParseMAC(dstMAC)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return fmt.Errorf("AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	defer unix.Close(fd)
	// Straight to the driver: the qdisc would only add a lock and a queue.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fmt.Errorf("bind to %s: %w", iface, err)
	}

	f := newFlood(batch, ifi.HardwareAddr, dst, srv.As4(), clients, answer)
	runtime.LockOSThread()
	start := time.Now()
	var sent, short, calls uint64
	for {
		elapsed := time.Since(start)
		if elapsed >= duration {
			break
		}
		n := uint64(batch)
		if rate > 0 {
			// Token bucket: at most one batch ahead of rate×elapsed.
			allowed := uint64(float64(rate)*elapsed.Seconds()) + uint64(batch)
			if sent+n > allowed {
				due := start.Add(time.Duration(float64(sent+n-uint64(batch)) / float64(rate) * float64(time.Second)))
				if wait := time.Until(due); wait > 200*time.Microsecond {
					time.Sleep(wait - 100*time.Microsecond)
				}
				continue
			}
		}
		f.fill(sent)
		done := 0
		for done < int(n) {
			k, err := sendmmsg(fd, f.msgs[done:n])
			calls++
			if err != nil {
				if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					short++
					continue
				}
				return fmt.Errorf("sendmmsg: %w", err)
			}
			if k < int(n)-done {
				short++
			}
			done += k
		}
		sent += n
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent %d packets in %.3f s: %.0f packets/s, %d sendmmsg calls, %d cut short\n", sent, secs, float64(sent)/secs, calls, short)
	return nil
}

// flood holds one batch of frames and the headers that send them.
type flood struct {
	frames  [][frameLen]byte
	iov     []unix.Iovec
	msgs    []unix.Mmsghdr
	server  [4]byte
	clients uint64
	answer  bool
	base    uint64 // NTP timestamp at start
}

func newFlood(batch int, src, dst net.HardwareAddr, server [4]byte, clients int, answer bool) *flood {
	f := &flood{
		frames:  make([][frameLen]byte, batch),
		iov:     make([]unix.Iovec, batch),
		msgs:    make([]unix.Mmsghdr, batch),
		server:  server,
		clients: uint64(clients),
		answer:  answer,
	}
	now := time.Now()
	f.base = uint64(now.Unix()+ntpEpochOffset)<<32 | uint64(now.Nanosecond())<<32/1e9
	for i := range f.frames {
		fr := &f.frames[i]
		request := !answer || i%2 == 0
		if request {
			copy(fr[0:6], dst)
			copy(fr[6:12], src)
		} else { // the response goes the other way
			copy(fr[0:6], src)
			copy(fr[6:12], dst)
		}
		binary.BigEndian.PutUint16(fr[12:], 0x0800)
		ip := fr[14:34]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], 20+8+48)
		ip[6] = 0x40 // don't fragment
		ip[8] = 64
		ip[9] = 17
		udp := fr[34:42]
		binary.BigEndian.PutUint16(udp[4:], 8+48)
		n := fr[ntpOffset:]
		if request {
			n[0] = 0<<6 | 4<<3 | 3 // no warning, version 4, client
			n[2], n[3] = 6, 0xec   // poll 2^6, precision 2^-20
		} else {
			n[0] = 0<<6 | 4<<3 | 4 // server
			n[1], n[2], n[3] = 2, 6, 0xe8
			binary.BigEndian.PutUint32(n[4:], 0x00000100)    // root delay
			binary.BigEndian.PutUint32(n[8:], 0x00000200)    // root dispersion
			copy(n[12:16], []byte{192, 0, 2, 250})           // reference ID
			binary.BigEndian.PutUint64(n[16:], f.base-1<<32) // reference timestamp
		}
		f.iov[i] = unix.Iovec{Base: &fr[0]}
		f.iov[i].SetLen(frameLen)
		f.msgs[i].Hdr.Iov = &f.iov[i]
		f.msgs[i].Hdr.SetIovlen(1)
	}
	return f
}

// fill rewrites the batch's addresses, ports and timestamps for the
// requests numbered from first on.
func (f *flood) fill(first uint64) {
	step := uint64(1)
	if f.answer {
		step = 2
	}
	for i := range f.frames {
		seq := (first + uint64(i)) / step // request number
		c := seq % f.clients
		client := [4]byte{10, byte(c >> 16), byte(c >> 8), byte(c)}
		port := uint16(1024 + seq%60000)
		tx := f.base + seq<<12 // a distinct transmit time per request, 1 µs apart
		fr := &f.frames[i]
		ip, udp, n := fr[14:34], fr[34:42], fr[ntpOffset:]
		binary.BigEndian.PutUint16(ip[4:], uint16(seq))
		if !f.answer || i%2 == 0 {
			copy(ip[12:16], client[:])
			copy(ip[16:20], f.server[:])
			binary.BigEndian.PutUint16(udp[0:], port)
			binary.BigEndian.PutUint16(udp[2:], 123)
			binary.BigEndian.PutUint64(n[40:], tx)
		} else {
			copy(ip[12:16], f.server[:])
			copy(ip[16:20], client[:])
			binary.BigEndian.PutUint16(udp[0:], 123)
			binary.BigEndian.PutUint16(udp[2:], port)
			binary.BigEndian.PutUint64(n[24:], tx)      // originate: the request's transmit
			binary.BigEndian.PutUint64(n[32:], tx+400)  // receive
			binary.BigEndian.PutUint64(n[40:], tx+4000) // transmit
		}
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	}
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func sendmmsg(fd int, msgs []unix.Mmsghdr) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// inNamedNetns reports whether this process runs in one of the network
// namespaces that ip-netns(8) created (/run/netns), which is how the
// benchmark runs it: ip netns exec.
func inNamedNetns() (bool, error) {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return false, err
	}
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat("/run/netns/"+e.Name(), &st) == nil && st.Dev == self.Dev && st.Ino == self.Ino {
			return true, nil
		}
	}
	return false, nil
}
