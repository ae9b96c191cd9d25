package fingerprint_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// docCase is a client no capture here shows, built packet by packet from
// its implementation's source or documentation (each case names it), or
// an edge of the rule table.
type docCase struct {
	name     string
	want     fingerprint.Implementation
	rule     string // the rule that must decide the last request
	port     uint16 // source port; 0 for a new ephemeral port per request
	n        int    // requests
	interval time.Duration
	// packet returns request i's UDP payload, sent at at.
	packet func(i int, at time.Time, r *rand.Rand) []byte
}

// header encodes an NTP header; the options fill its fields.
func header(lvm byte, opts ...func(*ntp.Packet)) []byte {
	p := ntp.Packet{Leap: lvm >> 6, Version: lvm >> 3 & 7, Mode: lvm & 7}
	for _, o := range opts {
		o(&p)
	}
	return ntp.Encode(&p, nil)
}

func transmit(t ntp.Time) func(*ntp.Packet) { return func(p *ntp.Packet) { p.Transmit = t } }

// fullState fills what a daemon that has synchronised tells: its stratum,
// poll, precision, root delay and dispersion, refid and reference time,
// and the peer's timestamps as originate and receive.
func fullState(stratum uint8, poll, precision int8, at time.Time) func(*ntp.Packet) {
	return func(p *ntp.Packet) {
		p.Stratum, p.Poll, p.Precision = stratum, poll, precision
		p.RootDelay, p.RootDispersion = 0x0000_0c4a, 0x0001_2000
		p.ReferenceID = [4]byte{192, 0, 2, 1}
		p.Reference = ntp.FromTime(at.Add(-40 * time.Second))
		p.Originate = ntp.FromTime(at.Add(-64 * time.Second))
		p.Receive = ntp.FromTime(at.Add(-64*time.Second + time.Millisecond))
	}
}

// fileTime is a Windows clock reading: 100 ns ticks turned into an NTP
// fraction.
func fileTime(at time.Time) ntp.Time {
	ticks := uint64(at.Nanosecond() / 100)
	return ntp.Time(uint64(ntp.FromTime(at).Seconds())<<32 | ticks<<32/1e7)
}

// nanosTime is a clock reading as systemd-timesyncd puts it on the wire:
// the nanoseconds in the fraction field.
func nanosTime(at time.Time) ntp.Time {
	return ntp.Time(uint64(ntp.FromTime(at).Seconds())<<32 | uint64(at.Nanosecond()))
}

// timevalTime is a gettimeofday() reading converted as ntp.org's TVTOTS
// does: microseconds scaled to 2^-32 s.
func timevalTime(at time.Time) ntp.Time {
	usec := uint64(at.Nanosecond() / 1000)
	return ntp.Time(uint64(ntp.FromTime(at).Seconds())<<32 | usec<<32/1e6)
}

