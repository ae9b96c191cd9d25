package wire

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Decoder decodes lines into Messages. It caches the strings and addresses it
// has seen (interface names, client addresses, reference IDs) so that a steady
// stream of sessions decodes without allocating. A Decoder is not safe for
// concurrent use; give each connection its own.
type Decoder struct {
	lex   lexer
	strs  strCache
	addrs addrCache
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{strs: strCache{m: make(map[string]string)}, addrs: addrCache{m: make(map[string]netip.Addr)}}
}

// Decode parses one line (with or without its trailing newline) into m.
// Unknown keys are ignored so that newer workers can add fields.
func (d *Decoder) Decode(line []byte, m *Message) error {
	// The type decides how the other keys are read, and JSON does not fix
	// key order: find it first.
	t, err := d.findType(line)
	if err != nil {
		return err
	}
	m.Type = t
	switch t {
	case TypeSession:
		m.Session = session.Session{}
		m.Seq = 0
	case TypeStats:
		m.Stats = Stats{}
	case TypeHello:
		m.Hello = Hello{}
	case TypeWelcome, TypeAck:
		m.Seq = 0
	case TypeError:
		m.Error = ""
	}
	var seen uint32 // bit per required field present
	err = d.lex.scan(line, func(key []byte, kind int, val []byte) error {
		return d.field(m, &seen, key, kind, val)
	})
	if err != nil {
		return err
	}
	return checkRequired(m.Type, seen)
}

func (d *Decoder) findType(line []byte) (Type, error) {
	// Every line this package writes starts with its type: read it without
	// a pass over the whole object.
	const prefix = `{"type":"`
	if hasPrefix(line, prefix) {
		rest := line[len(prefix):]
		for i, n := range typeNames {
			if i > 0 && len(rest) > len(n) && rest[len(n)] == '"' && string(rest[:len(n)]) == n {
				return Type(i), nil
			}
		}
	}
	t := TypeUnknown
	err := d.lex.scan(line, func(key []byte, kind int, val []byte) error {
		if string(key) != "type" {
			return nil
		}
		if kind != kindString {
			return &FieldError{"type", "not a string"}
		}
		for i, n := range typeNames {
			if i > 0 && string(val) == n {
				t = Type(i)
				return nil
			}
		}
		return &FieldError{"type", fmt.Sprintf("unknown message type %q", val)}
	})
	if err != nil {
		return TypeUnknown, err
	}
	if t == TypeUnknown {
		return TypeUnknown, &FieldError{"type", "missing"}
	}
	return t, nil
}

// Required fields per type, as bits.
const (
	reqSeq = 1 << iota
	reqClientIP
	reqServerIP
	reqInterface
	reqTimestamp
	reqWorkerID
	reqProtocol
	reqLastSeq
	reqAnswered
)

type required struct {
	bit  uint32
	name string
}

var requiredFields = map[Type][]required{
	TypeSession: {{reqSeq, "seq"}, {reqClientIP, "client_ip"}, {reqServerIP, "server_ip"},
		{reqInterface, "interface_name"}, {reqTimestamp, "session_timestamp"}, {reqAnswered, "answered"}},
	TypeHello:   {{reqProtocol, "protocol"}, {reqWorkerID, "worker_id"}},
	TypeWelcome: {{reqLastSeq, "last_seq"}},
	TypeAck:     {{reqSeq, "seq"}},
}

func checkRequired(t Type, seen uint32) error {
	for _, r := range requiredFields[t] {
		if seen&r.bit == 0 {
			return &FieldError{r.name, "missing"}
		}
	}
	return nil
}

func (d *Decoder) field(m *Message, seen *uint32, key []byte, kind int, val []byte) error {
	switch m.Type {
	case TypeSession:
		return d.sessionField(m, seen, key, kind, val)
	case TypeStats:
		return statsField(&m.Stats, key, kind, val)
	case TypeHello:
		switch string(key) {
		case "protocol":
			v, err := uintField(key, kind, val, math.MaxInt32)
			m.Hello.Protocol = int(v)
			*seen |= reqProtocol
			return err
		case "worker_id":
			s, err := d.strField(key, kind, val)
			m.Hello.WorkerID = s
			if s != "" {
				*seen |= reqWorkerID
			}
			return err
		case "interface":
			s, err := d.strField(key, kind, val)
			m.Hello.Interface = s
			return err
		case "token", "secret":
			if kind == kindNull {
				return nil
			}
			s, err := d.strField(key, kind, val)
			if key[0] == 't' {
				m.Hello.Token = s
			} else {
				m.Hello.Secret = s
			}
			return err
		}
	case TypeWelcome:
		if string(key) == "last_seq" {
			v, err := uintField(key, kind, val, MaxSeq)
			m.Seq = v
			*seen |= reqLastSeq
			return err
		}
	case TypeAck:
		if string(key) == "seq" {
			v, err := uintField(key, kind, val, MaxSeq)
			m.Seq = v
			*seen |= reqSeq
			return err
		}
	case TypeError:
		if string(key) == "message" {
			s, err := d.strField(key, kind, val)
			m.Error = s
			return err
		}
	}
	return nil
}

