package httpapi

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
)

// TestSlowloris holds 300 connections that send their request headers a
// byte at a time, as a slowloris attack does, and checks that a good client
// is still answered while they hang on, that the server closes every one of
// them once its header deadline (ReadHeaderTimeout) passes whatever they
// keep sending, and that the descriptors and heap they held are given back.
func TestSlowloris(t *testing.T) {
	ts := newTestServer(t, openStore(t), nil)
	base := startHTTP(t, ts.srv)
	addr := strings.TrimPrefix(base, "http://")
	get := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/health", nil)
		req.Host = "localhost"
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("a good client during the attack: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("/health before the attack: %d", code)
	}
	fdsBefore, heapBefore := procstat.SelfFDs(t), procstat.HeapInUse()

	const slow = 300
	conns := make([]net.Conn, 0, slow)
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: localhost\r\nX-a: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Each connection goes on sending a byte a second and watches for the
	// server to close it.
	closed := make(chan time.Duration, slow)
	start := time.Now()
	for _, c := range conns {
		go func() {
			buf := make([]byte, 512)
			for {
				if _, err := c.Write([]byte("a")); err != nil {
					closed <- time.Since(start)
					return
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				_, err := c.Read(buf)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue // still open, nothing said
				}
				// EOF, a reset, or the 408 the server writes before it
				// closes: the server gave the connection up.
				closed <- time.Since(start)
				return
			}
		}()
	}
	time.Sleep(time.Second)
	fdsDuring, heapDuring := procstat.SelfFDs(t), procstat.HeapInUse()
	if code := get(); code != http.StatusOK {
		t.Errorf("/health for a good client while %d slow ones hang on: %d", slow, code)
	}
	// Both ends of each connection are in this process: at most two
	// descriptors each, and a bounded heap.
	if grew := fdsDuring - fdsBefore; grew > 2*slow+16 {
		t.Errorf("descriptors grew by %d for %d connections", grew, slow)
	}
	var last time.Duration
	deadline := time.After(2 * time.Minute) // a hang, not a speed check
	for range slow {
		select {
		case d := <-closed:
			last = max(last, d)
		case <-deadline:
			t.Fatalf("the server kept slow connections open for 2 minutes (ReadHeaderTimeout is %v)", ts.srv.srv.ReadHeaderTimeout)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	var fdsAfter int
	for range 50 { // closed sockets leave the table asynchronously
		if fdsAfter = procstat.SelfFDs(t); fdsAfter <= fdsBefore+8 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fdsAfter > fdsBefore+8 {
		t.Errorf("descriptors: %d before, %d after the slow connections were closed", fdsBefore, fdsAfter)
	}
	if code := get(); code != http.StatusOK {
		t.Errorf("/health after the attack: %d", code)
	}
	heapAfter := procstat.HeapInUse()
	t.Logf("%d slow connections: fds %d → %d → %d, heap in use %.1f → %.1f → %.1f MiB; the last one closed by the server after %v (ReadHeaderTimeout %v)",
		slow, fdsBefore, fdsDuring, fdsAfter, mib(heapBefore), mib(heapDuring), mib(heapAfter), last.Round(100*time.Millisecond), ts.srv.srv.ReadHeaderTimeout)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
