package wire

import (
	"math"
	"net/netip"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// An Encoder writes session lines, exactly as AppendSession does, for a
// stream of sessions from one worker.
//
// A third of a session's fields describe the server rather than the
// exchange: its address and port, the interface, and in every answer its
// stratum, precision, root delay and dispersion, reference ID, reference
// timestamp and leap indicator. They change when the server's state does,
// not from one session to the next, so the Encoder keeps the text it last
// wrote for each group of them and copies it while the values are the
// same, instead of formatting them again.
//
// The zero Encoder is ready to use. An Encoder is not safe for concurrent
// use; a nil *Encoder formats every field afresh.
type Encoder struct {
	server   serverText
	upstream upstreamText
	refTime  floatText
}

// serverText is the rendering of server_ip, server_port and
// interface_name.
type serverText struct {
	ip    netip.Addr
	port  uint16
	iface string
	text  []byte
}

// upstreamText is the rendering of an answer's stratum, precision,
// root_delay, root_dispersion, reference_id and leap_indicator.
type upstreamText struct {
	stratum     uint8
	precision   int8
	delay, disp uint64 // float64 bits: -0 and NaN compare as written
	ref, leap   string
	text        []byte
}

// floatText is the rendering of one float field.
type floatText struct {
	bits uint64
	text []byte
}

// AppendSession appends the session line for s with sequence number seq,
// newline included.
func (e *Encoder) AppendSession(b []byte, seq uint64, s *session.Session) []byte {
	b = append(b, `{"type":"session","seq":`...)
	b = appendDecimal(b, seq)
	b = appendAddr(b, `,"client_ip":`, s.ClientIP)
	b = appendUint(b, `,"client_port":`, uint64(s.ClientPort))
	b = e.appendServer(b, s)
	b = appendUint(b, `,"ntp_version":`, uint64(s.Version))
	b = appendUint(b, `,"mode":`, uint64(s.Mode))
	b = appendInt(b, `,"poll_interval":`, int64(s.Poll))
	b = appendUint(b, `,"packet_length":`, uint64(s.PacketLength))
	if s.Answered {
		b = append(b, `,"answered":true`...)
		b = e.appendUpstream(b, s)
	} else {
		b = append(b, `,"answered":false,"stratum":null,"precision":null,"root_delay":null,"root_dispersion":null,"reference_id":null,"leap_indicator":null`...)
	}
	b = e.appendReferenceTime(b, s.ReferenceTime)
	b = appendFloat(b, `,"originate_timestamp":`, s.OriginateTime, s.OriginateTime != 0)
	b = appendFloat(b, `,"receive_timestamp":`, s.ReceiveTime, s.ReceiveTime != 0)
	b = appendFloat(b, `,"transmit_timestamp":`, s.TransmitTime, s.TransmitTime != 0)
	b = appendFloat(b, `,"client_to_server_latency_seconds":`, s.Latency, s.Answered && s.LatencyValid)
	b = appendFloat(b, `,"server_processing_time_seconds":`, s.Processing, s.Answered)
	b = appendFloat(b, `,"total_process_time_seconds":`, s.Total, s.Answered)
	b = append(b, `,"session_timestamp":"`...)
	b = session.AppendTime(b, s.Timestamp)
	b = append(b, '"')
	b = append(b, `,"kod_code":`...)
	if s.KoD == "" {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, s.KoD)
	}
	// Optional: written only when set, so that a line is what it was
	// before the key existed unless it has something to say. A collector
	// that does not know a key ignores it; one that does reads its
	// absence as false.
	if s.SnaplenCut {
		b = append(b, `,"snaplen_cut":true`...)
	}
	return append(b, "}\n"...)
}

func (e *Encoder) appendServer(b []byte, s *session.Session) []byte {
	if e == nil {
		return formatServer(b, s)
	}
	c := &e.server
	if c.text == nil || c.ip != s.ServerIP || c.port != s.ServerPort || c.iface != s.Interface {
		c.ip, c.port, c.iface = s.ServerIP, s.ServerPort, s.Interface
		c.text = formatServer(c.text[:0], s)
	}
	return append(b, c.text...)
}

func formatServer(b []byte, s *session.Session) []byte {
	b = appendAddr(b, `,"server_ip":`, s.ServerIP)
	b = appendUint(b, `,"server_port":`, uint64(s.ServerPort))
	b = append(b, `,"interface_name":`...)
	return AppendString(b, s.Interface)
}

func (e *Encoder) appendUpstream(b []byte, s *session.Session) []byte {
	if e == nil {
		return formatUpstream(b, s)
	}
	c := &e.upstream
	delay, disp := math.Float64bits(s.RootDelay), math.Float64bits(s.RootDispersion)
	if c.text == nil || c.stratum != s.Stratum || c.precision != s.Precision || c.delay != delay ||
		c.disp != disp || c.ref != s.ReferenceID || c.leap != s.Leap {
		c.stratum, c.precision, c.delay, c.disp, c.ref, c.leap = s.Stratum, s.Precision, delay, disp, s.ReferenceID, s.Leap
		c.text = formatUpstream(c.text[:0], s)
	}
	return append(b, c.text...)
}

func formatUpstream(b []byte, s *session.Session) []byte {
	b = appendUint(b, `,"stratum":`, uint64(s.Stratum))
	b = appendInt(b, `,"precision":`, int64(s.Precision))
	b = appendFloat(b, `,"root_delay":`, s.RootDelay, true)
	b = appendFloat(b, `,"root_dispersion":`, s.RootDispersion, true)
	b = append(b, `,"reference_id":`...)
	b = AppendString(b, s.ReferenceID)
	b = append(b, `,"leap_indicator":`...)
	if s.Leap == "" {
		return append(b, "null"...)
	}
	return AppendString(b, s.Leap)
}

func (e *Encoder) appendReferenceTime(b []byte, v float64) []byte {
	const key = `,"reference_timestamp":`
	if e == nil {
		return appendFloat(b, key, v, v != 0)
	}
	c := &e.refTime
	if u := math.Float64bits(v); c.text == nil || c.bits != u {
		c.bits = u
		c.text = appendFloat(c.text[:0], key, v, v != 0)
	}
	return append(b, c.text...)
}
