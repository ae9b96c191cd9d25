// Package ingesttest is a minimal worker-side protocol client for tests and
// load generation against a real collector: it keeps every session until it
// is acknowledged and, on reconnect, resends from the welcome's last_seq, as
// a worker must.
package ingesttest
