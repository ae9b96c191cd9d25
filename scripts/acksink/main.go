// Command acksink is the smallest collector a worker can stream to: it
// welcomes every worker, reads its lines and acknowledges the highest
// session seq every few milliseconds, storing nothing. The worker
// benchmark uses it so that the worker, not the store, is measured.
//
//	go run ./scripts/acksink -listen 127.0.0.1:10099
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:10099", "address to listen on")
	ackEvery := flag.Duration("ack-every", 5*time.Millisecond, "how often to acknowledge")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "acksink listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, *ackEvery)
	}
}

var seqKey = []byte(`"seq":`)

func serve(c net.Conn, every time.Duration) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 1<<20)
	if _, err := r.ReadSlice('\n'); err != nil { // hello
		return
	}
	var mu sync.Mutex
	var high, sent uint64
	var lines uint64
	if _, err := c.Write(wire.AppendWelcome(nil, 0)); err != nil {
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var buf []byte
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			mu.Lock()
			h := high
			mu.Unlock()
			if h > sent {
				buf = wire.AppendAck(buf[:0], h)
				if _, err := c.Write(buf); err != nil {
					return
				}
				sent = h
			}
		}
	}()
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			fmt.Fprintf(os.Stderr, "acksink: %v after %d lines, highest seq %d\n", err, lines, high)
			return
		}
		lines++
		if !bytes.HasPrefix(line, []byte(`{"type":"session"`)) {
			continue
		}
		i := bytes.Index(line, seqKey)
		if i < 0 {
			continue
		}
		j := i + len(seqKey)
		k := j
		for k < len(line) && line[k] >= '0' && line[k] <= '9' {
			k++
		}
		seq, err := strconv.ParseUint(string(line[j:k]), 10, 64)
		if err != nil {
			continue
		}
		mu.Lock()
		if seq > high {
			high = seq
		}
		mu.Unlock()
	}
}
