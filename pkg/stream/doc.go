// Package stream hands the sessions of every committed batch to live
// subscribers: the collector's GET /api/ntp/stream, which an operator
// watches to see whether a client reaches the server right now and what it
// is answered.
//
// A [Broadcaster] sits after the store. While the ingestion writer builds
// a batch for the store it offers each session to a [Batch], which keeps
// those the subscribers' filters select and their queues could take, and
// counts the rest; once the batch is committed the writer calls
// [Broadcaster.Publish] with it, so a subscriber sees exactly what the
// store holds, never a session that a failed commit will bring again.
// Publish never waits for a subscriber: each [Subscriber] has a bounded
// queue of ready-to-send Server-Sent Events frames, and an event that finds
// its queue full is dropped and counted. The subscriber learns how many it
// lost from an "event: dropped" frame that follows the events it did get.
//
// Both run on ingestion's path, so what they do per subscriber is kept to
// a pointer: subscribers are grouped by filter and each distinct filter is
// checked once per session; each event some subscriber has room for is
// encoded once, with package wire's encoder (the session line as a worker
// sends it, plus the worker_id), into memory of its own; and every
// matching subscriber's queue gets a reference to that frame. The copy
// into a response buffer is made by [Subscriber.Take] on the subscriber's
// own goroutine, at most 64 KiB at a time. Thirty-two browsers watching
// everything therefore hold one copy of the frames they have not read, not
// thirty-two, and a batch of 50,000 sessions keeps the 2,048 they can
// take. When no one subscribes, [Broadcaster.Listening] is false and a
// Batch keeps nothing.
//
// A [Filter] selects the sessions of one subscriber; it is checked in
// the Batch and in Publish, so events a subscriber does not want never take room in its
// queue. The HTTP API parses filters from query parameters; this package
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
//   - batch.go: [Batch], the sessions of a batch kept for Publish.
//   - subscriber.go: [Subscriber], its queue and what it hands the writer.
//   - filter.go: [Filter].
//   - frame.go: [Event] and the text/event-stream frames.
//   - errors.go: the errors.
package stream
