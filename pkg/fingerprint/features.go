package fingerprint

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// TransmitKind says what a request's transmit timestamp looks like next to
// the time the request was captured.
type TransmitKind uint8

const (
	// TransmitZero: the field is zero.
	TransmitZero TransmitKind = iota
	// TransmitClock: a reading of a clock within ClockWindow of the capture
	// time, in the RFC 5905 format (fraction in units of 2^-32 s).
	TransmitClock
	// TransmitClockNanos: a clock reading whose fraction field holds
	// nanoseconds rather than 2^-32 s units, which is what
	// systemd-timesyncd sends. Told apart from TransmitClock only when
	// reading the fraction as nanoseconds puts it closer to the capture
	// time, by more than 50 ms, than reading it properly: a client whose
	// clock is off by more than that, or that sent in the first ~65 ms of
	// a second, is TransmitClock.
	TransmitClockNanos
	// TransmitRandom: anything further from the capture time — the random
	// bits that chrony, ntpsec, OpenNTPD and busybox send, or the clock of
	// a host more than ClockWindow off.
	TransmitRandom
)

var transmitNames = [...]string{"zero", "clock", "clock-ns", "random"}

func (k TransmitKind) String() string {
	if int(k) < len(transmitNames) {
		return transmitNames[k]
	}
	return fmt.Sprintf("transmit(%d)", uint8(k))
}

// ClockWindow is how far a transmit timestamp may be from the capture time
// and still count as a clock reading. A day is wide enough for any client
// whose clock is set at all and narrow enough that 64 random bits land in
// it with a probability of about 2^-17.
const ClockWindow = 24 * time.Hour

// nanosClockMargin is by how much the nanosecond reading of a fraction must
// beat the proper one before a transmit timestamp is TransmitClockNanos:
// more than the few milliseconds of path delay and clock error of a client
// that has synchronised once.
const nanosClockMargin = 50 * time.Millisecond

// Flags are the yes/no features of one request.
type Flags uint16

// The flags. Each says what is true of the request; a zero Flags is a
// request that fills every field.
const (
	FlagRefIDZero          Flags = 1 << iota // reference ID is zero
	FlagRootDelayZero                        // root delay is zero
	FlagRootDispersionZero                   // root dispersion is zero
	FlagReferenceZero                        // reference timestamp is zero
	FlagOriginateZero                        // originate timestamp is zero
	FlagReceiveZero                          // receive timestamp is zero
	FlagSourcePort123                        // sent from UDP port 123, not an ephemeral port
	FlagExtensions                           // RFC 7822 extension fields follow the header
	FlagNTS                                  // an NTS unique-identifier or authenticator field (RFC 8915)
	FlagMAC                                  // a MAC (key ID and digest) follows the header
	// FlagTransmitHighClear: the top bit of both the seconds and the
	// fraction of the transmit timestamp is 0, as when each half is a
	// 31-bit rand() value (busybox). A quarter of random 64-bit values have
	// it; no clock reading before 2036 does (its seconds are above 2^31).
	FlagTransmitHighClear
	// FlagFractionBelow1e9: the transmit fraction is under 10^9, as every
	// fraction that holds nanoseconds is (systemd-timesyncd).
	FlagFractionBelow1e9

	flagBits = 12
)

// zeroState is what a client that reveals nothing of its clock's state
// sends: every field but the first byte, poll, precision and the transmit
// timestamp zero (RFC 4330 §5 for SNTP, draft-ietf-ntp-data-minimization).
const zeroState = FlagRefIDZero | FlagRootDelayZero | FlagRootDispersionZero |
	FlagReferenceZero | FlagOriginateZero | FlagReceiveZero

var flagNames = [flagBits]string{
	"refid-zero", "root-delay-zero", "root-dispersion-zero", "reference-zero",
	"originate-zero", "receive-zero", "port-123", "extensions", "nts", "mac",
	"transmit-high-clear", "fraction-below-1e9",
}

