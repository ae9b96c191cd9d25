package session

import (
	"net/netip"
	"time"
)

// A Violation names the physical bound a session breaks; Valid when it
// breaks none. A session arrives from a worker, which may be on another host
// and is trusted only as far as its token goes, so the collector checks every
// field against what a real capture can produce before it stores anything:
// a value out of these bounds comes from a broken or hostile sender, and a
// single one (a processing time of 1e308, a capture time in the year 9999)
// would spoil a client's aggregates or freeze its latest fields for good.
//
// The String form of each Violation is the reason under which the collector
// counts rejected sessions; the names are stable.
type Violation uint8

const (
	Valid Violation = iota
	// BadClientIP: the client address is unspecified (0.0.0.0, ::),
	// multicast, the IPv4 limited broadcast address, or carries an IPv6
	// zone (fe80::1%eth0). A zone never comes from a packet header, so it
	// is refused rather than stripped: what is left would be a guess.
	BadClientIP
	// BadServerIP: the server address carries a zone.
	BadServerIP
	// CapturedInFuture: the capture time is later than the receiver's
	// clock by more than Bounds.MaxFutureSkew.
	CapturedInFuture
	// CapturedBeforeEpoch: the capture time is before 1970-01-01.
	// Kernel, pcap and pcapng timestamps all count from the Unix epoch, so
	// nothing earlier is a capture time; there is no later lower bound,
	// because old captures are ingested with --pcap-file.
	CapturedBeforeEpoch
	// BadLatency: T2 − T1 is beyond ±MaxMetric (workers report a larger one
	// as null).
	BadLatency
	// BadProcessing: T3 − T2 is negative or longer than MaxMetric.
	BadProcessing
	// BadWireTime: C2 − C1 is negative or longer than MaxMetric.
	BadWireTime
	// BadStratum: above MaxStratum.
	BadStratum
	// BadPrecision: outside MinPrecision … MaxPrecision.
	BadPrecision
	// BadPoll: outside MinPoll … MaxPoll (not checked for modes 6 and 7).
	BadPoll
	// BadRootDelay, BadRootDispersion: outside ±MaxRootSeconds.
	BadRootDelay
	BadRootDispersion
	// BadNTPTimestamp: a reference, originate, receive or transmit timestamp
	// (other than null) outside the span of the NTP format as workers
	// convert it (MinNTPUnix … MaxNTPUnix).
	BadNTPTimestamp
	// BadReferenceID, BadKoDCode: longer than MaxRefIDLen bytes.
	BadReferenceID
	BadKoDCode

	numViolations
)

// NumViolations is the number of Violation values, Valid included: counters
// per reason are arrays of this length indexed by Violation.
const NumViolations = int(numViolations)

var violationNames = [...]string{
	Valid: "valid", BadClientIP: "client_ip", BadServerIP: "server_ip",
	CapturedInFuture: "session_timestamp_future", CapturedBeforeEpoch: "session_timestamp_before_1970",
	BadLatency: "latency", BadProcessing: "processing", BadWireTime: "wire_time",
	BadStratum: "stratum", BadPrecision: "precision", BadPoll: "poll_interval",
	BadRootDelay: "root_delay", BadRootDispersion: "root_dispersion", BadNTPTimestamp: "ntp_timestamp",
	BadReferenceID: "reference_id", BadKoDCode: "kod_code",
}

func (v Violation) String() string {
	if int(v) < len(violationNames) {
		return violationNames[v]
	}
	return "unknown"
}

