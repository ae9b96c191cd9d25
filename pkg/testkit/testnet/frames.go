package testnet

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// SendFrames sends each frame as it is, link-layer header included, on
// the host's interface through a packet socket: for traffic that a UDP
// socket cannot make, such as 802.1Q-tagged frames on a kernel without
// VLAN devices.
func (h *Host) SendFrames(frames [][]byte) error {
	return h.inNamespace(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", h.NS, err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		for _, f := range frames {
			if err := unix.Sendto(fd, f, 0, to); err != nil {
				return fmt.Errorf("send frame in %s: %w", h.NS, err)
			}
		}
		return nil
	})
}
