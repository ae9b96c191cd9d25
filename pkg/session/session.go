package session

import (
	"net/netip"
	"time"
)

// Leap indicator values as they are named on the wire and in the store.
const (
	LeapNoWarning      = "no_warning"
	LeapAddSecond      = "add_second"
	LeapDelSecond      = "del_second"
	LeapUnsynchronized = "unsynchronized"
)

// LeapName maps the two-bit leap indicator to its name.
func LeapName(li uint8) string {
	switch li & 3 {
	case 0:
		return LeapNoWarning
	case 1:
		return LeapAddSecond
	case 2:
		return LeapDelSecond
	}
	return LeapUnsynchronized
}

// Session is one client request and, when it was answered, the response.
//
// Zero values stand for "absent": a zero timestamp is null on the wire, and
// the response fields mean nothing unless Answered is set. Mode distinguishes
// requests (3, or 0 for NTPv1) from the other modes (1, 2, 5, 6, 7), which are
// reported one record per packet so the collector can count them per client;
// such records are never answered.
type Session struct {
	ClientIP   netip.Addr
	ClientPort uint16
	ServerIP   netip.Addr
	ServerPort uint16
	Interface  string

	// From the request.
	Version      uint8
	Mode         uint8
	Poll         int8
	PacketLength uint16

	// From the response; meaningful only when Answered.
	Answered       bool
	Stratum        uint8
	Precision      int8
	RootDelay      float64 // seconds
	RootDispersion float64 // seconds
	ReferenceID    string  // ASCII code for stratum 0 and 1, dotted quad otherwise
	Leap           string  // one of the Leap* names; empty when unanswered

	// Response timestamps as Unix seconds; 0 means null.
	ReferenceTime float64
	OriginateTime float64
	ReceiveTime   float64
	TransmitTime  float64

	// Metrics in seconds. Latency (T2−T1) is only valid when LatencyValid:
	// clients that hide their transmit time make it meaningless.
	Latency      float64
	LatencyValid bool
	Processing   float64 // T3−T2, valid when Answered
	Total        float64 // C2−C1, valid when Answered

	// Timestamp is C1, when the request was captured.
	Timestamp time.Time

	// KoD is the kiss code of a stratum-0 response ("RATE", "DENY", …), or "".
	KoD string

	// SnaplenCut is set when the capture cut the request or the response
	// short after its NTP header (a snaplen below the datagram): the
	// session is whole, extension fields or a MAC beyond the cut are not.
	SnaplenCut bool
}

// IsRequest reports whether the record is a client request (mode 3, or an
// NTPv1 packet, which has no mode field) rather than an other-mode packet.
func (s *Session) IsRequest() bool {
	return IsRequestMode(s.Version, s.Mode)
}

// IsRequestMode reports whether a packet with this version and mode is a
// client request that a server answers with mode 4.
func IsRequestMode(version, mode uint8) bool {
	return mode == 3 || (version == 1 && mode == 0)
}