func documentedCases() []docCase {
	rid := binary.LittleEndian.AppendUint32(nil, 0x451) // a machine account's RID
	return []docCase{
		{
			// [MS-SNTP] §2.2.1: header and Authenticator (key identifier,
			// 16-byte crypto-checksum set to zero in a request).
			name: "w32time domain member", want: fingerprint.W32time, rule: "ms-sntp-authenticator",
			port: 123, n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				b := header(0x1b, fullState(4, 10, -23, at), transmit(fileTime(at)))
				return append(append(b, rid...), make([]byte, 16)...)
			},
		},
		{
			// [MS-SNTP] §2.2.3: ExtendedAuthenticator (key identifier,
			// reserved, flags, ClientHashIDHints = NTLM_PWD_HASH,
			// SignatureHashID, 64-byte checksum).
			name: "w32time extended authenticator", want: fingerprint.W32time, rule: "ms-sntp-authenticator",
			port: 123, n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				b := header(0x1b, fullState(4, 10, -23, at), transmit(fileTime(at)))
				b = append(append(b, rid...), 0, 0, 1, 0)
				return append(b, make([]byte, 64)...)
			},
		},
		{
			// [MS-SNTP] §3.1.5 (an RFC 1305 header), a standalone machine
			// synchronising with time.windows.com,0x9: poll 10.
			name: "w32time standalone", want: fingerprint.W32time, rule: "w32time-ntpv3",
			port: 123, n: 3, interval: 1024 * time.Second,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0x1b, fullState(4, 10, -23, at), transmit(fileTime(at)))
			},
		},
		{
			// Just started, not yet synchronised: w32tm /query /status
			// shows LI 3, stratum 0, refid and root delay 0.
			name: "w32time unsynchronised", want: fingerprint.W32time, rule: "w32time-ntpv3",
			port: 123, n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0xdb, func(p *ntp.Packet) { p.Poll, p.Precision = 10, -23 }, transmit(fileTime(at)))
			},
		},
		{
			// [MS-SNTP] §3.1.5.1: a time source asks in symmetric active
			// mode.
			name: "w32time domain controller", want: fingerprint.W32time, rule: "w32time-ntpv3",
			port: 123, n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0x19, fullState(2, 6, -23, at), transmit(fileTime(at)))
			},
		},
		{
			// ntp.org 4.2.8 sntp/main.c generate_pkt(), as macOS's
			// /usr/bin/sntp sends it.
			name: "macOS sntp", want: fingerprint.Apple, rule: "ntp-sntp-4.2.8",
			n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0xe3, func(p *ntp.Packet) { p.Poll = 8 }, transmit(timevalTime(at)))
			},
		},
		{
			// busybox 1.35.0 networking/ntpd.c send_query_to_peer():
			// transmit = two rand() values, one socket per peer.
			name: "busybox ntpd", want: fingerprint.Busybox, rule: "busybox-rand-transmit",
			port: 41234, n: 4, interval: 2 * time.Second,
			packet: func(_ int, _ time.Time, r *rand.Rand) []byte {
				return header(0x23, transmit(ntp.Time(uint64(r.Uint32()>>1)<<32|uint64(r.Uint32()>>1))))
			},
		},
		{
			// The same, one request only: OpenNTPD sends this a quarter
			// of the time, so the rule can only guess.
			name: "busybox ntpd, one request", want: fingerprint.Busybox, rule: "busybox-or-openntpd",
			port: 41234, n: 1,
			packet: func(_ int, _ time.Time, r *rand.Rand) []byte {
				return header(0x23, transmit(ntp.Time(uint64(r.Uint32()>>1)<<32|uint64(r.Uint32()>>1))))
			},
		},
		{
			// systemd 252 timesyncd-manager.c manager_send_request():
			// fraction = tv_nsec. Sent 0.25 s into a second, which reads
			// as 0.058 s when taken as a proper fraction: 0.19 s from the
			// capture time.
			name: "systemd-timesyncd", want: fingerprint.SystemdTimesyncd, rule: "timesyncd-nanosecond-fraction",
			port: 38000, n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0x23, transmit(nanosTime(at)))
			},
		},
		{
			// The same, sent in the first 40 ms of each second, where the
			// two readings of the fraction are too close to tell apart:
			// four fractions all under 10^9 decide.
			name: "systemd-timesyncd, early in the second", want: fingerprint.SystemdTimesyncd, rule: "timesyncd-nanosecond-fraction",
			port: 38000, n: 4, interval: 32 * time.Second,
			packet: func(_ int, at time.Time, r *rand.Rand) []byte {
				early := at.Truncate(time.Second).Add(time.Duration(r.IntN(40_000_000)))
				return header(0x23, transmit(nanosTime(early)))
			},
		},
		{
			// ntp.org 4.2.8 ntpdate/ntpdate.c transmit(): four samples
			// (sys_samples) from port 123.
			name: "classic ntpdate", want: fingerprint.Ntpdate, rule: "ntpdate-classic",
			port: 123, n: 4, interval: 2 * time.Second,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0xe3, func(p *ntp.Packet) {
					p.Poll, p.Precision = 3, -6
					p.RootDelay, p.RootDispersion = 1<<16, 1<<16
				}, transmit(ntp.FromTime(at)))
			},
		},
		{
			// ntp.org 4.2.8 ntpd/ntp_proto.c peer_xmit(): a synchronised
			// daemon polling its server.
			name: "ntp.org ntpd", want: fingerprint.Ntpd, rule: "ntpd-full-state",
			port: 123, n: 3, interval: 64 * time.Second,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0x23, fullState(3, 6, -24, at), transmit(ntp.FromTime(at)))
			},
		},
		{
			// chrony ntp_core.c transmit_packet() with minpoll 0: poll 0,
			// a new port for each request.
			name: "chrony with minpoll 0", want: fingerprint.Chrony, rule: "chrony-minimal-request-poll-0",
			n: 4, interval: time.Second,
			packet: func(_ int, _ time.Time, r *rand.Rand) []byte {
				return header(0x23, func(p *ntp.Packet) { p.Precision = 32 }, transmit(ntp.Time(r.Uint64())))
			},
		},
		{
			// RFC 5905 §9: a peer that tells nothing of its state.
			name: "symmetric peer", want: fingerprint.Ntpd, rule: "symmetric-active",
			port: 123, n: 1,
			packet: func(_ int, _ time.Time, _ *rand.Rand) []byte { return header(0x21) },
		},
		{
			// RFC 1059: NTPv1 has no mode field.
			name: "NTPv1", want: fingerprint.Other, rule: "ntpv1",
			n: 1,
			packet: func(_ int, at time.Time, _ *rand.Rand) []byte {
				return header(0x08, transmit(ntp.FromTime(at)))
			},
		},
		{
			// RFC 9327: ntpq's read-variables query.
			name: "mode 6 query", want: fingerprint.Other, rule: "control-query",
			n:      1,
			packet: func(int, time.Time, *rand.Rand) []byte { return []byte{0x26, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0} },
		},
		{
			// ntpd's ntp_request.h: a mode 7 MON_GETLIST_1 ("monlist").
			name: "mode 7 monlist", want: fingerprint.Other, rule: "control-query",
			n: 1,
			packet: func(int, time.Time, *rand.Rand) []byte {
				return append([]byte{0x17, 0x00, 0x03, 0x2a}, make([]byte, 44)...)
			},
		},
		{
			// A bare request with no transmit timestamp: no rule knows it.
			name: "empty request", want: fingerprint.Other, rule: "no-rule",
			n:      1,
			packet: func(int, time.Time, *rand.Rand) []byte { return header(0x23) },
		},
	}
}