func (d *Decoder) sessionField(m *Message, seen *uint32, key []byte, kind int, val []byte) error {
	s := &m.Session
	var err error
	var u uint64
	var i int64
	switch string(key) {
	case "seq":
		m.Seq, err = uintField(key, kind, val, MaxSeq)
		if m.Seq == 0 && err == nil {
			err = &FieldError{"seq", "must be at least 1"}
		}
		*seen |= reqSeq
	case "client_ip", "server_ip":
		if kind != kindString {
			return &FieldError{string(key), "not a string"}
		}
		a, ok := d.addr(val)
		if !ok {
			return &FieldError{string(key), fmt.Sprintf("not an IP address: %q", val)}
		}
		if key[0] == 'c' {
			s.ClientIP = a
			*seen |= reqClientIP
		} else {
			s.ServerIP = a
			*seen |= reqServerIP
		}
	case "client_port":
		u, err = uintField(key, kind, val, math.MaxUint16)
		s.ClientPort = uint16(u)
	case "server_port":
		u, err = uintField(key, kind, val, math.MaxUint16)
		s.ServerPort = uint16(u)
	case "interface_name":
		s.Interface, err = d.strField(key, kind, val)
		if err == nil && (s.Interface == "" || len(s.Interface) > session.MaxInterfaceLen) {
			err = &FieldError{"interface_name", fmt.Sprintf("must be 1 to %d bytes", session.MaxInterfaceLen)}
		}
		*seen |= reqInterface
	case "ntp_version":
		u, err = uintField(key, kind, val, 7)
		s.Version = uint8(u)
	case "mode":
		u, err = uintField(key, kind, val, 7)
		s.Mode = uint8(u)
	case "poll_interval":
		i, err = nullableInt(key, kind, val, math.MinInt8, math.MaxInt8)
		s.Poll = int8(i)
	case "packet_length":
		u, err = uintField(key, kind, val, math.MaxUint16)
		s.PacketLength = uint16(u)
	case "answered":
		switch kind {
		case kindTrue:
			s.Answered = true
		case kindFalse:
			s.Answered = false
		default:
			return &FieldError{"answered", "not a boolean"}
		}
		*seen |= reqAnswered
	case "stratum":
		if kind == kindNull {
			return nil
		}
		u, err = uintField(key, kind, val, math.MaxUint8)
		s.Stratum = uint8(u)
	case "precision":
		i, err = nullableInt(key, kind, val, math.MinInt8, math.MaxInt8)
		s.Precision = int8(i)
	case "root_delay":
		s.RootDelay, err = floatField(key, kind, val)
	case "root_dispersion":
		s.RootDispersion, err = floatField(key, kind, val)
	case "reference_id":
		if kind == kindNull {
			return nil
		}
		s.ReferenceID, err = d.strField(key, kind, val)
	case "leap_indicator":
		if kind == kindNull {
			return nil
		}
		if kind != kindString {
			return &FieldError{"leap_indicator", "not a string"}
		}
		switch string(val) {
		case session.LeapNoWarning:
			s.Leap = session.LeapNoWarning
		case session.LeapAddSecond:
			s.Leap = session.LeapAddSecond
		case session.LeapDelSecond:
			s.Leap = session.LeapDelSecond
		case session.LeapUnsynchronized:
			s.Leap = session.LeapUnsynchronized
		default:
			return &FieldError{"leap_indicator", fmt.Sprintf("unknown value %q", val)}
		}
	case "reference_timestamp":
		s.ReferenceTime, err = floatField(key, kind, val)
	case "originate_timestamp":
		s.OriginateTime, err = floatField(key, kind, val)
	case "receive_timestamp":
		s.ReceiveTime, err = floatField(key, kind, val)
	case "transmit_timestamp":
		s.TransmitTime, err = floatField(key, kind, val)
	case "client_to_server_latency_seconds":
		s.Latency, err = floatField(key, kind, val)
		s.LatencyValid = kind != kindNull && err == nil
	case "server_processing_time_seconds":
		s.Processing, err = floatField(key, kind, val)
	case "total_process_time_seconds":
		s.Total, err = floatField(key, kind, val)
	case "session_timestamp":
		if kind != kindString {
			return &FieldError{"session_timestamp", "not a string"}
		}
		s.Timestamp, err = parseTime(val)
		if err != nil {
			return &FieldError{"session_timestamp", err.Error()}
		}
		*seen |= reqTimestamp
	case "kod_code":
		if kind == kindNull {
			return nil
		}
		s.KoD, err = d.strField(key, kind, val)
	case "snaplen_cut": // optional: older workers do not send it
		switch kind {
		case kindTrue:
			s.SnaplenCut = true
		case kindFalse, kindNull:
			s.SnaplenCut = false
		default:
			return &FieldError{"snaplen_cut", "not a boolean"}
		}
	}
	return err
}

