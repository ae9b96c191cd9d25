// Package ingest is the collector's data path: a TCP server that accepts
// worker connections speaking the pkg/wire protocol, one bounded queue, and a
// single writer that folds sessions into store batches, commits each batch in
// one transaction together with every worker's high-water seq, and only then
// acknowledges.
//
// The exactly-once guarantee rests on three rules: the writer skips any
// session whose seq is not above the highest seq it has already accepted for
// that worker; the high-water seqs are committed in the same transaction as
// the rows; and nothing is acknowledged before its commit. A worker that
// loses its connection (or a collector that dies) resends everything
// unacknowledged, and the duplicates fall to the first rule.
//
// Lines come from workers (package sender) and are read with
// wire.LineReader; sessions go to the store (package store) and the
// counters to the HTTP API through Snapshot. A reader never blocks on the
// store: when the queue is full it stops reading, and TCP pushes back on the
// worker.
//
// # Files
//
// server.go holds the Server, its listener and its shutdown; slots.go how
// connections before and after their hello share the connection slots;
// tls.go the TLS handshake and the check of client certificates; conn.go one
// connection's lifecycle and its acks; read.go its reader (hello, sessions,
// bad lines); binding.go how a worker_id is bound to the certificate or
// secret that first used it; worker.go what is known of a worker run across
// connections; writer.go the batch writer and its commits; snapshot.go and
// kinds.go what the server counts and reports; config.go its settings.
//
// # Hostile peers
//
// The listener may face anyone who can reach it, so nothing a peer sends is
// trusted beyond what its token (and, under mutual TLS, its certificate)
// proves: connections that have not said hello have slots of their own and
// a short deadline; the token is compared by digest in constant time; a
// worker_id cannot be taken over by another peer; every session is checked
// against physical bounds (session.Bounds) before it is stored, and the
// decoder's caches are bounded in bytes. Every refusal is counted in
// Snapshot.
package ingest
