// Package wire is the worker → collector protocol: newline-delimited JSON
// messages over one TCP connection per worker. It is what both ends share;
// the worker's end is package sender, the collector's package ingest.
//
// # Conversation
//
// A worker opens with a hello; the collector answers welcome (with the highest
// sequence number it has committed for that worker) or error. The worker then
// streams session lines with strictly increasing seq and periodic stats lines;
// the collector acknowledges each committed batch with an ack carrying the
// highest committed seq. Every message is one JSON object on one line of at
// most MaxLine bytes.
//
// # Optional keys
//
// Protocol 1 grows by optional keys only, so that workers and collectors of
// different releases work together: Decode ignores keys it does not know,
// and the Append functions leave a key out while it has its default value,
// which is what Decode reads from its absence (a hello's secret, a
// session's snaplen_cut).
//
// # Reading lines
//
// Both ends read through a LineReader, which returns each line from its
// buffer, keeps a line cut by a read deadline for the next call, and skips a
// line over MaxLine (reported as ErrLineTooLong) without losing the line
// after it.
//
// # Encoding and decoding
//
// Encoding and decoding are hand-written: the collector decodes every session
// it stores, and encoding/json would cost more than the store does. The
// Append functions (encode.go) write one line each. A Decoder reads a line
// into a Message in two layers: a lexer for the flat JSON objects of the
// protocol (lexer.go), and the mapping of each message type's keys onto its
// fields (decode.go). It interns the strings and addresses it has seen
// (cache.go), so that a steady stream of sessions decodes without
// allocating.
//
// # Logging lines
//
// A line that fails to decode is logged by its receiver; Redact (redact.go)
// hides the token and secret a hello may carry before it is.
//
// The package does no I/O of its own beyond LineReader's reads, holds no
// connection state, and knows nothing of the store: a session is decoded
// into a session.Session and handed on.
package wire
