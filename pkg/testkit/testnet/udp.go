package testnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// ListenUDP opens a UDP socket inside the host's namespace, bound to laddr
// (an unspecified port picks a free one). The socket stays in that
// namespace for its whole life, whichever goroutine uses it; the caller
// closes it. It is not connected, so ICMP errors from the peer are not
// reported as read errors.
func (h *Host) ListenUDP(laddr netip.AddrPort) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := h.inNamespace(func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	return c, err
}

// DialContext connects to addr from inside the host's namespace, as
// net.Dialer.DialContext does; the connection stays in that namespace. As
// the DialContext of an http.Transport it lets a test in the root
// namespace talk to a server that listens inside one, on its loopback too.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.inNamespace(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// inNamespace runs fn on an OS thread that is inside the host's network
// namespace for the duration of the call, so that the sockets fn opens
// belong to that namespace for their whole life.
func (h *Host) inNamespace(fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread goes back to its own namespace before it is
		// unlocked. When that fails it stays locked, and the runtime
		// retires it with this goroutine, so no other goroutine ever
		// runs in the test's namespace by accident.
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			res <- fmt.Errorf("open own namespace: %w", err)
			return
		}
		defer self.Close()
		f, err := os.Open("/run/netns/" + h.NS)
		if err != nil {
			res <- fmt.Errorf("open namespace %s: %w", h.NS, err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			res <- fmt.Errorf("enter namespace %s: %w", h.NS, err)
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		res <- err
	}()
	return <-res
}

// SendUDP sends payload from the host's own address of dst's family (and
// srcPort, or a free port when 0) to dst, and returns the first datagram
// that comes back from dst before ctx is done or, when ctx has no
// deadline, within one second. No answer is not an error: the reply is
// then nil.
func (h *Host) SendUDP(ctx context.Context, dst netip.AddrPort, payload []byte, srcPort int) ([]byte, error) {
	c, err := h.ListenUDP(netip.AddrPortFrom(h.Addr(dst.Addr()), uint16(srcPort)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.WriteToUDPAddrPort(payload, dst); err != nil {
		return nil, fmt.Errorf("send to %v from %s: %w", dst, h.NS, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read reply from %v in %s: %w", dst, h.NS, err)
		}
		if from.Addr().Unmap() == dst.Addr().Unmap() && from.Port() == dst.Port() {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

// ntpEpochOffset is the number of seconds from 1900-01-01 to 1970-01-01.
const ntpEpochOffset = 2208988800

// NTPTimestamp encodes t as a 64-bit NTP timestamp.
func NTPTimestamp(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return secs<<32 | frac
}

// NTPRequest returns a 48-byte NTP packet with leap 0, the given version and
// mode, poll 6, and xmt as its transmit timestamp (zero time: left zero).
func NTPRequest(version, mode uint8, xmt time.Time) []byte {
	p := make([]byte, 48)
	p[0] = (version&7)<<3 | mode&7
	p[2] = 6 // poll
	if !xmt.IsZero() {
		binary.BigEndian.PutUint64(p[40:], NTPTimestamp(xmt))
	}
	return p
}

// ControlRequest returns a 12-byte NTP mode 6 (control) request with the
// given version, opcode (2 is READVAR) and sequence number, association 0,
// no data.
func ControlRequest(version, opcode uint8, seq uint16) []byte {
	p := make([]byte, 12)
	p[0] = (version&7)<<3 | 6
	p[1] = opcode & 0x1f
	binary.BigEndian.PutUint16(p[2:], seq)
	return p
}
