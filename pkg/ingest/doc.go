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
// server.go holds the Server, its listener and its shutdown; conn.go one
// connection's lifecycle and its acks; read.go its reader (hello, sessions,
// bad lines); worker.go what is known of a worker run across connections;
// writer.go the batch writer and its commits; snapshot.go and kinds.go what
// the server counts and reports; config.go its settings.
package ingest
