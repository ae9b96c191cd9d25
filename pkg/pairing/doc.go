// Package pairing turns a stream of decoded NTP packets into sessions: it
// keeps each client request until the server's response arrives (or until
// it has waited too long), and computes the timings of the exchange.
//
// A request is a mode-3 packet (or an NTPv1 packet, which has no mode) sent to
// the monitored server port. It is keyed by (client address, client port,
// server address, server port, request transmit timestamp). A mode-4 packet
// from the server port to that client whose originate timestamp equals the
// request's transmit timestamp is its response (RFC 5905 §8: the server
// copies the request's transmit into originate).
//
// The table is driven by packet capture times. Every packet advances the
// table's clock; a request older than (latest capture time − Timeout) is
// emitted as unanswered. When no packet arrives, the caller drives the clock
// with Expire.
//
// Rules where RFC 5905 leaves a choice:
//
//   - A retransmit with a new transmit timestamp is a new request: each
//     becomes its own session, answered or not. A request identical to a
//     pending one (same key, so the same transmit timestamp: a client that
//     resends the very same packet, or a frame captured twice, as on
//     "any" with a bridge) is counted as a duplicate and folded into the
//     first; C1 stays the first sighting. A second response to it is
//     counted as unmatched.
//   - T2−T1 is kept only when T1 and T2 are non-zero, the response is no
//     kiss-o'-death, and |T2−T1| ≤ MaxLatency (an hour by default):
//     chrony and ntpsec clients send random bits as their transmit time.
//   - A request evicted to stay within MaxPending is counted, not emitted:
//     it may still be answered, so calling it unanswered would be false,
//     and at the rates that fill the table the collector could not absorb
//     one record per spoofed request anyway.
//   - A response seen before its request (capture reordering across
//     interfaces) is counted as unmatched and the request later times out.
//   - Mode 1, 2, 5, 6 and 7 packets to the server port are emitted one
//     record each, never answered (the collector counts them per client);
//     mode 6/7 queries are also counted in Counters.Control.
//
// The table is not safe for concurrent use: one capture loop owns it. It
// allocates only while it grows towards MaxPending, never per packet.
package pairing
