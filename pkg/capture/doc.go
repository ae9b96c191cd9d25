// Package capture reads NTP traffic: live from an interface, or from a
// capture file.
//
// A live capture reads the kernel's TPACKET_V3 ring with one of two
// engines: libpcap (gopacket/pcap, a cgo call per packet) or the ring
// mapped and read in Go (gopacket/afpacket, afpacket.go), the default on
// interfaces that carry Ethernet frames. Either is set up the way a
// long-running monitor needs it: a kernel buffer large enough to ride out
// bursts, a positive read timeout instead of blocking forever (so Close
// never waits for a packet that may not come), and no immediate mode
// (which makes libpcap fall back from TPACKET_V3 to V2 and halves
// throughput; packet timestamps come from the kernel, so delivery delay
// does not distort any timing). libpcap compiles the filter for both.
//
// A capture file is opened by libpcap, which decides what it accepts, its
// link type and its filter program; the records of a classic pcap file are
// then read in Go (savefile.go) and filtered by that same program (bpf.go):
// no cgo call per packet, and less than half the cost per packet
// (BenchmarkReadFile). pcapng and other formats are read by libpcap
// throughout.
//
// # Where it sits
//
// Frames go to package frame and on through the worker's loop (package
// worker); the capture's own counters (received, dropped by the kernel, cut
// by the snaplen) go out with the worker's statistics. The package must not
// decode NTP or keep packets: a packet's bytes are valid until the next read.
package capture
