package ntp_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/tsharktest"
)

// goldenPacket is one packet of a golden capture, decoded.
type goldenPacket struct {
	n       int // frame number, from 1 as in tshark
	frame   frame.Frame
	payload []byte
	p       ntp.Packet
	cut     bool // the snaplen cut the payload short
}

// readGolden decodes every packet of a golden capture; each must decode.
func readGolden(t *testing.T, path string) []goldenPacket {
	t.Helper()
	lt, pkts, err := pcapfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenPacket
	for i, p := range pkts {
		g := goldenPacket{n: i + 1}
		err := frame.Decode(frame.LinkType(lt), p.Data, &g.frame)
		// The captures use a snaplen of 256, as the worker does: longer
		// mode 6 responses are cut, and their headers are still there.
		if errors.Is(err, frame.ErrCut) && p.OrigLen > len(p.Data) {
			g.cut = true
		} else if err != nil {
			t.Fatalf("frame %d: %v", g.n, err)
		}
		g.payload = g.frame.Payload
		if err := ntp.Decode(g.payload, &g.p); err != nil {
			t.Fatalf("frame %d: %v", g.n, err)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no packets", path)
	}
	return out
}

func goldenFiles(t *testing.T) []string {
	files, err := filepath.Glob("testdata/golden/*.pcap")
	if err != nil || len(files) < 4 {
		t.Fatalf("golden captures missing (%v, %v); make them with scripts/golden-pcaps.sh", files, err)
	}
	return files
}

// TestGolden checks what is known about the software that produced each
// capture, packet by packet.
func TestGolden(t *testing.T) {
	for _, path := range goldenFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			pkts := readGolden(t, path)
			requests := map[string]goldenPacket{} // by client address and port
			counts := map[string]int{}
			for _, g := range pkts {
				p := &g.p
				if g.cut {
					counts["cut by the snaplen"]++
				}
				if p.Length != len(g.payload) {
					t.Errorf("frame %d: Length %d, payload %d bytes", g.n, p.Length, len(g.payload))
				}
				// Encoding gives back the header byte for byte.
				enc := ntp.AppendPacket(nil, p)
				hdr := min(len(enc), len(g.payload))
				if p.Mode == ntp.ModeControl {
					hdr = ntp.ControlHeaderSize
				} else if p.Mode == ntp.ModePrivate {
					hdr = ntp.PrivateHeaderSize
				}
				if !bytes.Equal(enc[:hdr], g.payload[:hdr]) {
					t.Errorf("frame %d: encoded % x, captured % x", g.n, enc[:hdr], g.payload[:hdr])
				}
				key := fmt.Sprintf("%v:%d", g.frame.Src, g.frame.SrcPort)
				switch p.Mode {
				case ntp.ModeClient, ntp.ModeReserved:
					if g.frame.DstPort != 123 {
						t.Errorf("frame %d: request to port %d", g.n, g.frame.DstPort)
					}
					requests[key] = g
					counts["request"]++
				case ntp.ModeServer:
					counts["reply"]++
					req, ok := requests[fmt.Sprintf("%v:%d", g.frame.Dst, g.frame.DstPort)]
					if !ok {
						t.Errorf("frame %d: reply with no request before it", g.n)
						break
					}
					// The pairing rule the worker relies on.
					if p.Originate != req.p.Transmit {
						t.Errorf("frame %d: originate %#x, request transmit %#x", g.n, uint64(p.Originate), uint64(req.p.Transmit))
					}
					if p.Version != req.p.Version {
						t.Errorf("frame %d: reply version %d to a v%d request", g.n, p.Version, req.p.Version)
					}
					if p.IsKoD() {
						counts["kod "+p.KissCode()]++
						break
					}
					if d := ntp.Sub(p.Transmit, p.Receive); d < 0 || d > 0.1 {
						t.Errorf("frame %d: T3−T2 = %g s", g.n, d)
					}
					if !p.Receive.Time().After(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
						t.Errorf("frame %d: receive time %v", g.n, p.Receive.Time())
					}
				case ntp.ModeControl:
					if p.Control.Response {
						counts["mode 6 response"]++
						if p.Control.Opcode != 2 || p.Control.Count == 0 {
							t.Errorf("frame %d: mode 6 response %+v", g.n, p.Control)
						}
					} else {
						counts["mode 6 query"]++
					}
				case ntp.ModePrivate:
					counts[fmt.Sprintf("mode 7 code %d", p.Control.Opcode)]++
				}
			}
			t.Logf("%v", counts)

			switch filepath.Base(path) {
			case "chrony.pcap", "vlan.pcap":
				for _, g := range pkts {
					p := &g.p
					if p.Mode != ntp.ModeServer {
						continue
					}
					if p.Stratum != 8 || p.RefID() != "127.127.1.1" || p.Precision != -26 || p.Leap != ntp.LeapNoWarning {
						t.Errorf("frame %d: chronyd reply: stratum %d refid %s precision %d leap %d", g.n, p.Stratum, p.RefID(), p.Precision, p.Leap)
					}
				}
				if filepath.Base(path) == "chrony.pcap" {
					for _, v := range []uint8{1, 2, 3, 4} {
						if !has(pkts, func(g goldenPacket) bool { return g.p.Mode == ntp.ModeServer && g.p.Version == v }) {
							t.Errorf("no NTPv%d reply", v)
						}
					}
					if !has(pkts, func(g goldenPacket) bool { return g.p.Mode == ntp.ModeReserved && g.p.Version == 1 }) {
						t.Error("no NTPv1 (mode 0) request")
					}
				}
			case "ntpsec.pcap":
				if counts["kod RATE"] == 0 || counts["kod INIT"] == 0 {
					t.Errorf("want RATE and INIT kiss codes, got %v", counts)
				}
				for _, g := range pkts {
					// ntpd's RATE replies carry the client's transmit time
					// in all three timestamps.
					if g.p.KissCode() == "RATE" && (g.p.Receive != g.p.Originate || g.p.Transmit != g.p.Originate) {
						t.Errorf("frame %d: RATE reply timestamps %#x %#x %#x", g.n, uint64(g.p.Originate), uint64(g.p.Receive), uint64(g.p.Transmit))
					}
				}
				if counts["mode 6 response"] == 0 || counts["mode 6 query"] == 0 || counts["mode 7 code 42"] != 1 {
					t.Errorf("want mode 6 queries and responses and one monlist request, got %v", counts)
				}
			}
		})
	}
}

