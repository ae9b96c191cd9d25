// Command ntp-worker captures the NTP traffic of one interface (or reads a
// capture file), pairs requests with responses and streams the sessions to
// ntp-collector.
//
// main.go only parses flags and wires: the capture (package capture), the
// decoding and pairing loop (package worker) and the stream to the
// collector (package sender, over TCP or TLS as transport.go chooses). A
// worker is normally started by ntp-collector's supervisor, one per
// interface, and is stopped by it; it can also run by hand.
package main
