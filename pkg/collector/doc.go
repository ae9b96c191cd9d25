// Package collector runs the parts of the ntp-collector daemon — ingestion,
// HTTP API, worker supervisor — as one unit: they start together, the first
// to fail stops the others, and on shutdown they stop one at a time in a
// fixed order.
//
// The parts themselves are built in cmd/ntp-collector (flags into configs)
// and handed here as run functions; this package only orders their start and
// stop. It must not reach into any part: a part that needs another gets it
// from main, not from the group.
package collector
