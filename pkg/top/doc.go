// Package top is `ntp-collector top`: a screen, refreshed every interval,
// of how the collector's interfaces are doing right now — per-interface
// rates, the top talkers, and the clients most recently left unanswered or
// sent a Kiss-o'-Death — read from the collector's HTTP API.
//
// A rate is the change of a running total between two samples divided by
// the time between them, so each one is only as fresh as its source:
//
//   - REQ/S: the session lines ingestion received from the interface's
//     workers (requests, plus the rare mode 1/2/5/6/7 packets, plus lines a
//     reconnecting worker resends), between this frame and the previous one.
//   - ANS%, UNANS/S, DROPS/S: the workers' own capture counters, which they
//     report every --stats-interval (10 s by default), over the latest of
//     those intervals.
//   - KOD/S: the KoD total of the interface statistics, which the collector
//     recomputes at most once a minute, between two recomputations.
//
// A rate reads "-" until its source has given two samples, and when a total
// went backwards (a worker restarted, old clients were cleaned up). The
// totals (clients, requests, KoD) are the interface statistics'.
//
// On a terminal the frame is redrawn in place with plain ANSI sequences
// (cursor home, erase) and q quits; elsewhere frames follow each other as
// plain text, or, with JSON, as one JSON object per line (Frame).
package top
