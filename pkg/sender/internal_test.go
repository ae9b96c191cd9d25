package sender

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, 3, time.Millisecond, time.Second, time.Minute} {
		for range 1000 {
			j := jitter(d)
			if d < 2 && j != d || d >= 2 && (j < d/2 || j >= d) {
				t.Fatalf("jitter(%v) = %v; want within [%v, %v)", d, j, d/2, d)
			}
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestLineReader reads lines the way the ack reader does: a line cut by a
// read deadline is completed by the next read, and an overlong line is
// skipped without losing the line after it.
func TestLineReader(t *testing.T) {
	client, server := tcpPair(t)
	br := bufio.NewReaderSize(client, 4096)
	var lr lineReader

	if _, err := server.Write([]byte(`{"type":"ack",`)); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := lr.next(br)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("first read: %v; want a timeout", err)
	}
	client.SetReadDeadline(time.Time{})
	long := append(bytes.Repeat([]byte("y"), wire.MaxLine+5000), '\n')
	go func() {
		server.Write([]byte("\"seq\":7}\n"))
		server.Write(long)
		server.Write([]byte("{\"type\":\"ack\",\"seq\":8}\n"))
	}()

	want := []struct {
		line string
		err  error
	}{
		{`{"type":"ack","seq":7}` + "\n", nil},
		{"", errLineTooLong},
		{`{"type":"ack","seq":8}` + "\n", nil},
	}
	for i, w := range want {
		line, err := lr.next(br)
		if !errors.Is(err, w.err) {
			t.Fatalf("line %d: error %v; want %v", i, err, w.err)
		}
		if w.err == nil && string(line) != w.line {
			t.Fatalf("line %d: %q; want %q", i, line, w.line)
		}
		if w.err != nil && (len(line) == 0 || len(line) > 400 || line[0] != 'y') {
			t.Fatalf("line %d: overlong line reported with %d bytes of context; want its start, at most 400 bytes", i, len(line))
		}
	}
}