func statsField(st *Stats, key []byte, kind int, val []byte) error {
	var p *uint64
	switch string(key) {
	case "time":
		if kind != kindString {
			return &FieldError{"time", "not a string"}
		}
		t, err := parseTime(val)
		if err != nil {
			return &FieldError{"time", err.Error()}
		}
		st.Time = t
		return nil
	case "packets":
		p = &st.Packets
	case "kernel_received":
		p = &st.KernelReceived
	case "kernel_drops":
		p = &st.KernelDrops
	case "interface_drops":
		p = &st.InterfaceDrops
	case "decode_errors":
		p = &st.DecodeErrors
	case "pending":
		p = &st.Pending
	case "evicted":
		p = &st.Evicted
	case "sessions":
		p = &st.Sessions
	case "answered":
		p = &st.Answered
	case "unanswered":
		p = &st.Unanswered
	case "other_modes":
		p = &st.OtherModes
	case "unmatched":
		p = &st.Unmatched
	case "sent":
		p = &st.Sent
	case "acked":
		p = &st.Acked
	case "lost":
		p = &st.Lost
	case "shed":
		p = &st.Shed
	case "spooled":
		p = &st.Spooled
	default:
		return nil
	}
	v, err := uintField(key, kind, val, math.MaxUint64)
	*p = v
	return err
}

func (d *Decoder) strField(key []byte, kind int, val []byte) (string, error) {
	if kind != kindString {
		return "", &FieldError{string(key), "not a string"}
	}
	return d.str(val), nil
}

func uintField(key []byte, kind int, val []byte, max uint64) (uint64, error) {
	if kind != kindNumber {
		return 0, &FieldError{string(key), "not a number"}
	}
	v, err := strconv.ParseUint(string(val), 10, 64)
	if err != nil || v > max {
		return 0, &FieldError{string(key), fmt.Sprintf("not an integer from 0 to %d: %s", max, val)}
	}
	return v, nil
}

func nullableInt(key []byte, kind int, val []byte, min, max int64) (int64, error) {
	if kind == kindNull {
		return 0, nil
	}
	if kind != kindNumber {
		return 0, &FieldError{string(key), "not a number"}
	}
	v, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil || v < min || v > max {
		return 0, &FieldError{string(key), fmt.Sprintf("not an integer from %d to %d: %s", min, max, val)}
	}
	return v, nil
}

// floatField reads a nullable number; null reads as 0, which is how Session
// stores an absent value.
func floatField(key []byte, kind int, val []byte) (float64, error) {
	if kind == kindNull {
		return 0, nil
	}
	if kind != kindNumber {
		return 0, &FieldError{string(key), "not a number"}
	}
	v, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, &FieldError{string(key), fmt.Sprintf("not a finite number: %s", val)}
	}
	return v, nil
}

// parseTime reads session.TimeLayout quickly and any other RFC 3339 form through the
// time package.
func parseTime(b []byte) (time.Time, error) {
	if len(b) == len(session.TimeLayout) && b[4] == '-' && b[7] == '-' && b[10] == 'T' &&
		b[13] == ':' && b[16] == ':' && b[19] == '.' && b[29] == 'Z' {
		var f [7]int
		ok := true
		digits := func(b []byte) int {
			n := 0
			for _, c := range b {
				if c < '0' || c > '9' {
					ok = false
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		f[0], f[1], f[2] = digits(b[0:4]), digits(b[5:7]), digits(b[8:10])
		f[3], f[4], f[5] = digits(b[11:13]), digits(b[14:16]), digits(b[17:19])
		f[6] = digits(b[20:29])
		if ok && f[1] >= 1 && f[1] <= 12 && f[2] >= 1 && f[2] <= 31 && f[3] < 24 && f[4] < 60 && f[5] < 60 {
			t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], f[6], time.UTC)
			if t.Day() == f[2] {
				return t, nil
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", b)
	}
	return t.UTC(), nil
}
