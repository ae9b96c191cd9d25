package wire

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

func sampleSession() session.Session {
	return session.Session{
		ClientIP: netip.MustParseAddr("2001:db8::1"), ClientPort: 40123,
		ServerIP: netip.MustParseAddr("2001:db8::123"), ServerPort: 123,
		Interface: "veth0", Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Answered: true, Stratum: 2, Precision: -26, RootDelay: 0.0123, RootDispersion: 0.000457763671875,
		ReferenceID: "192.0.2.1", Leap: session.LeapNoWarning,
		ReferenceTime: 1764093101.25, OriginateTime: 1764093102.5, ReceiveTime: 1764093102.500125, TransmitTime: 1764093102.50013,
		Latency: 0.000125, LatencyValid: true, Processing: 0.000005, Total: 0.00021,
		Timestamp: time.Date(2026, 11, 25, 17, 51, 41, 123456789, time.UTC),
	}
}

func TestSessionRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    func() session.Session
	}{
		{"answered", sampleSession},
		{"unanswered", func() session.Session {
			s := sampleSession()
			s.Answered, s.Stratum, s.Precision, s.RootDelay, s.RootDispersion = false, 0, 0, 0, 0
			s.ReferenceID, s.Leap, s.Latency, s.LatencyValid, s.Processing, s.Total = "", "", 0, false, 0, 0
			s.ReferenceTime, s.OriginateTime, s.ReceiveTime, s.TransmitTime = 0, 0, 0, 0
			return s
		}},
		{"kod with hidden client time", func() session.Session {
			s := sampleSession()
			s.Stratum, s.KoD, s.ReferenceID, s.LatencyValid, s.Latency = 0, "RATE", "RATE", false, 0
			return s
		}},
		{"cut by the snaplen", func() session.Session {
			s := sampleSession()
			s.SnaplenCut = true
			return s
		}},
		{"odd interface name", func() session.Session {
			s := sampleSession()
			s.Interface = "br-\"x\\\t\x01é"
			s.ClientIP = netip.MustParseAddr("198.51.100.7")
			return s
		}},
	}
	d := NewDecoder()
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.s()
			line := AppendSession(nil, 42, &want)
			if !json.Valid(line) {
				t.Fatalf("not valid JSON: %s", line)
			}
			if err := d.Decode(line, &m); err != nil {
				t.Fatalf("Decode(%s): %v", line, err)
			}
			if m.Type != TypeSession || m.Seq != 42 {
				t.Fatalf("type %v seq %d, want session 42", m.Type, m.Seq)
			}
			if !reflect.DeepEqual(m.Session, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", m.Session, want)
			}
		})
	}
}

func TestControlRoundTrip(t *testing.T) {
	d := NewDecoder()
	var m Message
	h := Hello{Protocol: Protocol, WorkerID: "w-1", Interface: "eth0", Token: "s3cret"}
	if err := d.Decode(AppendHello(nil, &h), &m); err != nil || m.Type != TypeHello || m.Hello != h {
		t.Errorf("hello: %v %+v", err, m)
	}
	if err := d.Decode(AppendWelcome(nil, 7), &m); err != nil || m.Type != TypeWelcome || m.Seq != 7 {
		t.Errorf("welcome: %v %+v", err, m)
	}
	if err := d.Decode(AppendAck(nil, MaxSeq), &m); err != nil || m.Type != TypeAck || m.Seq != MaxSeq {
		t.Errorf("ack: %v %+v", err, m)
	}
	if err := d.Decode(AppendError(nil, "bad token"), &m); err != nil || m.Type != TypeError || m.Error != "bad token" {
		t.Errorf("error: %v %+v", err, m)
	}
	st := Stats{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Packets: 1, KernelReceived: 2, KernelDrops: 3,
		InterfaceDrops: 4, DecodeErrors: 5, Pending: 6, Evicted: 7, Sessions: 8, Answered: 9, Unanswered: 10,
		OtherModes: 11, Unmatched: 12, Sent: 13, Acked: 14, Lost: 15, Spooled: 16, Shed: 17}
	if err := d.Decode(AppendStats(nil, &st), &m); err != nil || m.Type != TypeStats || m.Stats != st {
		t.Errorf("stats: %v\n got %+v\nwant %+v", err, m.Stats, st)
	}
}

