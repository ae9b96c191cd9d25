package httpapi

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// worker speaks the worker side of the protocol over a real TCP connection.
type worker struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	dec  *wire.Decoder
}

func dialWorker(t *testing.T, addr, id, iface string) *worker {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &worker{t: t, conn: conn, r: bufio.NewReader(conn), dec: wire.NewDecoder()}
	w.send(wire.AppendHello(nil, &wire.Hello{Protocol: wire.Protocol, WorkerID: id, Interface: iface}))
	if m := w.read(); m.Type != wire.TypeWelcome {
		t.Fatalf("hello answered with %v", m.Type)
	}
	return w
}

func (w *worker) send(b []byte) {
	w.t.Helper()
	w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := w.conn.Write(b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *worker) read() wire.Message {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := w.r.ReadBytes('\n')
	if err != nil {
		w.t.Fatalf("read from collector: %v", err)
	}
	var m wire.Message
	if err := w.dec.Decode(line, &m); err != nil {
		w.t.Fatalf("decode %q: %v", line, err)
	}
	return m
}

// waitAck reads acks until seq is acknowledged.
func (w *worker) waitAck(seq uint64) {
	w.t.Helper()
	for {
		m := w.read()
		if m.Type == wire.TypeAck && m.Seq >= seq {
			return
		}
	}
}

// TestThroughIngestion fills the store through a real ingestion server over
// TCP and reads it back through the API: lists, detail, service statistics
// with the worker's capture counters, health and metrics.
func TestThroughIngestion(t *testing.T) {
	st := openStore(t)
	in, addr, m, stopIngest := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })

	w := dialWorker(t, addr, "w-1", "veth-test")
	var buf []byte
	const n = 250 // 125 clients, two sessions each, over two interfaces
	for i := range n {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 125)})
		if i%125 >= 100 {
			ip = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i%125))
		}
		s := sess(ip.String(), onIface("veth-test"), at(time.Duration(i)*time.Second))
		if i%125 < 25 {
			s.Interface = "veth-b"
		}
		buf = wire.AppendSession(buf[:0], uint64(i+1), &s)
		w.send(buf)
	}
	w.send(wire.AppendStats(nil, &wire.Stats{Time: base, Packets: 1000, KernelDrops: 3, DecodeErrors: 2,
		Pending: 1, Sessions: n, Answered: n, Sent: n}))
	w.waitAck(n)

	r := ts.do("GET", "/api/ntp/history/clients?page_size=50&page=3", nil)
	wantStatus(t, r, http.StatusOK)
	b := decode[listBody](t, r)
	if b.Pagination.Total != 125 || b.Pagination.TotalPages != 3 || len(b.Data) != 25 {
		t.Errorf("list through ingestion: %+v, %d rows", b.Pagination, len(b.Data))
	}
	r = ts.do("GET", "/api/ntp/history/clients?interface_name=veth-b&page_size=100", nil)
	if b := decode[listBody](t, r); b.Pagination.Total != 25 || b.Data[0]["session_count"] != 2.0 {
		t.Errorf("veth-b: total %d, first %v", b.Pagination.Total, b.Data[0])
	}
	r = ts.do("GET", "/api/ntp/history/clients/2001:DB8:0:0::70", nil)
	wantStatus(t, r, http.StatusOK)

	// Service statistics carry the ingestion counters and the worker's
	// capture statistics; the stats line may trail the ack.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = ts.do("GET", "/api/ntp/history/service/statistics", nil)
		wantStatus(t, r, http.StatusOK)
		sv := decode[struct {
			Ingestion struct {
				TotalReceived     uint64 `json:"total_received"`
				CommittedSessions uint64 `json:"committed_sessions"`
				ListenerUp        bool   `json:"listener_up"`
			} `json:"ingestion"`
			Database struct {
				Rows int64 `json:"rows"`
			} `json:"database"`
			Workers []struct {
				WorkerID string  `json:"worker_id"`
				Acked    uint64  `json:"acked"`
				Capture  *statsJ `json:"capture"`
			} `json:"workers"`
		}](t, r)
		if len(sv.Workers) == 1 && sv.Workers[0].Capture != nil {
			if sv.Ingestion.TotalReceived != n || sv.Ingestion.CommittedSessions != n || !sv.Ingestion.ListenerUp ||
				sv.Database.Rows != 125 || sv.Workers[0].WorkerID != "w-1" || sv.Workers[0].Acked != n ||
				sv.Workers[0].Capture.KernelDrops != 3 || sv.Workers[0].Capture.Packets != 1000 {
				t.Errorf("service statistics = %+v, capture %+v", sv, *sv.Workers[0].Capture)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker stats never showed: %s", r.Body.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	r = ts.do("GET", "/health", nil)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body.String(), `"queue_capacity"`) {
		t.Errorf("health lacks the queue: %s", r.Body.String())
	}
	r = ts.do("GET", "/metrics", nil)
	for _, want := range []string{
		fmt.Sprintf("ntp_collector_sessions_committed_total %d", n),
		`ntp_worker_packets_total{interface="veth-test"} 1000`,
		`ntp_worker_kernel_drops_total{interface="veth-test"} 3`,
		`ntp_clients{interface="veth-b"} 25`,
		`ntp_collector_listener_up 1`,
		"ntp_collector_batch_commit_seconds_count",
	} {
		if !strings.Contains(r.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// Ingestion stopped: /health names it and answers 503.
	stopIngest()
	r = ts.do("GET", "/health", nil)
	wantStatus(t, r, http.StatusServiceUnavailable)
	if !strings.Contains(r.Body.String(), `"failing":["ingestion"]`) {
		t.Errorf("health after ingestion stopped: %s", r.Body.String())
	}
}
