package ingest_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// TestHalfOpenWorkersAtTheCap fills every worker slot (MaxConnections)
// with connections that said hello and then went silent — what a
// half-open connection looks like from the collector: a peer that vanished
// without a FIN — then opens 300 more sockets, which are refused at once
// and hold nothing. A good worker arriving then is refused as over
// capacity too, retries, and gets in once the idle timeout has closed the
// silent ones; it delivers everything, and the descriptors and heap the
// silent peers held are given back.
func TestHalfOpenWorkersAtTheCap(t *testing.T) {
	const (
		slots   = ingest.DefaultMaxConnections
		idle    = 300
		timeout = 10 * time.Second // long enough to fill every slot under -race
	)
	fdsBase, heapBase := procstat.SelfFDs(t), procstat.HeapInUse()
	h := start(t, ingest.Config{IdleTimeout: timeout, HelloTimeout: timeout, BatchSize: 50, BatchInterval: 10 * time.Millisecond})
	fdsListening := procstat.SelfFDs(t)

	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range slots {
		nc, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		hello := wire.AppendHello(nil, &wire.Hello{Protocol: 1, WorkerID: fmt.Sprintf("silent-%03d", i), Interface: "eth0"})
		if _, err := nc.Write(hello); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, err := bufio.NewReader(nc).ReadBytes('\n'); err != nil {
			t.Fatalf("silent worker %d: no welcome: %v %q", i, err, line)
		}
		nc.SetReadDeadline(time.Time{})
	}
	for range idle {
		nc, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	waitFor(t, "every slot taken, the sockets beyond refused", func() bool {
		s := h.srv.Snapshot()
		return s.ConnectedWorkers == slots && s.ErrorsByKind[ingest.ErrKindOverCapacity] == idle
	})
	held := h.srv.Snapshot()
	fdsHeld, heapHeld := procstat.SelfFDs(t), procstat.HeapInUse()

	// The good worker: refused while the slots are full, in once the idle
	// timeout frees them.
	snd := runSender(t, sender.Config{Addr: h.addr, WorkerID: "good"})
	const n = 1000
	ss := storetest.Sessions(n, 100, 29)
	sendAllFlush(t, snd, ss)
	if got := h.packets(); got != n {
		t.Errorf("store holds %d sessions, want %d", got, n)
	}
	if c := snd.Counters(); c.Lost != 0 {
		t.Errorf("sender counters %+v: want nothing lost", c)
	}
	waitFor(t, "the silent connections closed", func() bool {
		s := h.srv.Snapshot()
		return s.Connections == 1 && s.ConnectedWorkers == 1
	})
	after := h.srv.Snapshot()
	if after.ErrorsByKind[ingest.ErrKindOverCapacity] == idle {
		t.Error("the good worker was never refused as over capacity: the slots were not full")
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	waitFor(t, "the client ends closed", func() bool { return procstat.SelfFDs(t) <= fdsListening+4 })
	fdsAfter, heapAfter := procstat.SelfFDs(t), procstat.HeapInUse()
	if fdsAfter > fdsListening+4 {
		t.Errorf("%d descriptors after, %d with only the listener: the silent connections leaked", fdsAfter, fdsListening)
	}
	t.Logf("%d silent workers + %d more sockets: %d connections held (%d workers, %d awaiting hello); "+
		"descriptors %d → %d → %d (both ends in this process; %d before the collector), heap %.1f → %.1f → %.1f MiB; "+
		"refused %d connections (the good worker's retries among them), then the good worker delivered %d sessions; idle timeouts %d, hello evictions %d",
		slots, idle, held.Connections, held.ConnectedWorkers, held.AwaitingHello,
		fdsListening, fdsHeld, fdsAfter, fdsBase,
		float64(heapBase)/(1<<20), float64(heapHeld)/(1<<20), float64(heapAfter)/(1<<20),
		after.ErrorsByKind[ingest.ErrKindOverCapacity], n,
		after.ErrorsByKind[ingest.ErrKindIdleTimeout], after.ErrorsByKind[ingest.ErrKindHelloEvicted])
}
