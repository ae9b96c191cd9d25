package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// File header magic numbers: microsecond and nanosecond timestamps.
const (
	magicMicros = 0xa1b2c3d4
	magicNanos  = 0xa1b23c4d
)

// ErrNotPcap means the file does not start with a pcap header.
var ErrNotPcap = errors.New("pcapfile: not a pcap file")

// Reader reads packets from a pcap file.
type Reader struct {
	r        io.Reader
	order    binary.ByteOrder
	nanos    bool
	linkType int
	snaplen  uint32
	hdr      [16]byte
	buf      []byte
}

// NewReader reads the file header from r.
func NewReader(r io.Reader) (*Reader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("pcapfile: file header: %w", err)
	}
	pr := &Reader{r: r}
	switch {
	case binary.LittleEndian.Uint32(h[:4]) == magicMicros:
		pr.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[:4]) == magicMicros:
		pr.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h[:4]) == magicNanos:
		pr.order, pr.nanos = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[:4]) == magicNanos:
		pr.order, pr.nanos = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w (magic %x)", ErrNotPcap, h[:4])
	}
	pr.snaplen = pr.order.Uint32(h[16:20])
	// The upper bits of the link-type word carry FCS information.
	pr.linkType = int(pr.order.Uint32(h[20:24]) & 0x0fffffff)
	return pr, nil
}

// LinkType returns the file's link-layer header type (a LINKTYPE_ value).
func (r *Reader) LinkType() int { return r.linkType }

// Snaplen returns the file's snapshot length.
func (r *Reader) Snaplen() uint32 { return r.snaplen }

// maxRecord bounds a record so that a corrupt length cannot make the reader
// allocate gigabytes.
const maxRecord = 256 << 10

// Next returns the next packet's capture time, data and original length. The
// data is valid until the next call. At the end of the file it returns
// io.EOF; a file cut inside a record gives io.ErrUnexpectedEOF.
func (r *Reader) Next() (ts time.Time, data []byte, origLen int, err error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return time.Time{}, nil, 0, err
	}
	sec := r.order.Uint32(r.hdr[0:4])
	sub := r.order.Uint32(r.hdr[4:8])
	incl := r.order.Uint32(r.hdr[8:12])
	orig := r.order.Uint32(r.hdr[12:16])
	if incl > maxRecord {
		return time.Time{}, nil, 0, fmt.Errorf("pcapfile: record of %d bytes: corrupt file", incl)
	}
	if cap(r.buf) < int(incl) {
		r.buf = make([]byte, incl, max(incl, 2048))
	}
	r.buf = r.buf[:incl]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return time.Time{}, nil, 0, fmt.Errorf("pcapfile: record: %w", err)
	}
	nsec := int64(sub)
	if !r.nanos {
		nsec *= 1000
	}
	return time.Unix(int64(sec), nsec).UTC(), r.buf, int(orig), nil
}

// Packet is one record of a capture, as ReadFile returns it.
type Packet struct {
	Time    time.Time
	Data    []byte // the captured part, a copy
	OrigLen int    // the packet's length on the wire
}

// ReadFile reads a whole pcap file: for tests and tools that handle small
// captures, not for the capture path, which reads packet by packet.
func ReadFile(path string) (linkType int, pkts []Packet, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	for {
		ts, data, origLen, err := r.Next()
		if err == io.EOF {
			return r.LinkType(), pkts, nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%s: packet %d: %w", path, len(pkts)+1, err)
		}
		pkts = append(pkts, Packet{Time: ts, Data: bytes.Clone(data), OrigLen: origLen})
	}
}

// Writer writes a pcap file with nanosecond timestamps in little-endian
// order.
type Writer struct {
	w   io.Writer
	hdr [16]byte
}

// NewWriter writes the file header for linkType and snaplen to w.
func NewWriter(w io.Writer, linkType int, snaplen uint32) (*Writer, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:4], magicNanos)
	binary.LittleEndian.PutUint16(h[4:6], 2)
	binary.LittleEndian.PutUint16(h[6:8], 4)
	binary.LittleEndian.PutUint32(h[16:20], snaplen)
	binary.LittleEndian.PutUint32(h[20:24], uint32(linkType))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcapfile: file header: %w", err)
	}
	return &Writer{w: w}, nil
}

// WritePacket writes one record; data is the captured part of a packet of
// origLen bytes (origLen below len(data) is taken as len(data)).
func (w *Writer) WritePacket(ts time.Time, data []byte, origLen int) error {
	origLen = max(origLen, len(data))
	binary.LittleEndian.PutUint32(w.hdr[0:4], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(w.hdr[4:8], uint32(ts.Nanosecond()))
	binary.LittleEndian.PutUint32(w.hdr[8:12], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[12:16], uint32(origLen))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("pcapfile: record header: %w", err)
	}
	if _, err := w.w.Write(data); err != nil {
		return fmt.Errorf("pcapfile: record: %w", err)
	}
	return nil
}