// String lists the flags that are set, separated by commas.
func (f Flags) String() string {
	var b []byte
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

// Features is what one request tells about the software that sent it. It
// is a value of a few bytes so that it can travel with each session and be
// folded into a client's Sequence; Uint64 packs it into 64 bits.
type Features struct {
	Leap      uint8 // 0–3
	Version   uint8 // 0–7
	Mode      uint8 // 0–7
	Stratum   uint8
	Poll      int8 // log2 s, as sent
	Precision int8 // log2 s, as sent (chrony and ntpsec send 32: "nothing to tell")
	Flags     Flags
	Transmit  TransmitKind
	// FractionZeros is the number of trailing zero bits of the transmit
	// timestamp's fraction, 0–32 (32 when the fraction is 0). A timestamp
	// made from a float64 (Python's time.time(), as ntpdig and ntplib do)
	// has at least 11: a double near 3.9e9 s holds 2^-21 s at best.
	FractionZeros uint8
	// Length is the UDP payload length, capped at MaxLength.
	Length uint16
}

// MaxLength is the largest payload length Features keeps; longer payloads
// are recorded as MaxLength. No NTP request comes near it.
const MaxLength = 1<<12 - 1

// Has reports whether every flag in fl is set.
func (f Features) Has(fl Flags) bool { return f.Flags&fl == fl }

// Extract computes the features of one request: p as decoded by
// ntp.Decode, sent from UDP port srcPort, whose UDP payload is length bytes
// (the length announced by the UDP header, which a short capture may not
// have kept whole), captured at captured.
//
// Extract may be given a packet that Decode rejected with ntp.ErrExtension:
// its header is whole, and the length alone carries what the trailer would
// have told (an MS-SNTP authenticator is not an RFC 7822 chain). For modes 6
// and 7, which have no such header, only Leap, Version, Mode and Length are
// set.
func Extract(p *ntp.Packet, srcPort uint16, length int, captured time.Time) Features {
	f := Features{
		Leap:    p.Leap & 3,
		Version: p.Version & 7,
		Mode:    p.Mode & 7,
		Length:  uint16(min(max(length, 0), MaxLength)),
	}
	if srcPort == 123 {
		f.Flags |= FlagSourcePort123
	}
	if f.Mode == ntp.ModeControl || f.Mode == ntp.ModePrivate {
		return f
	}
	f.Stratum = p.Stratum
	f.Poll = p.Poll
	f.Precision = p.Precision
	f.Flags |= zeroIf(p.ReferenceID == [4]byte{}, FlagRefIDZero) |
		zeroIf(p.RootDelay == 0, FlagRootDelayZero) |
		zeroIf(p.RootDispersion == 0, FlagRootDispersionZero) |
		zeroIf(p.Reference.IsZero(), FlagReferenceZero) |
		zeroIf(p.Originate.IsZero(), FlagOriginateZero) |
		zeroIf(p.Receive.IsZero(), FlagReceiveZero) |
		zeroIf(p.Extensions > 0, FlagExtensions) |
		zeroIf(p.NTS, FlagNTS) |
		zeroIf(p.MACLength > 0, FlagMAC)
	tx := p.Transmit
	frac := tx.Fraction()
	f.FractionZeros = uint8(bits.TrailingZeros32(frac))
	if tx.Seconds()&(1<<31) == 0 && frac&(1<<31) == 0 {
		f.Flags |= FlagTransmitHighClear
	}
	if frac < 1e9 {
		f.Flags |= FlagFractionBelow1e9
	}
	f.Transmit = transmitKind(tx, captured)
	return f
}

func zeroIf(cond bool, fl Flags) Flags {
	if cond {
		return fl
	}
	return 0
}

// transmitKind compares tx with the capture time.
func transmitKind(tx ntp.Time, captured time.Time) TransmitKind {
	if tx.IsZero() {
		return TransmitZero
	}
	off := absDuration(tx.Time().Sub(captured))
	if off > ClockWindow {
		return TransmitRandom
	}
	if frac := tx.Fraction(); frac < 1e9 {
		// The same seconds with the fraction read as nanoseconds.
		secs := tx.Time().Truncate(time.Second)
		nanosOff := absDuration(secs.Add(time.Duration(frac)).Sub(captured))
		if nanosOff+nanosClockMargin < off {
			return TransmitClockNanos
		}
	}
	return TransmitClock
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Uint64 packs f into 64 bits: the first header byte (leap, version,
// mode), stratum, poll, precision, the flags (12 bits), the transmit kind
// (2), the fraction's trailing zeros (6) and the length (12), from the most
// significant end.
func (f Features) Uint64() uint64 {
	lvm := uint64(f.Leap&3)<<6 | uint64(f.Version&7)<<3 | uint64(f.Mode&7)
	return lvm<<56 | uint64(f.Stratum)<<48 | uint64(uint8(f.Poll))<<40 |
		uint64(uint8(f.Precision))<<32 | uint64(f.Flags&(1<<flagBits-1))<<20 |
		uint64(f.Transmit&3)<<18 | uint64(min(f.FractionZeros, 32)&63)<<12 |
		uint64(min(f.Length, MaxLength))
}

// FeaturesFromUint64 unpacks what Uint64 packed. It fails with ErrEncoding
// for a trailing-zero count above 32, which Uint64 never writes.
func FeaturesFromUint64(v uint64) (Features, error) {
	f := Features{
		Leap:          uint8(v>>62) & 3,
		Version:       uint8(v>>59) & 7,
		Mode:          uint8(v>>56) & 7,
		Stratum:       uint8(v >> 48),
		Poll:          int8(uint8(v >> 40)),
		Precision:     int8(uint8(v >> 32)),
		Flags:         Flags(v>>20) & (1<<flagBits - 1),
		Transmit:      TransmitKind(v>>18) & 3,
		FractionZeros: uint8(v>>12) & 63,
		Length:        uint16(v) & MaxLength,
	}
	if f.FractionZeros > 32 {
		return Features{}, fmt.Errorf("%w: %d trailing zero bits in features %016x", ErrEncoding, f.FractionZeros, v)
	}
	return f, nil
}

// MarshalText writes the packed form as 16 hex digits: a JSON string that
// no JavaScript client rounds, unlike a 64-bit number.
func (f Features) MarshalText() ([]byte, error) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], f.Uint64())
	return hex.AppendEncode(nil, b[:]), nil
}

// UnmarshalText reads what MarshalText wrote.
func (f *Features) UnmarshalText(text []byte) error {
	var b [8]byte
	if hex.DecodedLen(len(text)) != len(b) {
		return fmt.Errorf("%w: features %q are not 16 hex digits", ErrEncoding, text)
	}
	if _, err := hex.Decode(b[:], text); err != nil {
		return fmt.Errorf("%w: features %q: %w", ErrEncoding, text, err)
	}
	v, err := FeaturesFromUint64(binary.BigEndian.Uint64(b[:]))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
