// Package logging holds what every ntp-monitor package shares about its
// log/slog output, so that both commands and both ends of the protocol log
// alike.
//
// # Building the logger
//
// New builds the *slog.Logger of a command from its --log-level and
// --log-format settings. Packages never build loggers of their own: each
// takes one in its Config, and a nil Config.Logger means slog.Default() in
// every package, so that a program that sets the default logger once sees
// every package's messages.
//
// # Keys
//
// Attribute keys that several packages write are constants here (KeyErr,
// KeySuppressed), so that one grep or one log query finds them all:
//
//	log.Warn("ack write failed", logging.KeyErr, err)
//
// # Rate limits
//
// A Limiter lets a few messages of one kind through per window and counts
// the rest; the next message that gets through carries that count under
// KeySuppressed. A peer that sends garbage at line rate cannot flood the
// log, and the operator still learns how much was left out:
//
//	bad := logging.Limiter{Burst: 10, Window: 10 * time.Second}
//	bad.Log(ctx, log, slog.LevelWarn, "bad line from worker skipped", logging.KeyErr, err)
//
// The package imports nothing of the project: it sits at the bottom of the
// package graph, and it keeps no package-level state.
package logging
