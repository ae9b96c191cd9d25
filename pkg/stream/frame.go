package stream

import (
	"strconv"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Event is one committed session, with the worker that sent it and the
// seq it had on that worker's connection.
type Event struct {
	WorkerID string
	Seq      uint64
	Session  session.Session
}

// Frames of the text/event-stream format (the HTML standard's Server-Sent
// Events): field lines, then a blank line; a line that starts with a colon
// is a comment, which clients ignore and proxies see as traffic.
const (
	sessionPrefix = "event: session\ndata: "
	droppedPrefix = "event: dropped\ndata: {\"dropped\":"
)

// appendSession appends the session frame of e: its data is the session
// line exactly as a worker sends it (type, seq and every field, see package
// wire) with the worker_id added. A JSON line holds no raw newline, so it
// is one data line.
func appendSession(b []byte, enc *wire.Encoder, e *Event) []byte {
	b = append(b, sessionPrefix...)
	b = enc.AppendSession(b, e.Seq, &e.Session)
	// The line ends in "}\n": worker_id goes inside the object.
	b = b[:len(b)-2]
	b = append(b, `,"worker_id":`...)
	b = wire.AppendString(b, e.WorkerID)
	return append(b, "}\n\n"...)
}

// AppendDropped appends the frame that tells a subscriber n events were
// dropped because its buffer was full.
func AppendDropped(b []byte, n uint64) []byte {
	b = append(b, droppedPrefix...)
	b = strconv.AppendUint(b, n, 10)
	return append(b, "}\n\n"...)
}

// AppendComment appends a comment frame, such as a heartbeat: clients
// ignore it, and it keeps proxies and idle timers from closing a quiet
// stream. text must not hold a newline.
func AppendComment(b []byte, text string) []byte {
	b = append(b, ": "...)
	b = append(b, text...)
	return append(b, "\n\n"...)
}