func has(pkts []goldenPacket, f func(goldenPacket) bool) bool {
	for _, g := range pkts {
		if f(g) {
			return true
		}
	}
	return false
}

// tsharkFields are compared with the decoder, one column each.
var tsharkFields = []string{
	"frame.number", "ntp.flags.li", "ntp.flags.vn", "ntp.flags.mode",
	"ntp.stratum", "ntp.ppoll", "ntp.precision", "ntp.rootdelay", "ntp.rootdispersion",
	"ntp.refid", "ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt",
	"ntp.ctrl.flags2.r", "ntp.ctrl.flags2.error", "ntp.ctrl.flags2.more", "ntp.ctrl.flags2.opcode",
	"ntp.ctrl.sequence", "ntp.ctrl.status", "ntp.ctrl.associd", "ntp.ctrl.offset", "ntp.ctrl.count",
	"ntp.priv.flags.r", "ntp.priv.flags.more", "ntp.priv.auth", "ntp.priv.seq", "ntp.priv.impl", "ntp.priv.reqcode",
}

// TestGoldenTshark decodes every golden packet and compares each field with
// what tshark's NTP dissector makes of the same bytes.
func TestGoldenTshark(t *testing.T) {
	for _, path := range goldenFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			pkts := readGolden(t, path)
			rows := tsharktest.Fields(t, path, "", tsharkFields...)
			if len(rows) != len(pkts) {
				t.Fatalf("tshark saw %d packets, the decoder %d", len(rows), len(pkts))
			}
			for i, cols := range rows {
				field := map[string]string{}
				for j, name := range tsharkFields {
					field[name] = cols[j]
				}
				for _, d := range compareTshark(&pkts[i], field) {
					t.Errorf("frame %d: %s", pkts[i].n, d)
				}
			}
		})
	}
}