// The physical bounds of a session's fields.
const (
	// MaxMetric bounds the three metrics: latency within ±1 h,
	// processing and wire time from 0 to 1 h. A worker pairs a response
	// within its --timeout (at most 1 h) and reports a larger |T2 − T1| as
	// null.
	MaxMetric = time.Hour
	// MaxStratum is the highest stratum RFC 5905 defines (16:
	// unsynchronised); 17–255 are reserved.
	MaxStratum = 16
	// MinPrecision and MaxPrecision bound the server's clock precision, in
	// log2 seconds: from 2^-32 s (a quarter nanosecond, finer than any
	// clock) to 1 s.
	MinPrecision, MaxPrecision = -32, 0
	// MinPoll and MaxPoll bound the poll interval, in log2 seconds: chrony
	// allows −6 (1/64 s) to 24 (194 days), ntpd 3 to 17; the margin covers
	// other clients.
	MinPoll, MaxPoll = -8, 24
	// MaxRootSeconds bounds root delay and dispersion: the 16.16 format
	// they come from holds less than 65,536 s.
	MaxRootSeconds = 65536
	// MinNTPUnix and MaxNTPUnix are the Unix seconds an NTP timestamp can
	// stand for as workers read it (era 0 from 1968-01-20, era 1 up to
	// 2104-02-26, see package ntp).
	MinNTPUnix, MaxNTPUnix = -61505152, 4233462144
	// MaxRefIDLen bounds a reference ID or kiss code as text: a dotted
	// quad is at most 15 bytes, an ASCII code 4, the hex form of an
	// unprintable one 10.
	MaxRefIDLen = 15
)

// DefaultMaxFutureSkew is the default of Bounds.MaxFutureSkew.
const DefaultMaxFutureSkew = 10 * time.Minute

// Bounds checks sessions against the physical limits above. The only
// setting is how far ahead of the receiver's clock a capture time may be.
type Bounds struct {
	// MaxFutureSkew is how much later than the receiver's clock a capture
	// time may be: workers run on NTP servers, whose clocks are right, but
	// the collector's host may be a little off. Default
	// DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
}

// Check returns the first bound s breaks, or Valid. now is the receiver's
// clock. Null values (zero, see Session) are within every bound.
func (b Bounds) Check(s *Session, now time.Time) Violation {
	skew := b.MaxFutureSkew
	if skew <= 0 {
		skew = DefaultMaxFutureSkew
	}
	if c := s.ClientIP.Unmap(); !c.IsValid() || c.IsUnspecified() || c.IsMulticast() || c.Zone() != "" ||
		c == limitedBroadcast {
		return BadClientIP
	}
	if s.ServerIP.Zone() != "" {
		return BadServerIP
	}
	switch {
	case s.Timestamp.After(now.Add(skew)):
		return CapturedInFuture
	case s.Timestamp.Before(epoch):
		return CapturedBeforeEpoch
	}
	maxMetric := MaxMetric.Seconds()
	switch {
	case !within(s.Latency, -maxMetric, maxMetric):
		return BadLatency
	case !within(s.Processing, 0, maxMetric):
		return BadProcessing
	case !within(s.Total, 0, maxMetric):
		return BadWireTime
	case s.Stratum > MaxStratum:
		return BadStratum
	case s.Precision < MinPrecision || s.Precision > MaxPrecision:
		return BadPrecision
	case (s.Poll < MinPoll || s.Poll > MaxPoll) && s.Mode != 6 && s.Mode != 7:
		// Control and private packets (modes 6 and 7) have no poll
		// field: the worker reports the byte where it would be.
		return BadPoll
	case !within(s.RootDelay, -MaxRootSeconds, MaxRootSeconds):
		return BadRootDelay
	case !within(s.RootDispersion, -MaxRootSeconds, MaxRootSeconds):
		return BadRootDispersion
	case !ntpTime(s.ReferenceTime) || !ntpTime(s.OriginateTime) || !ntpTime(s.ReceiveTime) || !ntpTime(s.TransmitTime):
		return BadNTPTimestamp
	case len(s.ReferenceID) > MaxRefIDLen:
		return BadReferenceID
	case len(s.KoD) > MaxRefIDLen:
		return BadKoDCode
	}
	return Valid
}

var (
	epoch            = time.Unix(0, 0)
	limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// within reports whether v is a number from lo to hi; NaN is not.
func within(v, lo, hi float64) bool { return v >= lo && v <= hi }

// ntpTime reports whether v (Unix seconds, 0 for null) is a time an NTP
// timestamp can stand for.
func ntpTime(v float64) bool { return v == 0 || (v >= MinNTPUnix && v < MaxNTPUnix) }
