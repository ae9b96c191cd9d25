// Package session defines the record that a worker produces for every NTP
// request it sees: the request, the server's response when there is one, and
// the timings derived from both. The record travels from worker to collector
// and is folded into one store row per client and interface.
//
// Bounds (bounds.go) are the physical limits of a session's fields, which a
// receiver checks a session against before it trusts it: the Violation a
// session breaks names why it was refused.
//
// # Where it sits
//
// Package pairing makes a Session from a request and its response; package
// wire encodes it on the worker and decodes it on the collector (the
// session JSON of the protocol); package store folds it into its client
// row. The package holds only the record, its time format (time.go), its
// bounds and the limits both ends share (limits.go): it must not import any
// of the packages that use it.
package session
