// Package apiclienttest runs the collector's real HTTP API for tests of its
// clients: a SQLite store in a temporary directory, written through the
// store's real commit path, served by pkg/httpapi over a loopback TCP
// socket. It also holds Population, a small set of clients whose every
// figure is known, which the tests of the terminal commands check their
// output against (in-process here, and through the real ntp-collector
// binary and its ingestion port in cmd/ntp-collector).
package apiclienttest
