package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/capture"
	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/pairing"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// controlWarnEvery rate-limits the warning about mode 6/7 queries.
const controlWarnEvery = time.Minute

// Packets that do not decode are logged at most decodeLogBurst times per
// decodeLogWindow: enough to see who sends them and why, never a flood
// when a host sends nothing else. Every one is counted in decode_errors.
const (
	decodeLogBurst  = 10
	decodeLogWindow = time.Minute
)

// Worker runs one capture.
type Worker struct {
	cfg Config
	log *slog.Logger
	snd *sender.Sender

	src   *capture.Source
	table *pairing.Table

	packets uint64
	decode  DecodeErrors
	fr      frame.Frame
	msg     ntp.Packet
	pkt     pairing.Packet

	// controlWarn rate-limits the warning about mode 6/7 queries.
	controlWarn logging.Limiter
	// decodeLog rate-limits the log lines of packets that did not decode.
	decodeLog logging.Limiter
}

// New opens the capture named by cfg. It fails with a clear error for a
// missing interface, missing permission or an unreadable file; nothing is
// sent until Run.
func New(cfg Config, snd *sender.Sender) (*Worker, error) {
	cfg = cfg.withDefaults()
	if cfg.Interface == "" {
		return nil, errors.New("no interface: name one with --interface, or read a capture with --pcap-file")
	}
	ccfg := capture.Config{Port: cfg.Port, Snaplen: cfg.Snaplen, BufferSize: cfg.BufferSize, Engine: cfg.Engine, BlockSize: cfg.BlockSize}
	var (
		src *capture.Source
		err error
	)
	if cfg.PcapFile != "" {
		src, err = capture.OpenFile(cfg.PcapFile, ccfg)
	} else {
		src, err = capture.OpenLive(cfg.Interface, ccfg)
	}
	if err != nil {
		return nil, err
	}
	if !src.LinkType().Supported() {
		src.Close()
		return nil, fmt.Errorf("capture %s: link type %v is not supported (Ethernet, 802.1Q, Linux cooked v1/v2 and raw IP are)", cfg.Interface, src.LinkType())
	}
	w := &Worker{
		cfg: cfg,
		log: cfg.Logger.With("interface", cfg.Interface),
		snd: snd,
		src: src,

		controlWarn: logging.Limiter{Window: controlWarnEvery},
		decodeLog:   logging.Limiter{Burst: decodeLogBurst, Window: decodeLogWindow},
	}
	w.table = pairing.New(pairing.Config{
		Port:       cfg.Port,
		Timeout:    cfg.Timeout,
		MaxPending: cfg.MaxPending,
		Interface:  cfg.Interface,
	}, w.emit)
	w.pkt.NTP = &w.msg
	return w, nil
}

// emit hands one session to the sender; the pointer is only valid during
// the call, and Send copies it.
func (w *Worker) emit(s *session.Session) {
	if s.Mode == ntp.ModeControl || s.Mode == ntp.ModePrivate {
		if held, ok := w.controlWarn.Allow(); ok {
			// Mode 6/7 queries can be abused for amplification (mode 7
			// monlist is CVE-2013-5211); the collector counts them per
			// client, the log says that they happen. The count includes
			// this query.
			w.log.Warn("NTP control query (mode 6/7) to the server: an amplification vector; restrict it (ntpd: restrict default noquery)",
				"client", s.ClientIP, "mode", s.Mode, "queries_since_last_warning", held+1)
		}
	}
	w.snd.Send(s)
}

// Run captures until ctx is done or the file ends, then flushes. It runs
// the sender for its whole duration. The error is nil when every session
// produced was acknowledged (for a file) or the capture stopped cleanly
// (live; sessions not acknowledged within ShutdownFlush are reported in the
// summary log line).
func (w *Worker) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	// The sender outlives ctx: after a SIGTERM it still has to deliver
	// what the capture produced.
	sctx, stopSender := context.WithCancel(context.WithoutCancel(ctx))
	senderDone := make(chan struct{})
	var senderErr error
	go func() {
		senderErr = w.snd.Run(sctx)
		close(senderDone)
	}()
	defer func() {
		stopSender()
		<-senderDone
	}()
	// Once ctx ends, the sender gets ShutdownFlush more to deliver; then it
	// stops, which also releases a capture loop blocked in Send on a full
	// spool (a file read while the collector is down).
	go func() {
		select {
		case <-ctx.Done():
		case <-senderDone:
			return
		}
		t := time.NewTimer(w.cfg.ShutdownFlush)
		defer t.Stop()
		select {
		case <-t.C:
			stopSender()
		case <-senderDone:
		}
	}()

	w.log.Info("capture started", "source", w.source(), "engine", w.src.Engine(), "link_type", w.src.LinkType().String(), "port", w.cfg.Port)
	capErr := w.loop(ctx, senderDone, &senderErr)
	w.src.Close()

	var sum Summary
	live := w.cfg.PcapFile == ""
	if !live && !errors.Is(capErr, context.Canceled) {
		// The capture file is over (or unreadable from here on): no
		// pending request can be answered any more.
		w.table.ExpireAll()
	} else {
		// Pending requests younger than the timeout may still have been
		// answered after we stopped looking. Calling them unanswered would
		// be false; they never became sessions, so dropping them loses
		// nothing that was reported. They are counted.
		sum.Abandon = w.table.Drop()
	}
	st := w.stats()
	w.snd.SendStats(&st)

	// Whatever ended the capture, what it produced is delivered: a file
	// read to its end waits as long as ctx allows, anything else at most
	// ShutdownFlush.
	var fctx context.Context
	var cancel context.CancelFunc
	if !live && capErr == nil {
		fctx, cancel = context.WithCancel(ctx)
	} else {
		fctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), w.cfg.ShutdownFlush)
	}
	flushErr := w.snd.Flush(fctx)
	cancel()
	stopSender()
	<-senderDone

	sum.Packets = w.packets
	sum.Decode = w.decode
	sum.Pairing = w.table.Counters()
	sum.Capture, _ = w.src.Stats()
	sum.Sender = w.snd.Counters()
	sum.Duration = time.Since(start)
	w.logSummary(&sum, flushErr)

	if capErr != nil && !errors.Is(capErr, context.Canceled) {
		return sum, capErr
	}
	if flushErr != nil && !live && ctx.Err() == nil {
		return sum, fmt.Errorf("capture file %s: %w", w.cfg.PcapFile, flushErr)
	}
	return sum, nil
}

