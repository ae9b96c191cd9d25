package sender_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// A worker reading a capture file: nothing may be lost, so Send waits when
// the spool is full, and at the end the worker waits for every ack.
func Example() {
	s := sender.New(sender.Config{
		Addr:      "127.0.0.1:10000",
		WorkerID:  sender.NewWorkerID(),
		Interface: "capture.pcap",
		Block:     true,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	var sess session.Session
	for range 3 { // the capture loop
		sess.Timestamp = time.Now()
		s.Send(&sess)
	}

	flushCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Flush(flushCtx); err != nil {
		slog.Error("not every session reached the collector", "error", err)
	}
	stop()
	<-done
	c := s.Counters()
	slog.Info("done", "sent", c.Sent, "acked", c.Acked, "lost", c.Lost)
}
