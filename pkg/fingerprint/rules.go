package fingerprint

import (
	"slices"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// Rule is one row of the classification table: when Match holds for a
// request (and the summary of the client's requests), the client is taken
// to run Implementation, with Confidence (0–1) and Evidence naming the
// features that decided.
type Rule struct {
	Name           string
	Implementation Implementation
	Confidence     float64
	Evidence       string
	// Documented is set for rules built from an implementation's source
	// or documentation alone, with no capture of it in testdata/
	// ("documented, not observed"): Windows, Apple, busybox (Debian's
	// build has no ntpd applet), systemd-timesyncd (it will not start
	// without CAP_SYS_TIME) and the classic ntpdate and ntpd.
	Documented bool
	// Match reports whether the rule holds for request f of a client whose
	// requests s summarises (s may be empty, or not yet hold f).
	Match func(f Features, s *Sequence) bool
}

// Rules returns the classification table, most specific first: Classify
// takes the first rule that matches. The slice is the caller's own copy.
func Rules() []Rule { return slices.Clone(table.rules) }

// table is the rule table with each rule's Result made once. It is built
// at initialisation and never written afterwards.
var table = newTable(rules())

type ruleTable struct {
	rules   []Rule
	results []Result
}

func newTable(rules []Rule) ruleTable {
	t := ruleTable{rules: rules, results: make([]Result, len(rules))}
	for i, r := range rules {
		t.results[i] = Result{
			Implementation: r.Implementation,
			Confidence:     r.Confidence,
			Evidence:       r.Name + ": " + r.Evidence,
			Documented:     r.Documented,
		}
	}
	return t
}

// rules is the table as written. Each rule's comment names its source:
// the implementation's code (file and function), an RFC or specification,
// or the captures in testdata/ it was checked against. Versions of the
// sources read: chrony 4.3, ntpsec 1.2.2, busybox 1.35.0, systemd 252,
// OpenBSD's ntpd (client.c 1.27), ntp.org 4.2.8 (sntp, ntpdate),
// python3-ntplib 0.3.3, libnet-ntp-perl 1.5, [MS-SNTP].
func rules() []Rule {
	return []Rule{
		// RFC 8915 §5.7: an NTS request carries a Unique Identifier
		// (0x0104) and an NTS Authenticator (0x0404) extension field.
		// Observed: testdata/*/chrony-nts.pcap (chronyd 4.3 with "nts").
		{
			Name: "nts-extension-fields", Implementation: NTS, Confidence: 0.99,
			Evidence: "NTS unique-identifier/authenticator extension fields",
			Match: func(f Features, _ *Sequence) bool {
				return f.Has(FlagNTS) && isRequest(f)
			},
		},
		// [MS-SNTP] §2.2.1, §2.2.3 and §3.1.5.1: a domain member's
		// authenticated request is 68 bytes (header and a 20-byte
		// Authenticator: key identifier, 16-byte checksum) or 120 bytes
		// (ExtendedAuthenticator); NTPv3 per §1.3 / RFC 1305. Documented,
		// not observed.
		{
			Name: "ms-sntp-authenticator", Implementation: W32time, Confidence: 0.95, Documented: true,
			Evidence: "NTPv3 request of 68 or 120 bytes: MS-SNTP (extended) authenticator",
			Match: func(f Features, _ *Sequence) bool {
				return f.Version == 3 && (f.Mode == ntp.ModeClient || f.Mode == ntp.ModeSymmetricActive) &&
					(f.Length == 68 || f.Length == 120)
			},
		},
		// chrony 4.3 ntp_core.c transmit_packet(): in client mode "Don't
		// reveal local time or state of the clock": precision 32,
		// stratum, refid, root delay/dispersion and reference 0, originate
		// and receive 0 (outside interleaved mode), the transmit
		// timestamp all random bits (UTI_GetNtp64Fuzz with precision 32),
		// and the poll field the source's real poll (minpoll 6 by
		// default, never 0 unless configured so). Observed:
		// testdata/*/chrony.pcap and chrony-q.pcap.
		{
			Name: "chrony-minimal-request", Implementation: Chrony, Confidence: 0.95,
			Evidence: "precision 32, non-zero poll, state fields zero, random transmit timestamp",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeClient && f.Precision == 32 && f.Poll != 0 && f.Stratum == 0 &&
					f.Has(zeroState) && f.Transmit == TransmitRandom
			},
		},
		// ntpsec 1.2.2 ntpd/ntp_proto.c peer_xmit(): an NTPv4 association
		// "hides most of info for privacy" — precision 0x20, poll 0,
		// stratum, refid, root delay/dispersion and reference/originate/
		// receive 0, transmit timestamp ntp_RAND_bytes() — and ntpd sends
		// from its port 123. Observed: testdata/*/ntpsec.pcap.
		{
			Name: "ntpsec-minimal-request", Implementation: Ntpd, Confidence: 0.9,
			Evidence: "precision 32, poll 0, state fields zero, random transmit timestamp, from port 123",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeClient && f.Precision == 32 && f.Poll == 0 && f.Stratum == 0 &&
					f.Has(zeroState|FlagSourcePort123) && f.Transmit == TransmitRandom
			},
		},
		// chrony again (ntp_core.c transmit_packet()), configured with
		// minpoll 0 or less so that poll is 0; unlike ntpsec it sends
		// from an ephemeral port, a new one for each request
		// (ntp_core.c transmit_timeout(): "Open new client socket").
		// Documented, not observed: the captures' chronyd sends poll 6
		// and more.
		{
			Name: "chrony-minimal-request-poll-0", Implementation: Chrony, Confidence: 0.7, Documented: true,
			Evidence: "precision 32, poll 0, state fields zero, random transmit timestamp, a new ephemeral source port for each request",
			Match: func(f Features, s *Sequence) bool {
				return f.Mode == ntp.ModeClient && f.Precision == 32 && f.Stratum == 0 &&
					f.Has(zeroState) && !f.Has(FlagSourcePort123) && f.Transmit == TransmitRandom &&
					(s.Requests < 2 || s.PortChanges == s.Requests-1)
			},
		},
		// ntp.org 4.2.8 ntpdate/ntpdate.c transmit(): LI 3, stratum 0,
		// poll NTP_MINPOLL, precision NTPDATE_PRECISION (-6), root delay
		// NTPDATE_DISTANCE and root dispersion NTPDATE_DISP (1 s each),
		// refid and reference/originate/receive 0, transmit
		// get_systime(). Documented, not observed: Debian 12's ntpdate is
		// ntpsec's wrapper around ntpdig, which the sntp rule below finds.
		{
			Name: "ntpdate-classic", Implementation: Ntpdate, Confidence: 0.9, Documented: true,
			Evidence: "LI 3, precision -6, root delay and dispersion set with refid zero, clock transmit timestamp",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeClient && f.Leap == ntp.LeapUnsynchronized && f.Stratum == 0 &&
					f.Precision == -6 && f.Has(FlagRefIDZero|FlagReferenceZero|FlagOriginateZero|FlagReceiveZero) &&
					!f.Has(FlagRootDelayZero) && !f.Has(FlagRootDispersionZero) && isClock(f)
			},
		},
		// ntp.org 4.2.8 sntp/main.c generate_pkt(): LI 3 (LEAP_NOTINSYNC),
		// version 4, stratum 0, poll 8, everything else zero, transmit
		// from gettimeofday(). macOS ships this sntp as /usr/bin/sntp
		// ("sntp 4.2.8p10@1.3728-o" on 10.14 and later) beside timed,
		// whose own request format Apple does not document; elsewhere the
		// ntp.org sntp has given way to ntpdig or chrony, so this shape is
		// most likely a Mac. Documented, not observed.
		{
			Name: "ntp-sntp-4.2.8", Implementation: Apple, Confidence: 0.6, Documented: true,
			Evidence: "LI 3, version 4, poll 8, precision 0, state fields zero, clock transmit timestamp (ntp.org sntp)",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeClient && f.Version == 4 && f.Leap == ntp.LeapUnsynchronized &&
					f.Poll == 8 && f.Precision == 0 && f.Stratum == 0 && f.Has(zeroState) && isClock(f)
			},
		},
		// ntpsec 1.2.2 ntpclients/ntpdig.py queryhost() and
		// pylib/packet.py Packet.__init__ and SyncPacket.posix_to_ntp():
		// LI 3 (LEAP_NOTINSYNC), version 4, mode 3, all else 0, and
		// transmit = int((time.time() + UNIX_EPOCH) * 2**32), a float64 of
		// about 3.9e9 s whose last 11 or more bits are 0. Observed:
		// testdata/*/ntpdig.pcap and ntpdate.pcap (Debian 12's ntpdate
		// runs ntpdig: the two are the same on the wire). Before the
		// timesyncd rule: a float64 timestamp's fraction is under 10^9 a
		// quarter of the time, while nanoseconds end in 11 zero bits only
		// once in 2048.
		{
			Name: "ntpdig-float-timestamp", Implementation: Sntp, Confidence: 0.85,
			Evidence: "bare NTPv4 request with LI 3, clock transmit timestamp with 11+ zero low bits (float64 time)",
			Match: func(f Features, s *Sequence) bool {
				return bare(f) && f.Version == 4 && f.Leap == ntp.LeapUnsynchronized && f.Transmit == TransmitClock &&
					f.FractionZeros >= 11 && (s.Requests == 0 || s.MinFractionZeros >= 11)
			},
		},
		// systemd 252 src/timesync/timesyncd-manager.c
		// manager_send_request(): all fields 0 but version 4 and mode 3
		// (RFC 4330 §5), transmit seconds from CLOCK_REALTIME and
		// fraction = tv_nsec ("we just pass the plain nanosecond value"),
		// so the fraction is always below 10^9. Documented, not observed:
		// timesyncd will not start without CAP_SYS_TIME.
		{
			Name: "timesyncd-nanosecond-fraction", Implementation: SystemdTimesyncd, Confidence: 0.85, Documented: true,
			Evidence: "bare NTPv4 request whose transmit fraction holds nanoseconds",
			Match: func(f Features, s *Sequence) bool {
				if !bare(f) || f.Version != 4 || !all(f, s, FlagFractionBelow1e9) {
					return false
				}
				// One request whose fraction reads as nanoseconds decides;
				// otherwise three or more all under 10^9 do (a proper
				// fraction is, 23% of the time).
				return f.Transmit == TransmitClockNanos ||
					(isClock(f) && s.Requests >= 3 && s.Transmits&^clockMask == 0)
			},
		},
		// busybox 1.35.0 networking/ntpd.c send_query_to_peer(): version
		// 4, mode 3, all else 0, and "a random 64-bit number as our
		// transmit time" made of two rand() calls, whose 31 bits leave the
		// top bit of each half clear. With three or more requests all like
		// that, random halves would be (1/4)^3 = 1.6% likely. Documented,
		// not observed: Debian's busybox is built without ntpd.
		{
			Name: "busybox-rand-transmit", Implementation: Busybox, Confidence: 0.9, Documented: true,
			Evidence: "bare NTPv4 request, random transmit timestamp with both top bits clear in every request",
			Match: func(f Features, s *Sequence) bool {
				return bare(f) && f.Version == 4 && f.Transmit == TransmitRandom &&
					s.Requests >= 3 && all(f, s, FlagTransmitHighClear)
			},
		},
		// OpenBSD usr.sbin/ntpd/client.c client_peer_init() and
		// client_query(): status MODE_CLIENT | NTP_VERSION << 3 and
		// nothing else but a transmit time of two arc4random() values,
		// from one socket (one port) per peer. A top bit set rules out
		// busybox's rand(). Observed: testdata/*/openntpd.pcap (OpenNTPD
		// 6.2p3).
		{
			Name: "openntpd-random-transmit", Implementation: Openntpd, Confidence: 0.85,
			Evidence: "bare NTPv4 request, random transmit timestamp with a top bit set",
			Match: func(f Features, s *Sequence) bool {
				return bare(f) && f.Version == 4 && f.Transmit == TransmitRandom &&
					!all(f, s, FlagTransmitHighClear)
			},
		},
		// busybox or OpenNTPD from a single request with both top bits
		// clear (busybox's rand() always, OpenNTPD's arc4random() a
		// quarter of the time): sources as in the two rules above.
		{
			Name: "busybox-or-openntpd", Implementation: Busybox, Confidence: 0.5, Documented: true,
			Evidence: "bare NTPv4 request, random transmit timestamp with both top bits clear (too few requests to rule out OpenNTPD)",
			Match: func(f Features, _ *Sequence) bool {
				return bare(f) && f.Version == 4 && f.Transmit == TransmitRandom
			},
		},
		// [MS-SNTP] §3.1.5: the Windows Time service prepares its request
		// header as NTPv3 does (RFC 1305 §3.4.2), with its own stratum,
		// poll and precision; its precision is -23 (a 100 ns clock:
		// "Precision: -23 (119.209ns per tick)" in w32tm /query /status).
		// Domain time sources may use mode 1 (§3.1.5.1). Documented, not
		// observed.
		{
			Name: "w32time-ntpv3", Implementation: W32time, Confidence: 0.7, Documented: true,
			Evidence: "NTPv3 request with precision -23 and a clock transmit timestamp",
			Match: func(f Features, _ *Sequence) bool {
				return f.Version == 3 && (f.Mode == ntp.ModeClient || f.Mode == ntp.ModeSymmetricActive) &&
					f.Precision == -23 && isClock(f)
			},
		},
		// ntpsec 1.2.2 ntpd/ntp_proto.c peer_xmit(), the branch for an
		// association not of NTP_VERSION, and ntp.org 4.2.8's peer_xmit()
		// for every association: the daemon's own leap, stratum, poll,
		// precision, refid, root delay/dispersion and reference time, the
		// peer's last timestamps as originate and receive, and a clock
		// transmit timestamp. Documented, not observed (ntp.org 4.2.8 is
		// not packaged for Debian 12).
		{
			Name: "ntpd-full-state", Implementation: Ntpd, Confidence: 0.7, Documented: true,
			Evidence: "request that fills the daemon's state (stratum, refid, reference or root dispersion) with a clock transmit timestamp",
			Match: func(f Features, _ *Sequence) bool {
				return (f.Mode == ntp.ModeClient || f.Mode == ntp.ModeSymmetricActive) && f.Version >= 3 &&
					isClock(f) && f.Precision < 0 && f.Precision >= -30 && f.Flags&zeroState != zeroState
			},
		},
		// RFC 5905 §3 / §9: symmetric active mode is a peer association,
		// which among the implementations here only ntpd (and w32time as a
		// time source, above) configures.
		{
			Name: "symmetric-active", Implementation: Ntpd, Confidence: 0.5,
			Evidence: "symmetric active (mode 1) peer",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeSymmetricActive
			},
		},
		// RFC 4330 §5: an SNTP client may zero every field but the mode,
		// the version and the transmit timestamp. Libraries do just that:
		// python3-ntplib 0.3.3 ntplib.py NTPClient.request() (version 2
		// by default, the clock from time.time()) and libnet-ntp-perl 1.5
		// Net/NTP.pm encode() (version 3). Observed:
		// testdata/*/ntplib.pcap and netntp.pcap.
		{
			Name: "sntp-library", Implementation: Other, Confidence: 0.4,
			Evidence: "bare request with a clock transmit timestamp: a generic SNTP client (library or script)",
			Match: func(f Features, _ *Sequence) bool {
				return bare(f) && isClock(f)
			},
		},
		// RFC 1059 (NTPv1) has no mode field: a request is mode 0.
		{
			Name: "ntpv1", Implementation: Other, Confidence: 0.5,
			Evidence: "NTPv1 request (mode 0)",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeReserved
			},
		},
		// RFC 9327 (mode 6) and ntpd's ntp_request.h (mode 7): control and
		// monitoring queries (ntpq, ntpdc, scanners), not time requests.
		{
			Name: "control-query", Implementation: Other, Confidence: 0.3,
			Evidence: "mode 6/7 control query, no time request",
			Match: func(f Features, _ *Sequence) bool {
				return f.Mode == ntp.ModeControl || f.Mode == ntp.ModePrivate
			},
		},
	}
}

// clockMask is the Sequence.Transmits bits of clock readings.
const clockMask = 1<<TransmitClock | 1<<TransmitClockNanos

func isRequest(f Features) bool {
	return f.Mode == ntp.ModeClient || f.Mode == ntp.ModeSymmetricActive || f.Mode == ntp.ModeReserved
}

func isClock(f Features) bool {
	return f.Transmit == TransmitClock || f.Transmit == TransmitClockNanos
}

// bare reports whether f is a client request with everything but the first
// byte and the transmit timestamp zero: poll, precision and every state
// field (RFC 4330 §5).
func bare(f Features) bool {
	return f.Mode == ntp.ModeClient && f.Stratum == 0 && f.Poll == 0 && f.Precision == 0 &&
		f.Has(zeroState) && f.Length == ntp.HeaderSize
}

// all reports whether f and every request s summarises have the flags fl.
func all(f Features, s *Sequence, fl Flags) bool {
	return f.Has(fl) && (s.Requests == 0 || s.AllFlags&fl == fl)
}
