//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// startCapture runs tcpdump on the bridge into pcap until stop is called.
// Immediate mode: packets still in libpcap's ring when tcpdump stops would
// be counted as received but never written.
func startCapture(t *testing.T, n *testnet.Net, pcap string) (stop func()) {
	t.Helper()
	cmd := exec.Command("tcpdump", "-i", n.Bridge, "--immediate-mode", "-U", "-n", "-s", "512", "-w", pcap, "udp port 123")
	p := n.StartCmd(t, cmd)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "listening on") {
		select {
		case <-p.Done():
			t.Fatalf("tcpdump on %s exited: %v\n%s", n.Bridge, p.Err(), p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump on %s did not start:\n%s", n.Bridge, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		time.Sleep(200 * time.Millisecond)
		p.Stop()
	}
}

// pkt is one UDP packet to or from port 123 as tshark's NTP dissector
// decoded it.
type pkt struct {
	Frame            int
	FrameLen         int     // on the wire
	Time             float64 // capture time, Unix seconds
	Src, Dst         netip.Addr
	SrcPort, DstPort int
	PayloadLen       int
	Malformed        bool
	HasNTP           bool
	LI, VN, Mode     int
	Stratum          int
	Poll             int
	Precision        int // signed log2 seconds
	RootDelay        float64
	RootDisp         float64
	RefID            string // as tshark prints it
	RefIDRaw         []byte
	Ref, Org, Rec    float64 // Unix seconds, 0 for a zero timestamp
	Xmt              float64
	OrgRaw, XmtRaw   uint64
}

var tsharkFields = []string{
	"frame.number", "frame.time_epoch",
	"ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
	"udp.srcport", "udp.dstport", "udp.length",
	"_ws.malformed", "ntp",
	"ntp.flags.li", "ntp.flags.vn", "ntp.flags.mode",
	"ntp.stratum", "ntp.ppoll", "ntp.precision",
	"ntp.rootdelay", "ntp.rootdispersion", "ntp.refid",
	"ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt",
	"udp.payload", "frame.len",
}

// dissect runs tshark on pcap and returns its packets in capture order.
func dissect(ctx context.Context, pcap string) ([]pkt, error) {
	args := []string{"-r", pcap, "-n", "-T", "fields", "-E", "separator=|", "-E", "occurrence=f", "-d", "udp.port==123,ntp"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "tshark", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark -r %s: %w: %s", pcap, err, stderr.String())
	}
	var pkts []pkt
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p, err := parseTsharkLine(sc.Text())
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
	}
	return pkts, sc.Err()
}

func parseTsharkLine(line string) (pkt, error) {
	f := strings.Split(line, "|")
	if len(f) != len(tsharkFields) {
		return pkt{}, fmt.Errorf("tshark line has %d fields, want %d: %q", len(f), len(tsharkFields), line)
	}
	var p pkt
	var err error
	atoi := func(s string) int {
		if s == "" {
			return 0
		}
		v, e := strconv.ParseInt(s, 0, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("tshark field %q: %w in %q", s, e, line)
		}
		return int(v)
	}
	atof := func(s string) float64 {
		if s == "" {
			return 0
		}
		v, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("tshark field %q: %w in %q", s, e, line)
		}
		return v
	}
	addr := func(a, b string) netip.Addr {
		s := a
		if s == "" {
			s = b
		}
		v, e := netip.ParseAddr(s)
		if e != nil && err == nil {
			err = fmt.Errorf("tshark address %q: %w in %q", s, e, line)
		}
		return v
	}
	p.Frame = atoi(f[0])
	p.FrameLen = atoi(f[25])
	p.Time = atof(f[1])
	p.Src = addr(f[2], f[3])
	p.Dst = addr(f[4], f[5])
	p.SrcPort, p.DstPort = atoi(f[6]), atoi(f[7])
	p.PayloadLen = atoi(f[8]) - 8
	p.Malformed = f[9] != ""
	p.HasNTP = f[10] != ""
	p.LI, p.VN, p.Mode = atoi(f[11]), atoi(f[12]), atoi(f[13])
	p.Stratum = atoi(f[14])
	p.Poll = atoi(f[15])
	p.Precision = int(int8(uint8(atoi(f[16]))))
	p.RootDelay = atof(f[17])
	p.RootDisp = atof(f[18])
	p.RefID = f[19]
	payload := f[24]
	if len(payload) >= 96 {
		var raw [48]byte
		for i := range raw {
			b, e := strconv.ParseUint(payload[2*i:2*i+2], 16, 8)
			if e != nil && err == nil {
				err = fmt.Errorf("tshark payload %q: %w", payload, e)
			}
			raw[i] = byte(b)
		}
		p.RefIDRaw = append([]byte(nil), raw[12:16]...)
		p.OrgRaw = be64(raw[24:32])
		p.XmtRaw = be64(raw[40:48])
	}
	p.Ref = ntpTime(f[20], &err)
	p.Org = ntpTime(f[21], &err)
	p.Rec = ntpTime(f[22], &err)
	p.Xmt = ntpTime(f[23], &err)
	return p, err
}

