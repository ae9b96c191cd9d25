package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/gopacket/pcap"
)

// savefile reads the records of a classic pcap file (format 2.4, micro- or
// nanosecond timestamps, either byte order) in Go, filtered by the BPF
// program libpcap compiled for it.
//
// libpcap reads a file through stdio in 4 KiB reads and returns each packet
// through a cgo call: together the costliest step of reading a capture
// file, more than decoding and pairing. libpcap still opens the file, so
// that every file it refuses is refused as before and the link type,
// snapshot length and filter program are its own; then, for the common
// format, this reader takes over and follows libpcap's rules for records
// (sf-pcap.c): a capture length beyond the snapshot length is cut to it,
// one beyond the maximum for the link type is an error, and so is a record
// cut short by the end of the file. Other formats (pcapng, old versions)
// stay with libpcap.
type savefile struct {
	f     *os.File
	r     *bufio.Reader
	order binary.ByteOrder
	nano  bool // timestamps in nanoseconds rather than microseconds
	// signed: libpcap reads the timestamp fields of a file in the host's
	// byte order as signed 32-bit numbers (seconds from 2038 come out
	// before 1970) and those of a byte-swapped file as unsigned.
	signed  bool
	snap    uint32 // libpcap's snapshot length for the file
	filter  bpfProgram
	closed  atomic.Bool
	discard []byte
}

// savefileBuffer is the read buffer: large reads, and room for the largest
// record libpcap accepts (262144 bytes for every link type frame decodes)
// so that a record is returned without a copy.
const savefileBuffer = 1 << 20

// maxSnaplen is libpcap's max_snaplen_for_dlt for the link types that
// frame decodes.
const maxSnaplen = 262144

// Magic numbers of a classic pcap file, as read little-endian.
const (
	magicMicro        = 0xa1b2c3d4
	magicNano         = 0xa1b23c4d
	magicMicroSwapped = 0xd4c3b2a1
	magicNanoSwapped  = 0x4d3cb2a1
)

// openSavefile returns a Go reader for the file at path that h (libpcap's
// handle on it, filtered by expr) has opened, or false when libpcap should
// keep reading it: another format, or a filter program the Go interpreter
// does not run.
func openSavefile(path string, h *pcap.Handle, expr string) (*savefile, bool) {
	insns, err := h.CompileBPFFilter(expr)
	if err != nil {
		return nil, false
	}
	prog, ok := newBPFProgram(insns)
	if !ok {
		return nil, false
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	var hdr [24]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		f.Close()
		return nil, false
	}
	s := &savefile{f: f, filter: prog, snap: uint32(h.SnapLen())}
	switch binary.LittleEndian.Uint32(hdr[:4]) {
	case magicMicro:
		s.order = binary.LittleEndian
	case magicNano:
		s.order, s.nano = binary.LittleEndian, true
	case magicMicroSwapped:
		s.order = binary.BigEndian
	case magicNanoSwapped:
		s.order, s.nano = binary.BigEndian, true
	default:
		f.Close()
		return nil, false
	}
	s.signed = binary.NativeEndian.Uint16(hdr[:2]) == s.order.Uint16(hdr[:2])
	// Version 2.4 only: older ones may have the two lengths swapped. The
	// link type must be one whose maximum record is maxSnaplen, with none
	// of the extension bits (FCS length) set.
	major, minor := s.order.Uint16(hdr[4:6]), s.order.Uint16(hdr[6:8])
	link := s.order.Uint32(hdr[20:24])
	if major != 2 || minor != 4 || !savefileLink(link) || s.snap == 0 || s.snap > maxSnaplen {
		f.Close()
		return nil, false
	}
	s.r = bufio.NewReaderSize(f, savefileBuffer)
	return s, true
}

// savefileLink reports whether the Go reader handles link type value v of
// a file header: the ones frame decodes, with libpcap's usual maximum
// record size and no byte-order-dependent pseudo-header.
func savefileLink(v uint32) bool {
	switch v {
	case 0, 1, 101, 108, 113, 228, 229, 276:
		return true
	}
	return false
}

// next returns the next record that passes the filter, as Source.Next
// does; the data is valid until the following call.
func (s *savefile) next() ([]byte, time.Time, error) {
	for {
		if s.closed.Load() {
			return nil, time.Time{}, io.EOF
		}
		hdr, err := s.r.Peek(16)
		if err != nil {
			if s.closed.Load() {
				return nil, time.Time{}, io.EOF
			}
			if err == io.EOF && len(hdr) == 0 {
				return nil, time.Time{}, io.EOF
			}
			if err == io.EOF {
				return nil, time.Time{}, fmt.Errorf("truncated dump file; tried to read 16 header bytes, only got %d", len(hdr))
			}
			return nil, time.Time{}, fmt.Errorf("error reading dump file: %w", err)
		}
		sec, frac := int64(s.order.Uint32(hdr[0:4])), int64(s.order.Uint32(hdr[4:8]))
		if s.signed {
			sec, frac = int64(int32(sec)), int64(int32(frac))
		}
		capLen := s.order.Uint32(hdr[8:12])
		wireLen := s.order.Uint32(hdr[12:16])
		if capLen > maxSnaplen {
			return nil, time.Time{}, fmt.Errorf("invalid packet capture length %d, bigger than maximum of %d", capLen, maxSnaplen)
		}
		keep := min(capLen, s.snap)
		rec, err := s.r.Peek(16 + int(keep))
		if err == nil && keep < capLen {
			// Longer than the file's snapshot length: libpcap keeps the
			// first snap bytes. Discarding moves the buffer, so the kept
			// bytes are copied first.
			s.discard = append(s.discard[:0], rec[16:]...)
			if _, err = s.r.Discard(16 + int(capLen)); err == nil {
				rec = nil
			}
		}
		if err != nil {
			if s.closed.Load() {
				return nil, time.Time{}, io.EOF
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, time.Time{}, fmt.Errorf("truncated dump file; tried to read %d captured bytes", capLen)
			}
			return nil, time.Time{}, fmt.Errorf("error reading dump file: %w", err)
		}
		var data []byte
		if rec != nil {
			data = rec[16:]
			s.r.Discard(len(rec)) // within the buffered bytes: cannot fail
		} else {
			data = s.discard
		}
		if !s.filter.match(data, wireLen) {
			continue
		}
		if !s.nano {
			frac *= 1000
		}
		return data, time.Unix(sec, frac), nil
	}
}

// close ends reading; a next in progress on another goroutine returns
// io.EOF.
func (s *savefile) close() {
	if s.closed.CompareAndSwap(false, true) {
		s.f.Close()
	}
}
