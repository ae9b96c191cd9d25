// Package stream hands the sessions of every committed batch to live
// subscribers: the collector's GET /api/ntp/stream, which an operator
// watches to see whether a client reaches the server right now and what it
// is answered.
//
// A [Broadcaster] sits after the store. The ingestion writer calls
// [Broadcaster.Publish] once per committed batch, so a subscriber sees
// exactly what the store holds, never a session that a failed commit will
// bring again. Publish never waits for a subscriber: each [Subscriber] has
// a bounded buffer of ready-to-send Server-Sent Events frames, and an event
// that finds its buffer full is dropped and counted. The subscriber learns
// how many it lost from an "event: dropped" frame that follows the events
// it did get. A slow browser therefore costs the writer the filter checks
// and a copy per event it buffers, and nothing more.
//
// Each event is encoded once, by the first subscriber that wants it, with
// package wire's encoder (the session line as a worker sends it, plus the
// worker_id), and copied into every matching subscriber's buffer. When no
// one subscribes, [Broadcaster.Listening] is false and the writer does not
// even keep the batch's sessions.
//
// A [Filter] selects the sessions of one subscriber; it is checked in
// Publish, so events a subscriber does not want never take room in its
// buffer. The HTTP API parses filters from query parameters; this package
// only matches them.
//
// Subscribers are capped (Config.MaxSubscribers): a live stream is for
// troubleshooting, not for replication, and every subscriber adds work to
// the commit path. Nothing is replayed: a subscriber sees the batches
// committed after it subscribed.
//
// # Files
//
//   - broadcaster.go: [Broadcaster], [Config], Publish and the counters.
//   - subscriber.go: [Subscriber], its buffer and what it hands the writer.
//   - filter.go: [Filter].
//   - frame.go: [Event] and the text/event-stream frames.
//   - errors.go: the errors.
package stream