func (w *Worker) source() string {
	if w.cfg.PcapFile != "" {
		return w.cfg.PcapFile
	}
	return w.cfg.Interface
}

// loop reads packets until ctx is done (context.Canceled), the file ends
// (nil) or the capture fails.
func (w *Worker) loop(ctx context.Context, senderDone <-chan struct{}, senderErr *error) error {
	tick := time.NewTicker(w.cfg.StatsInterval)
	defer tick.Stop()
	live := w.src.Live()
	link := w.src.LinkType()
	done := ctx.Done()
	check := true
	for n := uint(0); ; n++ {
		// The channels are looked at every 256 packets and whenever the
		// capture is idle: a select per packet would cost a tenth of
		// the packet budget at a million packets a second.
		if check || n&255 == 0 {
			check = false
			select {
			case <-done:
				return context.Canceled
			case <-senderDone:
				return fmt.Errorf("sender stopped: %w", *senderErr)
			case <-tick.C:
				st := w.stats()
				w.snd.SendStats(&st)
				w.log.Debug("stats", "packets", st.Packets, "pending", st.Pending, "sessions", st.Sessions,
					"unanswered", st.Unanswered, "kernel_drops", st.KernelDrops, "decode_errors", st.DecodeErrors)
			default:
			}
		}
		data, ts, err := w.src.Next()
		switch {
		case err == nil:
		case errors.Is(err, capture.ErrTimeout):
			// No packet for a read timeout: the kernel buffer is empty,
			// so any response would have been read by now.
			if live {
				w.table.Expire(time.Now())
			}
			check = true
			continue
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
		w.packets++
		w.handle(link, data, ts)
	}
}

// handle decodes one packet and feeds it to the table.
func (w *Worker) handle(link frame.LinkType, data []byte, ts time.Time) {
	cut := false
	if err := frame.Decode(link, data, &w.fr); err != nil {
		// A datagram cut by the snaplen still carries the NTP header (the
		// default snaplen keeps 48 bytes of NTP behind any header stack):
		// long mode 6 replies and extension fields are cut routinely.
		cut = errors.Is(err, frame.ErrCut) && len(w.fr.Payload) > 0
		switch {
		case cut:
			w.decode.Cut++
		case errors.Is(err, frame.ErrTruncated):
			w.decode.Truncated++
		case errors.Is(err, frame.ErrFragment):
			w.decode.Fragment++
		case errors.Is(err, frame.ErrNotUDP):
			w.decode.NotUDP++
		case errors.Is(err, frame.ErrMalformed):
			w.decode.Malformed++
		default:
			w.decode.Unsupported++
		}
		if !cut {
			w.logDecodeError(err)
			return
		}
	}
	if err := ntp.Decode(w.fr.Payload, &w.msg); err != nil {
		switch {
		case errors.Is(err, ntp.ErrExtension):
			w.decode.NTPExtension++ // the header is whole: pair it
		case errors.Is(err, ntp.ErrVersion):
			w.decode.NTPVersion++
			w.logDecodeError(err)
			return
		default:
			w.decode.NTPShort++
			w.logDecodeError(err)
			return
		}
	}
	if cut {
		w.msg.Length = w.fr.Length
	}
	w.pkt.Time = ts
	w.pkt.Src, w.pkt.Dst = w.fr.Src, w.fr.Dst
	w.pkt.SrcPort, w.pkt.DstPort = w.fr.SrcPort, w.fr.DstPort
	w.pkt.Cut = cut
	w.table.Add(&w.pkt)
}

// logDecodeError logs a packet that was dropped because it did not decode:
// why, and the client it came from or went to when the headers got that
// far. It is off the path of packets that decode, and allocates only for a
// line the limiter lets through.
func (w *Worker) logDecodeError(err error) {
	held, ok := w.decodeLog.Allow()
	if !ok {
		return
	}
	args := []any{"reason", err.Error()}
	if client := w.client(); client != "" {
		args = append(args, "client", client)
	}
	if held > 0 {
		args = append(args, logging.KeySuppressed, held)
	}
	w.log.Warn("packet did not decode; counted in decode_errors", args...)
}

// client is the client end of the frame decoded last, as far as it was
// decoded: address and port, the address alone, or "" before the IP
// header. A packet from the server's port is a response, sent to the
// client.
func (w *Worker) client() string {
	addr, port := w.fr.Src, w.fr.SrcPort
	if w.fr.SrcPort == w.cfg.Port && w.fr.DstPort != w.cfg.Port {
		addr, port = w.fr.Dst, w.fr.DstPort
	}
	switch {
	case !addr.IsValid():
		return ""
	case port == 0:
		return addr.String()
	}
	return netip.AddrPortFrom(addr, port).String()
}