// The hello's secret is an optional key: a hello without one is what a
// worker older than it sends, and decodes with an empty Secret.
func TestHelloSecretIsOptional(t *testing.T) {
	d := NewDecoder()
	var m Message
	with := Hello{Protocol: Protocol, WorkerID: "w-1", Interface: "eth0", Token: "t", Secret: "0123abcd"}
	line := AppendHello(nil, &with)
	if err := d.Decode(line, &m); err != nil || m.Hello != with {
		t.Errorf("hello with a secret %s: %v %+v", line, err, m.Hello)
	}
	without := Hello{Protocol: Protocol, WorkerID: "w-1", Interface: "eth0", Token: "t"}
	line = AppendHello(nil, &without)
	if strings.Contains(string(line), "secret") {
		t.Errorf("a hello without a secret carries the key: %s", line)
	}
	if err := d.Decode(line, &m); err != nil || m.Hello != without {
		t.Errorf("hello without a secret %s: %v %+v", line, err, m.Hello)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := string(AppendSession(nil, 1, func() *session.Session { s := sampleSession(); return &s }()))
	tests := []struct {
		name, line, field string
	}{
		{"empty", "", ""},
		{"not json", "hello world", ""},
		{"array", "[1,2]", ""},
		{"no type", `{"seq":1}`, "type"},
		{"unknown type", `{"type":"bogus"}`, "type"},
		{"type not string", `{"type":5}`, "type"},
		{"trailing garbage", `{"type":"ack","seq":1} x`, ""},
		{"missing seq", `{"type":"ack"}`, "seq"},
		{"negative seq", `{"type":"ack","seq":-1}`, "seq"},
		{"seq beyond the store's range", `{"type":"ack","seq":9223372036854775808}`, "seq"},
		{"session seq beyond the store's range", strings.Replace(good, `"seq":1,`, `"seq":9223372036854775808,`, 1), "seq"},
		{"seq zero", strings.Replace(good, `"seq":1,`, `"seq":0,`, 1), "seq"},
		{"bad ip", strings.Replace(good, `"2001:db8::1"`, `"300.1.1.1"`, 1), "client_ip"},
		{"ip as number", strings.Replace(good, `"2001:db8::1"`, `12`, 1), "client_ip"},
		{"port range", strings.Replace(good, `"client_port":40123`, `"client_port":70000`, 1), "client_port"},
		{"version range", strings.Replace(good, `"ntp_version":4`, `"ntp_version":9`, 1), "ntp_version"},
		{"bad leap", strings.Replace(good, `"no_warning"`, `"maybe"`, 1), "leap_indicator"},
		{"bad time", strings.Replace(good, `2026-11-25T`, `2026-13-25T`, 1), "session_timestamp"},
		{"nested", strings.Replace(good, `"mode":3`, `"mode":{"a":1}`, 1), "mode"},
		{"bad number", strings.Replace(good, `"mode":3`, `"mode":03`, 1), ""},
		{"missing interface", strings.Replace(good, `"interface_name":"veth0",`, ``, 1), "interface_name"},
		{"answered not bool", strings.Replace(good, `"answered":true`, `"answered":1`, 1), "answered"},
		{"unterminated", `{"type":"ack","seq":1`, ""},
		{"bad escape", `{"type":"error","message":"\x"}`, ""},
	}
	d := NewDecoder()
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Decode([]byte(tt.line), &m)
			if err == nil {
				t.Fatalf("Decode(%q) succeeded", tt.line)
			}
			var fe *FieldError
			switch {
			case tt.field == "" && !errors.Is(err, ErrSyntax):
				t.Errorf("error %v, want a syntax error", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Errorf("error %v, want one about field %q", err, tt.field)
			}
		})
	}
}

func TestDecodeAcceptsOtherJSONForms(t *testing.T) {
	// Key order, whitespace, escapes and unknown keys are the sender's choice.
	line := ` { "seq" : 3 , "extra":[1] , "type" : "ack" } `
	d := NewDecoder()
	var m Message
	if err := d.Decode([]byte(line), &m); err == nil {
		t.Fatalf("nested unknown value accepted")
	}
	line = ` { "seq" : 3 , "extra":"x" , "type" : "\u0061ck" } `
	if err := d.Decode([]byte(line), &m); err != nil || m.Type != TypeAck || m.Seq != 3 {
		t.Fatalf("Decode(%q) = %v, %+v", line, err, m)
	}
	if err := d.Decode([]byte(`{"type":"error","message":"\ud83d\ude00 \"q\" \u00e9"}`), &m); err != nil || m.Error != "😀 \"q\" é" {
		t.Fatalf("escapes: %v %q", err, m.Error)
	}
}

func TestDecodeSessionDoesNotAllocate(t *testing.T) {
	s := sampleSession()
	line := AppendSession(nil, 9, &s)
	d := NewDecoder()
	var m Message
	if err := d.Decode(line, &m); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(line, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per session, want 0", allocs)
	}
	buf := make([]byte, 0, 1024)
	allocs = testing.AllocsPerRun(100, func() { buf = AppendSession(buf[:0], 9, &s) })
	if allocs != 0 {
		t.Errorf("AppendSession allocates %.1f times per session, want 0", allocs)
	}
}

func FuzzDecode(f *testing.F) {
	s := sampleSession()
	f.Add(AppendSession(nil, 1, &s))
	s.SnaplenCut = true
	f.Add(AppendSession(nil, 2, &s))
	f.Add(AppendHello(nil, &Hello{Protocol: 1, WorkerID: "w", Interface: "eth0"}))
	f.Add(AppendStats(nil, &Stats{Packets: 3}))
	f.Add([]byte(`{"type":"error","message":"\ud83d\ude00"}`))
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, line []byte) {
		var m Message
		if err := d.Decode(line, &m); err != nil {
			return
		}
		// Whatever decodes must survive a re-encode and decode unchanged.
		if m.Type == TypeSession {
			again := AppendSession(nil, m.Seq, &m.Session)
			var m2 Message
			if err := d.Decode(again, &m2); err != nil {
				t.Fatalf("re-decode of %s: %v", again, err)
			}
			if m2.Seq != m.Seq || m2.Session.ClientIP != m.Session.ClientIP || m2.Session.Interface != m.Session.Interface ||
				!m2.Session.Timestamp.Equal(m.Session.Timestamp) || m2.Session.SnaplenCut != m.Session.SnaplenCut {
				t.Fatalf("re-decode changed the session:\n%+v\n%+v", m.Session, m2.Session)
			}
		}
	})
}

func BenchmarkAppendSession(b *testing.B) {
	s := sampleSession()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSession(buf[:0], 12345, &s)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeSession(b *testing.B) {
	s := sampleSession()
	line := AppendSession(nil, 12345, &s)
	d := NewDecoder()
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := d.Decode(line, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSessionStdlib is the reference the hand-written decoder is
// measured against.
func BenchmarkDecodeSessionStdlib(b *testing.B) {
	s := sampleSession()
	line := AppendSession(nil, 12345, &s)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			b.Fatal(err)
		}
	}
}
