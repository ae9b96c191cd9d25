package worker

import (
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/capture"
	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/pairing"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// DecodeErrors counts packets that did not decode, by kind.
type DecodeErrors struct {
	Truncated uint64 // frame or headers cut short (snaplen, damage)
	// Cut counts datagrams that the snaplen cut after the UDP header. They
	// are not errors: the NTP header in the captured part is decoded and
	// paired, and packet_length still reports the whole datagram.
	Cut         uint64
	Unsupported uint64 // link type or EtherType not decoded
	Fragment    uint64 // IP fragments without the whole UDP datagram
	NotUDP      uint64
	Malformed   uint64 // contradictory IP/UDP header fields
	NTPShort    uint64 // NTP payload shorter than its mode needs
	NTPVersion  uint64 // NTP version 0 or above 4
	// NTPExtension counts NTP packets with a malformed extension field or
	// MAC after a whole header. They are still paired: the header is what
	// the server answers.
	NTPExtension uint64
}

// Total is the number of packets not used because they did not decode.
func (d DecodeErrors) Total() uint64 {
	return d.Truncated + d.Unsupported + d.Fragment + d.NotUDP + d.Malformed + d.NTPShort + d.NTPVersion
}

// Summary is what a run did.
type Summary struct {
	Packets  uint64
	Decode   DecodeErrors
	Pairing  pairing.Counters
	Abandon  int // requests still pending when a live capture stopped
	Capture  capture.Stats
	Sender   sender.Counters
	Duration time.Duration
}

func (w *Worker) stats() wire.Stats {
	c := w.table.Counters()
	cs, err := w.src.Stats()
	if err != nil {
		w.log.Debug("capture statistics unavailable", logging.KeyErr, err)
	}
	return wire.Stats{
		Time:           time.Now(),
		Packets:        w.packets,
		KernelReceived: cs.Received,
		KernelDrops:    cs.Dropped,
		InterfaceDrops: cs.InterfaceDropped,
		DecodeErrors:   w.decode.Total(),
		Pending:        uint64(c.Pending),
		Evicted:        c.Evicted,
		Sessions:       c.Sessions(),
		Answered:       c.Answered,
		Unanswered:     c.Unanswered,
		OtherModes:     c.OtherModes,
		Unmatched:      c.Unmatched,
	}
}

func (w *Worker) logSummary(s *Summary, flushErr error) {
	p := s.Pairing
	attrs := []any{
		"packets", s.Packets,
		"sessions", p.Sessions(),
		"answered", p.Answered,
		"unanswered", p.Unanswered,
		"kod", p.KoD,
		"other_modes", p.OtherModes,
		"control_queries", p.Control,
		"unmatched_responses", p.Unmatched,
		"duplicate_requests", p.Duplicates,
		"evicted", p.Evicted,
		"abandoned_pending", s.Abandon,
		"decode_errors", s.Decode.Total(),
		"cut_by_snaplen", s.Decode.Cut,
		"kernel_drops", s.Capture.Dropped,
		"interface_drops", s.Capture.InterfaceDropped,
		"sent", s.Sender.Sent,
		"acked", s.Sender.Acked,
		"lost", s.Sender.Lost,
		"shed_unanswered", s.Sender.Shed,
		"unacked", s.Sender.Seq - min(s.Sender.Acked, s.Sender.Seq),
		"duration", s.Duration.Round(time.Millisecond).String(),
	}
	if flushErr != nil {
		w.log.Warn("capture stopped; not every session was acknowledged", append(attrs, logging.KeyErr, flushErr)...)
		return
	}
	w.log.Info("capture stopped", attrs...)
}
