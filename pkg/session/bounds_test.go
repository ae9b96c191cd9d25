package session_test

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// validLine is an answered session as a worker writes it.
func validLine(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	s := session.Session{
		Interface: "eth0", Version: 4, Mode: 3, Poll: 6, PacketLength: 48,
		Answered: true, Stratum: 2, Precision: -24, RootDelay: 0.0012, RootDispersion: 0.003,
		ReferenceID: "192.0.2.53", Leap: session.LeapNoWarning,
		ReferenceTime: 1764093071, OriginateTime: 1764093101.1, ReceiveTime: 1764093101.1003, TransmitTime: 1764093101.10031,
		Latency: 0.0003, LatencyValid: true, Processing: 0.00001, Total: 0.00002,
		Timestamp: time.Date(2026, 11, 25, 17, 51, 41, 123456789, time.UTC),
	}
	s.ClientIP, s.ServerIP = mustAddr(t, "198.51.100.7"), mustAddr(t, "192.0.2.1")
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(wire.AppendSession(nil, 1, &s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every bound, each side of it, on a session as it arrives from the wire
// (testdata/bounds.txt).
func TestBoundsCheck(t *testing.T) {
	f, err := os.Open("testdata/bounds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	now := time.Date(2026, 11, 25, 17, 51, 41, 123456789, time.UTC)
	dec := wire.NewDecoder()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("testdata line %q: want reason, field, value", line)
		}
		want, field, value := f[0], f[1], f[2]
		n++
		t.Run(want+"/"+field+"="+value, func(t *testing.T) {
			m := validLine(t)
			if field != "-" {
				m[field] = json.RawMessage(value)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var msg wire.Message
			if err := dec.Decode(b, &msg); err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if got := (session.Bounds{}).Check(&msg.Session, now); got.String() != want {
				t.Errorf("Check = %s, want %s", got, want)
			}
		})
	}
	if err := sc.Err(); err != nil || n < 10 {
		t.Fatalf("read %d cases from testdata/bounds.txt: %v", n, err)
	}
}

// The future skew is a setting; the default is ten minutes.
func TestBoundsFutureSkew(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := session.Session{ClientIP: mustAddr(t, "192.0.2.9"), Timestamp: now.Add(time.Hour)}
	if got := (session.Bounds{}).Check(&s, now); got != session.CapturedInFuture {
		t.Errorf("an hour ahead with the default skew: %s", got)
	}
	if got := (session.Bounds{MaxFutureSkew: 2 * time.Hour}).Check(&s, now); got != session.Valid {
		t.Errorf("an hour ahead with a 2 h skew: %s", got)
	}
}

// Modes 6 and 7 have no poll field: whatever the worker read there is not
// checked, and neither is anything of an unanswered request, which is null.
func TestBoundsOtherModes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, mode := range []uint8{6, 7} {
		s := session.Session{ClientIP: mustAddr(t, "192.0.2.9"), Version: 2, Mode: mode, Poll: -126, Timestamp: now}
		if got := (session.Bounds{}).Check(&s, now); got != session.Valid {
			t.Errorf("mode %d with poll byte -126: %s", mode, got)
		}
	}
	s := session.Session{ClientIP: mustAddr(t, "192.0.2.9"), Version: 4, Mode: 3, Poll: -126, Timestamp: now}
	if got := (session.Bounds{}).Check(&s, now); got != session.BadPoll {
		t.Errorf("request with poll -126: %s", got)
	}
}

func TestViolationNames(t *testing.T) {
	seen := map[string]bool{}
	for v := range session.NumViolations {
		name := session.Violation(v).String()
		if name == "unknown" || name == "" || seen[name] {
			t.Errorf("violation %d is named %q", v, name)
		}
		seen[name] = true
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
