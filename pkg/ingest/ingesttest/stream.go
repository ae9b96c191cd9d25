package ingesttest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// sessionPrefix is what a session line holds before its seq.
const sessionPrefix = `{"type":"session","seq":`

// Bodies encodes n generated sessions over the given number of distinct
// clients and keeps each line after its seq, so that Stream can number them
// without encoding: load tests measure the collector, not the encoder.
func Bodies(n, clients int, seed uint64) [][]byte {
	g := storetest.NewGenerator(clients, seed)
	var s session.Session
	out := make([][]byte, n)
	for i := range out {
		g.Next(&s)
		line := wire.AppendSession(nil, 1, &s)
		out[i] = bytes.Clone(line[len(sessionPrefix+"1"):])
	}
	return out
}

// Stream opens one worker connection as workerID, sends n sessions numbered
// from 1 using bodies from offset on (cycling), and returns once the
// collector has acknowledged the last, or after timeout. Unlike Client it
// keeps nothing for resending: it is for load, not for fault tests.
func Stream(addr, workerID string, n int, bodies [][]byte, offset int, timeout time.Duration) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := nc.Write(wire.AppendHello(nil, &wire.Hello{Protocol: wire.Protocol, WorkerID: workerID, Interface: "eth0"})); err != nil {
		return err
	}
	br := bufio.NewReader(nc)
	dec := wire.NewDecoder()
	var m wire.Message
	line, err := br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if err := dec.Decode(line, &m); err != nil || m.Type != wire.TypeWelcome {
		return fmt.Errorf("welcome: %q %v", line, err)
	}
	acked := make(chan error, 1)
	go func() {
		var m wire.Message
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				acked <- fmt.Errorf("connection ended before the last ack: %w", err)
				return
			}
			if dec.Decode(line, &m) == nil && m.Type == wire.TypeAck && m.Seq >= uint64(n) {
				acked <- nil
				return
			}
		}
	}()
	bw := bufio.NewWriterSize(nc, 256<<10)
	var buf []byte
	for seq := 1; seq <= n; seq++ {
		buf = append(buf[:0], sessionPrefix...)
		buf = strconv.AppendInt(buf, int64(seq), 10)
		buf = append(buf, bodies[(offset+seq)%len(bodies)]...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	select {
	case err := <-acked:
		return err
	case <-time.After(timeout):
		return errors.New("no final ack in time")
	}
}
