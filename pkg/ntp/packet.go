package ntp

import (
	"encoding/binary"
	"errors"
)

// HeaderSize is the size of the NTP header for modes 0–5.
const HeaderSize = 48

// Minimum sizes of the control packets: a mode 6 header is 12 bytes and a
// mode 7 header 8 bytes.
const (
	ControlHeaderSize = 12
	PrivateHeaderSize = 8
)

// Association modes (RFC 5905 §3 and figure 10). Mode 0 is what NTPv1
// packets, which have no mode field, carry.
const (
	ModeReserved         = 0
	ModeSymmetricActive  = 1
	ModeSymmetricPassive = 2
	ModeClient           = 3
	ModeServer           = 4
	ModeBroadcast        = 5
	ModeControl          = 6
	ModePrivate          = 7
)

// Leap indicator values.
const (
	LeapNoWarning      = 0
	LeapAddSecond      = 1
	LeapDelSecond      = 2
	LeapUnsynchronized = 3
)

// Errors returned by Decode, wrapped with context; test with errors.Is.
var (
	// ErrTruncated means the payload is shorter than its mode requires.
	ErrTruncated = errors.New("ntp: packet truncated")
	// ErrVersion means the version field is 0 or above 4.
	ErrVersion = errors.New("ntp: unsupported version")
	// ErrExtension means the bytes after the 48-byte header are neither a
	// well-formed chain of extension fields nor a MAC.
	ErrExtension = errors.New("ntp: malformed extension field or MAC")
)

// The wrapped forms are built once: returning them costs no allocation, so a
// flood of malformed packets does not turn into garbage.
var (
	errShortHeader  = wrap("header needs 48 bytes", ErrTruncated)
	errShortControl = wrap("mode 6 header needs 12 bytes", ErrTruncated)
	errShortPrivate = wrap("mode 7 header needs 8 bytes", ErrTruncated)
	errEmpty        = wrap("empty payload", ErrTruncated)
	errVersion      = [8]error{
		wrap("version 0", ErrVersion), nil, nil, nil, nil,
		wrap("version 5", ErrVersion), wrap("version 6", ErrVersion), wrap("version 7", ErrVersion),
	}
	errExtLength  = wrap("extension field length not a multiple of 4 or under 16 bytes", ErrExtension)
	errExtOverrun = wrap("extension field runs past the end of the packet", ErrExtension)
	errMACLength  = wrap("trailer is not a MAC (4 to 24 bytes, a multiple of 4)", ErrExtension)
)

type wrapped struct {
	msg string
	err error
}

func wrap(msg string, err error) error { return &wrapped{msg: msg, err: err} }
func (w *wrapped) Error() string       { return w.err.Error() + ": " + w.msg }
func (w *wrapped) Unwrap() error       { return w.err }

// Extension field types of Network Time Security (RFC 8915 §5.7).
const (
	ExtUniqueIdentifier   = 0x0104
	ExtNTSCookie          = 0x0204
	ExtNTSCookiePlace     = 0x0304
	ExtNTSAuthenticator   = 0x0404
	maxMACSize            = 24 // key ID + SHA-1 digest
	minExtensionFieldSize = 16
)

// Packet is one decoded NTP packet.
//
// For modes 0–5 every header field is filled. Mode 6 and 7 control packets
// have a different layout: Decode fills Leap, Version, Mode, Length and
// Control and leaves the other header fields zero. (A mode 7 packet has no
// leap field — its top two bits are the response and more flags — so Leap is
// zero for it.)
type Packet struct {
	Leap           uint8 // 2 bits, LeapNoWarning … LeapUnsynchronized
	Version        uint8 // 3 bits, 1–4
	Mode           uint8 // 3 bits, ModeReserved … ModePrivate
	Stratum        uint8
	Poll           int8   // log2 seconds
	Precision      int8   // log2 seconds
	RootDelay      uint32 // NTP short format; see ShortSeconds
	RootDispersion uint32 // NTP short format; see ShortSeconds
	ReferenceID    [4]byte
	Reference      Time
	Originate      Time
	Receive        Time
	Transmit       Time

	// Length is the length of the whole NTP payload: header, extension
	// fields and MAC (or the whole control packet for modes 6 and 7).
	Length int
	// Extensions counts the RFC 7822 extension fields after the header.
	Extensions int
	// NTS is set when an NTS unique-identifier or authenticator extension
	// field is present.
	NTS bool
	// MACLength is the length of the trailing MAC (key ID and digest), 0
	// when there is none. A 4-byte MAC is a crypto-NAK.
	MACLength int

	// Control holds the header of a mode 6 or mode 7 packet.
	Control Control
}

