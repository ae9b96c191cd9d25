// Package pcapfile reads and writes classic libpcap capture files (not
// pcapng) without cgo. Unlike gopacket's pcapgo, it keeps the full 32-bit
// link type, so LINKTYPE_LINUX_SLL2 (276) survives.
package pcapfile