// compareTshark returns the differences between a decoded packet and
// tshark's fields for it.
func compareTshark(g *goldenPacket, field map[string]string) []string {
	var diffs []string
	p := &g.p
	eq := func(name string, want string) {
		if field[name] != want {
			diffs = append(diffs, fmt.Sprintf("%s: tshark %q, decoder %q", name, field[name], want))
		}
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	eq("frame.number", strconv.Itoa(g.n))
	eq("ntp.flags.vn", u(uint64(p.Version)))
	eq("ntp.flags.mode", u(uint64(p.Mode)))
	switch p.Mode {
	case ntp.ModeControl:
		eq("ntp.flags.li", u(uint64(p.Leap)))
		c := &p.Control
		eq("ntp.ctrl.flags2.r", b(c.Response))
		eq("ntp.ctrl.flags2.error", b(c.Error))
		eq("ntp.ctrl.flags2.more", b(c.More))
		eq("ntp.ctrl.flags2.opcode", u(uint64(c.Opcode)))
		eq("ntp.ctrl.sequence", u(uint64(c.Sequence)))
		eq("ntp.ctrl.status", fmt.Sprintf("0x%04x", c.Status))
		eq("ntp.ctrl.associd", u(uint64(c.AssociationID)))
		eq("ntp.ctrl.offset", u(uint64(c.Offset)))
		eq("ntp.ctrl.count", u(uint64(c.Count)))
		return diffs
	case ntp.ModePrivate:
		c := &p.Control
		eq("ntp.priv.flags.r", b(c.Response))
		eq("ntp.priv.flags.more", b(c.More))
		eq("ntp.priv.auth", b(c.Auth))
		eq("ntp.priv.seq", u(uint64(c.Sequence)))
		eq("ntp.priv.impl", u(uint64(c.Implementation)))
		eq("ntp.priv.reqcode", u(uint64(c.Opcode)))
		return diffs
	}
	eq("ntp.flags.li", u(uint64(p.Leap)))
	eq("ntp.stratum", u(uint64(p.Stratum)))
	// tshark prints poll and precision as unsigned bytes: 230 is −26.
	eq("ntp.ppoll", u(uint64(uint8(p.Poll))))
	eq("ntp.precision", u(uint64(uint8(p.Precision))))
	eq("ntp.refid", hex.EncodeToString(p.ReferenceID[:]))
	// tshark 4.0 shows root delay and dispersion as the raw short-format
	// words, so they compare exactly.
	eq("ntp.rootdelay", u(uint64(p.RootDelay)))
	eq("ntp.rootdispersion", u(uint64(p.RootDispersion)))
	for name, v := range map[string]ntp.Time{"ntp.reftime": p.Reference, "ntp.org": p.Originate, "ntp.rec": p.Receive, "ntp.xmt": p.Transmit} {
		if d := compareTime(field[name], v); d != "" {
			diffs = append(diffs, name+": "+d)
		}
	}
	return diffs
}

// compareTime compares tshark's rendering of an NTP timestamp ("NULL" for
// zero, else e.g. "Nov 25, 2026 18:12:49.554294586 UTC") with ours. tshark
// converts the fraction through a double, so the nanoseconds may differ by
// one.
func compareTime(s string, v ntp.Time) string {
	if s == "NULL" || v == 0 {
		if s == "NULL" && v == 0 {
			return ""
		}
		return fmt.Sprintf("tshark %q, decoder %#x", s, uint64(v))
	}
	tm, err := time.Parse("Jan _2, 2006 15:04:05.999999999 MST", s)
	if err != nil {
		return fmt.Sprintf("tshark %q: %v", s, err)
	}
	if d := tm.Sub(v.Time()); d < -time.Nanosecond || d > time.Nanosecond {
		return fmt.Sprintf("tshark %v, decoder %v", tm, v.Time())
	}
	return ""
}