// Control is the header of a mode 6 (ntpq) or mode 7 (ntpdc) packet. Fields
// that a mode does not have stay zero.
type Control struct {
	Response bool  // R bit: sent by the server
	Error    bool  // E bit (mode 6)
	More     bool  // M bit: more fragments follow
	Auth     bool  // A bit (mode 7)
	Opcode   uint8 // mode 6 opcode (1 = read status, 2 = read variables, …); mode 7 request code (42 = MON_GETLIST_1, "monlist")

	Sequence       uint16 // mode 6: 16-bit; mode 7: 7-bit
	Status         uint16 // mode 6
	AssociationID  uint16 // mode 6
	Offset         uint16 // mode 6
	Count          uint16 // mode 6: data bytes that follow the header
	Implementation uint8  // mode 7
	ErrCode        uint8  // mode 7, 4 bits
	Items          uint16 // mode 7, 12 bits
	ItemSize       uint16 // mode 7, 12 bits
}

// Decode parses b into p, overwriting every field. It does not retain b.
//
// Modes 0–5 need at least 48 bytes; anything after the header must be a
// chain of extension fields, optionally followed by a MAC, or a MAC alone.
// Mode 6 needs 12 bytes and mode 7 8 bytes. Versions 1 to 4 are accepted.
//
// On ErrVersion and ErrExtension p still holds everything that could be
// read (the whole header for ErrExtension), so a caller may count or keep
// such a packet; on ErrTruncated only Leap, Version, Mode and Length are set.
func Decode(b []byte, p *Packet) error {
	*p = Packet{Length: len(b)}
	if len(b) == 0 {
		return errEmpty
	}
	p.Version = (b[0] >> 3) & 7
	p.Mode = b[0] & 7
	if p.Mode != ModePrivate {
		p.Leap = b[0] >> 6
	}
	if err := errVersion[p.Version]; err != nil {
		return err
	}
	switch p.Mode {
	case ModeControl:
		return decodeControl(b, p)
	case ModePrivate:
		return decodePrivate(b, p)
	}
	if len(b) < HeaderSize {
		return errShortHeader
	}
	p.Stratum = b[1]
	p.Poll = int8(b[2])
	p.Precision = int8(b[3])
	p.RootDelay = binary.BigEndian.Uint32(b[4:8])
	p.RootDispersion = binary.BigEndian.Uint32(b[8:12])
	copy(p.ReferenceID[:], b[12:16])
	p.Reference = Time(binary.BigEndian.Uint64(b[16:24]))
	p.Originate = Time(binary.BigEndian.Uint64(b[24:32]))
	p.Receive = Time(binary.BigEndian.Uint64(b[32:40]))
	p.Transmit = Time(binary.BigEndian.Uint64(b[40:48]))
	if len(b) > HeaderSize {
		return decodeTrailer(b[HeaderSize:], p)
	}
	return nil
}

// decodeTrailer walks the extension fields and MAC after the header
// (RFC 7822 §7.5): whatever is left once it is 24 bytes or less is a MAC
// (key ID and digest; 4 bytes alone is a crypto-NAK); anything longer starts
// with an extension field. RFC 7822 makes the last field at least 28 bytes
// when no MAC follows, so the rule is unambiguous for conforming senders.
func decodeTrailer(b []byte, p *Packet) error {
	for len(b) > maxMACSize {
		typ := binary.BigEndian.Uint16(b[0:2])
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < minExtensionFieldSize || n%4 != 0 {
			return errExtLength
		}
		if n > len(b) {
			return errExtOverrun
		}
		if typ == ExtUniqueIdentifier || typ == ExtNTSAuthenticator {
			p.NTS = true
		}
		p.Extensions++
		b = b[n:]
	}
	if len(b) == 0 {
		return nil
	}
	if len(b) < 4 || len(b)%4 != 0 {
		return errMACLength
	}
	p.MACLength = len(b)
	return nil
}

// decodeControl parses a mode 6 header (RFC 9327 §2).
func decodeControl(b []byte, p *Packet) error {
	if len(b) < ControlHeaderSize {
		return errShortControl
	}
	c := &p.Control
	c.Response = b[1]&0x80 != 0
	c.Error = b[1]&0x40 != 0
	c.More = b[1]&0x20 != 0
	c.Opcode = b[1] & 0x1f
	c.Sequence = binary.BigEndian.Uint16(b[2:4])
	c.Status = binary.BigEndian.Uint16(b[4:6])
	c.AssociationID = binary.BigEndian.Uint16(b[6:8])
	c.Offset = binary.BigEndian.Uint16(b[8:10])
	c.Count = binary.BigEndian.Uint16(b[10:12])
	return nil
}