func be64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}

// ntpTime parses tshark's rendering of an NTP timestamp, e.g.
// "Nov 25, 2026 18:04:06.285059000 UTC", into Unix seconds; NULL (a zero
// timestamp) is 0.
func ntpTime(s string, errp *error) float64 {
	s = strings.TrimSpace(s)
	if s == "" || s == "NULL" || strings.HasPrefix(s, "NULL") {
		return 0
	}
	tm, e := time.Parse("Jan _2, 2006 15:04:05.999999999 MST", s)
	if e != nil {
		if *errp == nil {
			*errp = fmt.Errorf("tshark time %q: %w", s, e)
		}
		return 0
	}
	return float64(tm.Unix()) + float64(tm.Nanosecond())/1e9
}

// fromWire is tshark's view of the traffic, per client address, in the
// same shape as the ledger; last holds each client's latest packet to the
// server port and its answer, for field-by-field checks.
type fromWire struct {
	counts map[netip.Addr]*counts
	last   map[netip.Addr]exchangeSeen
	// requestsTo counts requests per client address and destination
	// address, for the server's own view.
	requestsTo map[[2]netip.Addr]int
	// minutes counts requests, answered and KoD per minute of capture
	// time (Unix seconds of the minute's start), for the traffic series.
	minutes map[int64]*minuteCounts
}

// minuteCounts is one minute of the wire's traffic, as the series counts it.
type minuteCounts struct {
	Requests, Answered, KoD, Mode6 int
	Versions                       map[int]int
}

func (w *fromWire) minute(p *pkt) *minuteCounts {
	at := int64(p.Time) / 60 * 60
	mc := w.minutes[at]
	if mc == nil {
		mc = &minuteCounts{Versions: map[int]int{}}
		w.minutes[at] = mc
	}
	return mc
}

type exchangeSeen struct {
	req  pkt
	resp *pkt
}

// tally folds tshark's packets into per-client counts: a request is a
// well-formed mode 3 (or NTPv1) packet to port 123, answered when a mode-4
// packet from port 123 goes back to its address and port with an
// originate timestamp equal to its transmit timestamp, a KoD when that
// answer has stratum 0.
func tally(pkts []pkt, port int) *fromWire {
	w := &fromWire{counts: map[netip.Addr]*counts{}, last: map[netip.Addr]exchangeSeen{}, requestsTo: map[[2]netip.Addr]int{},
		minutes: map[int64]*minuteCounts{}}
	get := func(a netip.Addr) *counts {
		c := w.counts[a]
		if c == nil {
			c = &counts{Versions: map[int]int{}}
			w.counts[a] = c
		}
		return c
	}
	type key struct {
		client netip.AddrPort
		xmt    uint64
	}
	resp := map[key]*pkt{}
	for i := range pkts {
		p := &pkts[i]
		if p.SrcPort == port && p.PayloadLen >= 48 && !p.Malformed && p.Mode == 4 {
			k := key{netip.AddrPortFrom(p.Dst, uint16(p.DstPort)), p.OrgRaw}
			if _, dup := resp[k]; !dup {
				resp[k] = p
			}
		}
	}
	for i := range pkts {
		p := &pkts[i]
		if p.DstPort != port {
			continue
		}
		c := get(p.Src)
		switch {
		case p.PayloadLen < 48 && (p.Mode == 3 || p.Mode == 0 || p.Malformed) && !(p.Mode == 6 && p.PayloadLen >= 12):
			c.Truncated++
			continue
		case p.Mode == 6:
			c.Mode6++
			w.minute(p).Mode6++
		case p.Mode == 3 || (p.VN == 1 && p.Mode == 0):
			c.Requests++
			c.Versions[p.VN]++
			w.requestsTo[[2]netip.Addr{p.Src, p.Dst}]++
			mc := w.minute(p)
			mc.Requests++
			mc.Versions[p.VN]++
			r := resp[key{netip.AddrPortFrom(p.Src, uint16(p.SrcPort)), p.XmtRaw}]
			switch {
			case r == nil:
				c.Unanswered++
			case r.Stratum == 0:
				c.Answered++
				c.KoD++
				c.KoDCode = string(bytes.TrimRight(r.RefIDRaw, "\x00"))
				mc.Answered++
				mc.KoD++
			default:
				c.Answered++
				mc.Answered++
			}
			w.last[p.Src] = exchangeSeen{req: *p, resp: r}
			continue
		default:
			continue
		}
		w.last[p.Src] = exchangeSeen{req: *p}
	}
	return w
}

// near reports whether two floats agree within tol.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
