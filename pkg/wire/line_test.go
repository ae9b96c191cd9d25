package wire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// script is a reader that hands out its reads one by one: each is data, an
// error, or both, so that a test decides where reads split a line. A read
// bigger than the caller's buffer is handed out over several calls.
type script []read

type read struct {
	data string
	err  error
}

func (s *script) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	r := &(*s)[0]
	n := copy(p, r.data)
	r.data = r.data[n:]
	if r.data != "" {
		return n, nil
	}
	err := r.err
	*s = (*s)[1:]
	return n, err
}

// timeout is what a read deadline makes a net.Conn return.
var timeout = os.ErrDeadlineExceeded

func TestLineReaderNext(t *testing.T) {
	long := strings.Repeat("x", MaxLine)
	type want struct {
		line string // "" for none; for ErrLineTooLong, the excerpt's prefix
		err  error
	}
	tests := []struct {
		name  string
		reads script
		want  []want
	}{
		{
			name:  "lines in one read",
			reads: script{{data: "a\nbc\n\n"}},
			want:  []want{{"a\n", nil}, {"bc\n", nil}, {"\n", nil}, {"", io.EOF}},
		},
		{
			name:  "line split across reads",
			reads: script{{data: `{"type":`}, {data: `"ack",`}, {data: "\"seq\":1}\nnext\n"}},
			want:  []want{{`{"type":"ack","seq":1}` + "\n", nil}, {"next\n", nil}, {"", io.EOF}},
		},
		{
			name:  "line cut by a deadline is completed by the next call",
			reads: script{{data: "hal", err: timeout}, {err: timeout}, {data: "f\n"}},
			want:  []want{{"hal", timeout}, {"hal", timeout}, {"half\n", nil}, {"", io.EOF}},
		},
		{
			name:  "deadline between lines",
			reads: script{{data: "a\n", err: timeout}, {data: "b\n"}},
			want:  []want{{"a\n", nil}, {"", timeout}, {"b\n", nil}, {"", io.EOF}},
		},
		{
			name:  "EOF without newline",
			reads: script{{data: "whole\ncut"}},
			want:  []want{{"whole\n", nil}, {"cut", io.EOF}},
		},
		{
			name:  "exactly MaxLine",
			reads: script{{data: long[:MaxLine-1] + "\n" + "after\n"}},
			want:  []want{{long[:MaxLine-1] + "\n", nil}, {"after\n", nil}, {"", io.EOF}},
		},
		{
			name:  "exactly MaxLine after a deadline",
			reads: script{{data: "ab", err: timeout}, {data: long[:MaxLine-3] + "\n"}},
			want:  []want{{"ab", timeout}, {"ab" + long[:MaxLine-3] + "\n", nil}, {"", io.EOF}},
		},
		{
			name:  "one byte over MaxLine",
			reads: script{{data: long + "\n" + "after\n"}},
			want:  []want{{"xxxx", ErrLineTooLong}, {"after\n", nil}, {"", io.EOF}},
		},
		{
			name:  "over-long line skipped to the next newline",
			reads: script{{data: "y" + strings.Repeat("z", 3*MaxLine) + "\n" + "after\n"}},
			want:  []want{{"yzzz", ErrLineTooLong}, {"after\n", nil}, {"", io.EOF}},
		},
		{
			// A peer that is not a worker may never send a newline: the
			// collector refuses it on the first full buffer.
			name:  "over-long line reported before its newline arrives",
			reads: script{{data: long + "more"}, {err: timeout}},
			want:  []want{{"xxxx", ErrLineTooLong}, {"", timeout}},
		},
		{
			name:  "over-long line completed after a deadline",
			reads: script{{data: "y" + long[:MaxLine-10], err: timeout}, {data: long[:20] + "\n" + "after\n"}},
			want:  []want{{"y" + long[:MaxLine-10], timeout}, {"yxxx", ErrLineTooLong}, {"after\n", nil}, {"", io.EOF}},
		},
		{
			// MaxLine bytes without a newline are too long already.
			name:  "over-long line reaching the limit at a deadline",
			reads: script{{data: long, err: timeout}, {data: "tail\nafter\n"}},
			want:  []want{{"xxxx", ErrLineTooLong}, {"after\n", nil}, {"", io.EOF}},
		},
		{
			name:  "deadline while skipping an over-long line",
			reads: script{{data: long}, {err: timeout}, {data: "tail\nafter\n"}},
			want:  []want{{"xxxx", ErrLineTooLong}, {"", timeout}, {"after\n", nil}, {"", io.EOF}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads := tt.reads
			lr := NewLineReader(&reads)
			for i, w := range tt.want {
				line, err := lr.Next()
				if !errors.Is(err, w.err) {
					t.Fatalf("call %d: error %v; want %v", i, err, w.err)
				}
				if errors.Is(err, ErrLineTooLong) {
					if !bytes.HasPrefix(line, []byte(w.line)) || len(line) > excerptLen {
						t.Fatalf("call %d: over-long line reported with %q (%d bytes); want its start, at most %d bytes", i, trim(line), len(line), excerptLen)
					}
					continue
				}
				if string(line) != w.line {
					t.Fatalf("call %d: %q; want %q", i, trim(line), trim([]byte(w.line)))
				}
			}
		})
	}
}

// trim shortens a line for a failure message.
func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// TestLineReaderDoesNotAllocate reads lines that fit the buffer: they come
// back from it, not copied.
func TestLineReaderDoesNotAllocate(t *testing.T) {
	line := AppendSession(nil, 1, new(sampleSession()))
	data := bytes.Repeat(line, 1000)
	r := bytes.NewReader(data)
	lr := NewLineReader(r)
	allocs := testing.AllocsPerRun(900, func() {
		if _, err := lr.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per line, want 0", allocs)
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

// TestLineReader reads lines the way the sender's ack reader does: a line
// cut by a read deadline is completed by the next read, and an overlong line
// is skipped without losing the line after it.
func TestLineReader(t *testing.T) {
	client, server := tcpPair(t)
	lr := NewLineReader(client)

	if _, err := server.Write([]byte(`{"type":"ack",`)); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := lr.Next()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("first read: %v; want a timeout", err)
	}
	client.SetReadDeadline(time.Time{})
	long := append(bytes.Repeat([]byte("y"), MaxLine+5000), '\n')
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
		{"", ErrLineTooLong},
		{`{"type":"ack","seq":8}` + "\n", nil},
	}
	for i, w := range want {
		line, err := lr.Next()
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
