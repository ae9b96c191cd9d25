package sender

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// sink is a lean collector for benchmarks: it decodes every line with
// wire.Decoder, as the real one does (or, with decode false, only reads the
// seq, to show the sender's own limit), and acknowledges the highest seq
// whenever its input buffer runs dry, so acks keep pace with whatever rate
// the sender reaches.
func sink(b *testing.B, decode bool) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	conns := make(chan net.Conn, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- conn
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serveSink(conn, decode)
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		close(conns)
		for c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	return ln.Addr().String()
}

func serveSink(conn net.Conn, decode bool) {
	br := bufio.NewReaderSize(conn, 256<<10)
	dec := wire.NewDecoder()
	var (
		m     wire.Message
		hw    uint64
		acked uint64
		out   []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if !decode && bytes.HasPrefix(line, sessionPrefix) {
			rest := line[len(sessionPrefix):]
			end := bytes.IndexByte(rest, ',')
			if end < 0 {
				panic("sink: no seq in " + string(line))
			}
			seq, err := strconv.ParseUint(string(rest[:end]), 10, 64)
			if err != nil {
				panic("sink: " + err.Error())
			}
			m.Type, m.Seq = wire.TypeSession, seq
		} else if err := dec.Decode(line, &m); err != nil {
			panic("sink: " + err.Error())
		}
		switch m.Type {
		case wire.TypeHello:
			out = wire.AppendWelcome(out[:0], 0)
			if _, err := conn.Write(out); err != nil {
				return
			}
		case wire.TypeSession:
			hw = m.Seq
		}
		if br.Buffered() == 0 && hw > acked {
			acked = hw
			out = wire.AppendAck(out[:0], hw)
			if _, err := conn.Write(out); err != nil {
				return
			}
		}
	}
}

var sessionPrefix = []byte(`{"type":"session","seq":`)

func benchSender(b *testing.B, addr string, block bool) (*Sender, func()) {
	s := New(Config{Addr: addr, Spool: DefaultSpool, Block: block, Interface: "bench0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	for !s.Counters().Connected {
		time.Sleep(time.Millisecond)
	}
	return s, func() { cancel(); <-done }
}

// BenchmarkSend measures the capture loop's cost per session with the whole
// pipeline running (writer encoding, a loopback collector decoding and
// acking), and, as references, Send into a spool nothing drains and the
// encoding of one line.
func BenchmarkSend(b *testing.B) {
	sess := genSession(1)
	b.Run("loopback", func(b *testing.B) {
		s, stop := benchSender(b, sink(b, true), false)
		defer stop()
		b.ReportAllocs()
		for b.Loop() {
			s.Send(&sess)
		}
		b.StopTimer()
		c := s.Counters()
		b.ReportMetric(float64(c.Lost)/float64(b.N), "lost/op")
	})
	b.Run("spool-only", func(b *testing.B) {
		s := New(Config{Addr: "127.0.0.1:1", Spool: DefaultSpool})
		b.ReportAllocs()
		for b.Loop() {
			s.Send(&sess)
		}
	})
	b.Run("encode-only", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		var seq uint64
		for b.Loop() {
			seq++
			buf = wire.AppendSession(buf[:0], seq, &sess)
		}
	})
}

// BenchmarkEndToEnd sends b.N sessions without loss (Block=true) to a
// loopback collector and waits until the last one is acknowledged. With
// "decode" the collector decodes every line as the real one does and the
// machine's two cores are shared between both ends; "seq-only" reads just
// the seq and shows what the sender alone sustains.
func BenchmarkEndToEnd(b *testing.B) {
	for _, bc := range []struct {
		name   string
		decode bool
	}{{"decode", true}, {"seq-only", false}} {
		b.Run(bc.name, func(b *testing.B) {
			s, stop := benchSender(b, sink(b, bc.decode), true)
			defer stop()
			sessions := make([]session.Session, 1024)
			for i := range sessions {
				sessions[i] = genSession(uint64(i + 1))
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				s.Send(&sessions[i%len(sessions)])
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
		})
	}
}
