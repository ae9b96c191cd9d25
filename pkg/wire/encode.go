package wire

import (
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// AppendSession appends the session line for s with sequence number seq,
// newline included. An Encoder writes the same lines faster for a stream
// of sessions.
func AppendSession(b []byte, seq uint64, s *session.Session) []byte {
	return (*Encoder)(nil).AppendSession(b, seq, s)
}

// AppendHello appends a hello line.
func AppendHello(b []byte, h *Hello) []byte {
	b = append(b, `{"type":"hello","protocol":`...)
	b = strconv.AppendInt(b, int64(h.Protocol), 10)
	b = append(b, `,"worker_id":`...)
	b = AppendString(b, h.WorkerID)
	b = append(b, `,"interface":`...)
	b = AppendString(b, h.Interface)
	b = append(b, `,"token":`...)
	b = AppendString(b, h.Token)
	if h.Secret != "" {
		b = append(b, `,"secret":`...)
		b = AppendString(b, h.Secret)
	}
	return append(b, "}\n"...)
}

// AppendWelcome appends a welcome line carrying the last committed seq.
func AppendWelcome(b []byte, lastSeq uint64) []byte {
	b = append(b, `{"type":"welcome","last_seq":`...)
	b = strconv.AppendUint(b, lastSeq, 10)
	return append(b, "}\n"...)
}

// AppendAck appends an ack line.
func AppendAck(b []byte, seq uint64) []byte {
	b = append(b, `{"type":"ack","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, "}\n"...)
}

// AppendError appends an error line.
func AppendError(b []byte, msg string) []byte {
	b = append(b, `{"type":"error","message":`...)
	b = AppendString(b, msg)
	return append(b, "}\n"...)
}

// AppendStats appends a stats line.
func AppendStats(b []byte, st *Stats) []byte {
	b = append(b, `{"type":"stats","time":"`...)
	b = session.AppendTime(b, st.Time)
	b = append(b, '"')
	b = appendUint(b, `,"packets":`, st.Packets)
	b = appendUint(b, `,"kernel_received":`, st.KernelReceived)
	b = appendUint(b, `,"kernel_drops":`, st.KernelDrops)
	b = appendUint(b, `,"interface_drops":`, st.InterfaceDrops)
	b = appendUint(b, `,"decode_errors":`, st.DecodeErrors)
	b = appendUint(b, `,"pending":`, st.Pending)
	b = appendUint(b, `,"evicted":`, st.Evicted)
	b = appendUint(b, `,"sessions":`, st.Sessions)
	b = appendUint(b, `,"answered":`, st.Answered)
	b = appendUint(b, `,"unanswered":`, st.Unanswered)
	b = appendUint(b, `,"other_modes":`, st.OtherModes)
	b = appendUint(b, `,"unmatched":`, st.Unmatched)
	b = appendUint(b, `,"sent":`, st.Sent)
	b = appendUint(b, `,"acked":`, st.Acked)
	b = appendUint(b, `,"lost":`, st.Lost)
	b = appendUint(b, `,"shed":`, st.Shed)
	b = appendUint(b, `,"spooled":`, st.Spooled)
	return append(b, "}\n"...)
}

func appendUint(b []byte, key string, v uint64) []byte {
	return appendDecimal(append(b, key...), v)
}

func appendInt(b []byte, key string, v int64) []byte {
	b = append(b, key...)
	if v < 0 {
		return appendDecimal(append(b, '-'), uint64(-v))
	}
	return appendDecimal(b, uint64(v))
}

func appendFloat(b []byte, key string, v float64, valid bool) []byte {
	b = append(b, key...)
	if !valid || math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return appendNumber(b, v)
}

func appendAddr(b []byte, key string, a netip.Addr) []byte {
	b = append(b, key...)
	if !a.IsValid() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = appendIP(b, a)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// that every line the worker writes is valid JSON whatever bytes a packet
// carried.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
