// Package sender is the worker's side of the worker → collector protocol
// (package wire): it numbers every session, holds it in a bounded in-memory
// spool until the collector acknowledges it, and keeps one TCP connection to
// the collector alive (TLS when Config.TLS is set), resending what was not
// acknowledged after every reconnect. Every hello carries the run's own
// secret (Config.Secret), to which the collector binds the worker's id.
//
// The capture loop calls Send for every session; Send only copies the
// session into the spool under a mutex, so it costs tens of nanoseconds and
// never allocates. Encoding, writing and reading acks happen in Run's
// goroutines.
//
// Sessions come from the worker's capture loop (package worker) and leave as
// wire lines for the collector (package ingest). The package knows nothing
// of capture or of the store, and Send must never block a live capture: a
// full spool drops its oldest session unless Config.Block says otherwise.
//
// # Files
//
// sender.go holds the Sender and its spool; run.go the reconnect loop;
// conn.go one connection (handshake, writer, ack reader); config.go its
// settings; errors.go the collector's refusal.
package sender
