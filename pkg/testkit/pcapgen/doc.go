// Package pcapgen writes synthetic NTP captures: clients polling a server,
// the server's responses, and optionally unanswered requests, kiss-o'-death
// replies and mode 6 queries, over IPv4 and IPv6, with or without an 802.1Q
// tag, as Ethernet or Linux cooked (SLL2) frames.
//
// The traffic is deterministic for a Config, and Write returns what it
// wrote, so tests and benchmarks can check a worker's sessions against it.
package pcapgen
