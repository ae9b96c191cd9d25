// Package fingerprint tells which NTP implementation a client runs — chrony,
// ntpd, an SNTP one-shot, busybox, systemd-timesyncd, OpenNTPD, Windows,
// Apple, any NTS client — from the requests it sends, with a confidence and
// the evidence that decided.
//
// # What it holds
//
// Two small values, a table and the function that reads it:
//
//   - Features is what one request tells: its version, mode, poll,
//     precision and stratum, which state fields are zero, whether the
//     transmit timestamp is a clock reading (near the capture time), a
//     clock reading with nanoseconds in its fraction, or random bits, the
//     fraction's trailing zero bits and top bits, the payload length,
//     extension fields (NTS) and MAC, and whether the source port is 123.
//     Extract computes it; Uint64 packs it into 64 bits, so it can travel
//     with each session.
//   - Sequence is what a client's requests tell together: how many, the
//     opening burst (iburst), the minimum and a histogram of the intervals
//     (MedianInterval), poll changes, source port changes, and the flags
//     every request or any request had. It has a fixed size (SequenceSize
//     bytes encoded) and is folded in capture order (Add) or appended to
//     (Merge), so a store row can keep one per client.
//   - Rules returns the table: each rule names an implementation, a predicate
//     over Features and Sequence, a confidence, the evidence text and, in
//     its comment, its source — the implementation's code (file and
//     function), an RFC or specification, or the captures in testdata/ it
//     was checked against. Rules marked Documented were built from source
//     or documentation alone ("documented, not observed").
//   - Classify takes one request's Features and the client's Sequence and
//     returns a Result: the first rule that matches decides.
//
// Extract, Add and Classify allocate nothing. On a 2-core x86-64, Extract takes 32–45 ns and
// Sequence.Add plus Classify 0.21–0.27 µs (BenchmarkExtract,
// BenchmarkClassify), so the worker can extract on every request and the
// collector classify on every session.
//
// # Where its data comes from and goes
//
// The worker decodes each request (pkg/frame, pkg/ntp) and calls Extract
// with the UDP source port, the UDP payload length and the capture time;
// the Features go with the session to the collector, which folds them into
// the client's Sequence and classifies; the API shows the Result as
// implementation, implementation_confidence and implementation_evidence.
// Only requests count: a server's replies say nothing about its clients.
//
// The rules were tuned on real captures made by scripts/fingerprint-pcaps.sh
// (testdata/tuning: chronyd as a daemon, chronyd -Q and chronyd with NTS,
// ntpsec's ntpd, ntpdig, Debian's ntpdate, python3-ntplib, Perl's Net::NTP
// and OpenNTPD, each in a network namespace of its own) and measured on a
// second set made by the same script with IPv6, other poll settings,
// timings and seeds (testdata/heldout). On the tuning set every capture
// (9 of 9) and every request (65 of 65) is classified right; on the
// held-out set, likewise 9 of 9 captures and 86 of 86 requests, each request
// classified from itself and the requests of the same client before it.
// testdata/README.md says how each capture was made. Windows (w32time),
// Apple (sntp), busybox ntpd (Debian's busybox has no ntpd applet),
// systemd-timesyncd (it will not run without CAP_SYS_TIME) and the
// classic ntp.org ntpd and ntpdate could not be run here: their rules
// follow their documentation or source, the tests build their packets from
// it, and their accuracy on real traffic is unknown.
//
// # What the requests cannot tell apart
//
//   - Debian 12's ntpdate is a shell script around ntpsec's ntpdig: the
//     packets, and the one-request-per-run sequence, are the same, so both
//     are Sntp. Only the classic ntp.org ntpdate (precision -6, root delay
//     and dispersion of 1 s) is Ntpdate.
//   - chronyd as a daemon and chronyd -Q send the same packet; both are
//     Chrony. Their sequences differ (a burst of 4 then the poll interval,
//     against 3 requests a run), which Sequence keeps for whoever needs it.
//   - busybox and OpenNTPD both send a bare NTPv4 request with a random
//     transmit timestamp; busybox's halves are rand() values with the top
//     bit clear, which a quarter of OpenNTPD's are too. One request cannot
//     decide (busybox at confidence 0.5); three or more all with clear top
//     bits make busybox (a 1.6% chance for OpenNTPD), one with a top bit
//     set makes OpenNTPD.
//   - systemd-timesyncd writes nanoseconds where the fraction goes. A
//     request sent early in a second reads almost the same either way; then
//     three or more requests whose fractions are all below 10^9 decide.
//   - The ntp.org sntp 4.2.8 is what macOS ships as /usr/bin/sntp; the same
//     packet from another system is classified Apple too.
//   - A client using NTS is NTS whatever its software, since that is what
//     an operator wants to know first.
//   - python3-ntplib and Net::NTP are Other: a bare request with a clock
//     reading, as RFC 4330 allows any SNTP client to send.
//
// # What it must not do
//
// It does no I/O and reads no clock: capture times are passed in. It keeps
// no state between calls; Rules returns a fresh table. It never claims more
// than its evidence: every Result carries the rule that decided, and a
// request no rule knows is Other at confidence 0.1.
package fingerprint