// decodePrivate parses a mode 7 header (ntpd's ntp_request.h): response and
// more bits, version and mode in the first byte; auth bit and sequence;
// implementation; request code; error and item count; item size.
func decodePrivate(b []byte, p *Packet) error {
	if len(b) < PrivateHeaderSize {
		return errShortPrivate
	}
	c := &p.Control
	c.Response = b[0]&0x80 != 0
	c.More = b[0]&0x40 != 0
	c.Auth = b[1]&0x80 != 0
	c.Sequence = uint16(b[1] & 0x7f)
	c.Implementation = b[2]
	c.Opcode = b[3]
	c.ErrCode = b[4] >> 4
	c.Items = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
	c.ItemSize = binary.BigEndian.Uint16(b[6:8]) & 0x0fff
	return nil
}

// AppendPacket appends the wire form of p to b and returns the extended
// slice. Modes 0–5 give the 48-byte header, modes 6 and 7 their 12- or
// 8-byte control header; in every case the packet is then padded with zero
// bytes up to p.Length when that is longer (so a control packet keeps its
// size), except that extension fields and MACs of modes 0–5 are not
// reproduced — their contents are not kept by Decode.
func AppendPacket(b []byte, p *Packet) []byte {
	start := len(b)
	switch p.Mode & 7 {
	case ModeControl:
		c := &p.Control
		b = append(b, p.Leap<<6|(p.Version&7)<<3|ModeControl,
			bit(c.Response, 0x80)|bit(c.Error, 0x40)|bit(c.More, 0x20)|c.Opcode&0x1f)
		b = binary.BigEndian.AppendUint16(b, c.Sequence)
		b = binary.BigEndian.AppendUint16(b, c.Status)
		b = binary.BigEndian.AppendUint16(b, c.AssociationID)
		b = binary.BigEndian.AppendUint16(b, c.Offset)
		b = binary.BigEndian.AppendUint16(b, c.Count)
		for len(b)-start < p.Length {
			b = append(b, 0)
		}
		return b
	case ModePrivate:
		c := &p.Control
		b = append(b, bit(c.Response, 0x80)|bit(c.More, 0x40)|(p.Version&7)<<3|ModePrivate,
			bit(c.Auth, 0x80)|uint8(c.Sequence&0x7f), c.Implementation, c.Opcode)
		b = binary.BigEndian.AppendUint16(b, uint16(c.ErrCode&0xf)<<12|c.Items&0x0fff)
		b = binary.BigEndian.AppendUint16(b, c.ItemSize&0x0fff)
		for len(b)-start < p.Length {
			b = append(b, 0)
		}
		return b
	}
	b = append(b, (p.Leap&3)<<6|(p.Version&7)<<3|p.Mode&7, p.Stratum, uint8(p.Poll), uint8(p.Precision))
	b = binary.BigEndian.AppendUint32(b, p.RootDelay)
	b = binary.BigEndian.AppendUint32(b, p.RootDispersion)
	b = append(b, p.ReferenceID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Reference))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Originate))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Receive))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Transmit))
	return b
}

// Encode is AppendPacket with the packet first: it appends p's wire form to
// b (which may be nil) and returns the result.
func Encode(p *Packet, b []byte) []byte { return AppendPacket(b, p) }

func bit(v bool, mask uint8) uint8 {
	if v {
		return mask
	}
	return 0
}

// IsKoD reports whether p is a Kiss-o'-Death: a server (or symmetric
// passive) reply with stratum 0 (RFC 5905 §7.4). Its code is KissCode.
// Client requests carry stratum 0 too, which is why the mode matters.
func (p *Packet) IsKoD() bool {
	return p.Stratum == 0 && (p.Mode == ModeServer || p.Mode == ModeSymmetricPassive)
}

// KissCode returns the ASCII kiss code ("RATE", "DENY", "INIT", …) of a
// stratum-0 packet and "" for any other stratum. See RefID for how unusual
// bytes are rendered.
func (p *Packet) KissCode() string {
	if p.Stratum != 0 || p.Mode == ModeControl || p.Mode == ModePrivate {
		return ""
	}
	return p.RefID()
}
