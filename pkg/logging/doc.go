// Package logging holds what every ntp-monitor package shares about its
// log/slog output, so that both commands and both ends of the protocol log
// alike.
//
// # Building the logger
//
// New builds the *slog.Logger of a command from its --log-level and
// --log-format settings. Packages never build loggers of their own: each
// takes one in its Config.
//
// # Keys
//
// Attribute keys that several packages write are constants here (KeyErr,
// KeySuppressed), so that one grep or one log query finds them all:
//
//	log.Warn("ack write failed", logging.KeyErr, err)
//
// The package imports nothing of the project: it sits at the bottom of the
// package graph, and it keeps no package-level state.
package logging
