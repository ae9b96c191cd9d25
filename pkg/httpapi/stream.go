package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// streamStall is how long one write to a live stream may wait for the
// client to read: a reader that is slow only loses events (package
// stream), one that reads nothing for this long is gone and its place
// under the cap is freed.
const streamStall = time.Minute

// streamSessions is GET /api/ntp/stream: the sessions of every batch
// committed from now on, as Server-Sent Events, filtered by the query
// (parseStreamQuery). Frames come from package stream: "event: session"
// with the session line as data, "event: dropped" when this subscriber
// fell behind, and heartbeat comments every Config.StreamHeartbeat. The
// stream ends when the client goes, when a write stalls for streamStall,
// or at shutdown; nothing is replayed, whatever Last-Event-ID says.
func (s *Server) streamSessions(c *gin.Context) {
	f, err := parseStreamQuery(c.Request.URL.RawQuery)
	if err != nil {
		badRequest(c, err)
		return
	}
	b := s.cfg.Stream
	if b == nil {
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "this collector runs without the session stream")
		return
	}
	sub, err := b.Subscribe(f)
	switch {
	case errors.Is(err, stream.ErrTooMany):
		c.Header("Retry-After", "10")
		fail(c, http.StatusServiceUnavailable, CodeTooManyStreams, fmt.Sprintf(
			"%d live streams are open, the most this collector allows (--max-stream-clients); close one or raise the limit", b.MaxSubscribers()))
		return
	case err != nil:
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the session stream is shut down")
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(c.Writer)
	// The server's read timeout would end the request's context while it
	// streams: a GET has nothing more to read.
	_ = rc.SetReadDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// nginx would otherwise buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	write := func(p []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamStall))
		if _, err := c.Writer.Write(p); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The first comment sends the headers: the client knows it is
	// subscribed before the first batch commits.
	if write(stream.AppendComment(nil, "connected: sessions committed from now on; nothing is replayed")) != nil {
		return
	}
	heartbeat := stream.AppendComment(nil, "heartbeat")
	tick := time.NewTicker(s.cfg.StreamHeartbeat)
	defer tick.Stop()
	ctx := c.Request.Context()
	var buf []byte
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case <-sub.Done():
			return
		case <-sub.Ready():
			if buf = sub.Take(buf); len(buf) > 0 {
				err = write(buf)
			}
		case <-tick.C:
			err = write(heartbeat)
		}
		if err != nil {
			s.log.DebugContext(ctx, "live stream ended", "client", c.ClientIP(), logging.KeyErr, err)
			return
		}
	}
}
