// Package worker is the capture loop of ntp-worker: it reads packets from a
// live interface or a capture file, decodes them down to NTP, pairs requests
// with responses, and hands every session to the sender that streams it to
// the collector.
//
// One goroutine does all of it, so the pairing table needs no lock and a
// packet costs no allocation. The loop stops on context cancellation (live:
// SIGTERM) or at the end of a file, then flushes and waits, within a bound,
// for the collector to acknowledge what was sent.
//
// Packets come from package capture; sessions leave through package sender.
// A live capture never waits for the network: the sender's spool absorbs a
// slow or absent collector (a capture file, which must lose nothing, waits
// for spool space instead). What a run did is its Summary (report.go), and
// the stats lines the collector shows come from the same counters.
package worker