// runDocCase sends a case's requests into a Sequence and returns the
// classification of the last one.
func runDocCase(t *testing.T, c docCase) fingerprint.Result {
	t.Helper()
	r := rand.New(rand.NewPCG(15, uint64(len(c.name))))
	at := time.Date(2026, 12, 1, 12, 0, 0, 250_000_000, time.UTC)
	var seq fingerprint.Sequence
	var res fingerprint.Result
	for i := range c.n {
		b := c.packet(i, at, r)
		var p ntp.Packet
		if err := ntp.Decode(b, &p); err != nil && !errors.Is(err, ntp.ErrExtension) {
			t.Fatalf("%s: request %d: %v", c.name, i, err)
		}
		port := c.port
		if port == 0 {
			port = uint16(32768 + r.IntN(28000))
		}
		// The capture sees the request a little after the client read its
		// clock.
		seen := at.Add(300 * time.Microsecond)
		f := fingerprint.Extract(&p, port, len(b), seen)
		seq.Add(f, port, seen)
		res = fingerprint.Classify(f, &seq)
		at = at.Add(c.interval)
	}
	return res
}

// TestDocumented classifies the clients built from documented behaviour.
func TestDocumented(t *testing.T) {
	rules := map[string]fingerprint.Rule{}
	for _, r := range fingerprint.Rules() {
		rules[r.Name] = r
	}
	for _, c := range documentedCases() {
		t.Run(c.name, func(t *testing.T) {
			res := runDocCase(t, c)
			if res.Implementation != c.want || ruleOf(res) != c.rule {
				t.Errorf("classified %v (%s), want %v by %s", res.Implementation, res.Evidence, c.want, c.rule)
			}
			if r, ok := rules[c.rule]; ok && res.Documented != r.Documented {
				t.Errorf("Documented %v, the rule says %v", res.Documented, r.Documented)
			}
		})
	}
}

// ruleOf returns the name of the rule that decided r.
func ruleOf(r fingerprint.Result) string {
	for i := range len(r.Evidence) {
		if r.Evidence[i] == ':' {
			return r.Evidence[:i]
		}
	}
	return r.Evidence
}
