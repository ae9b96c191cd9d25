package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
)

// record is one packet as a reader returned it.
type record struct {
	ts   time.Time
	data string
}

// fileSpec describes a classic pcap file to write: byte order, timestamp
// unit, version, snapshot length and link type of its header.
type fileSpec struct {
	order        binary.ByteOrder
	nano         bool
	major, minor uint16
	snaplen      uint32
	link         uint32
}

type rawRecord struct {
	sec, frac       uint32
	capLen, wireLen uint32
	data            []byte // written as is, whatever capLen says
}

func writeFile(t testing.TB, spec fileSpec, recs []rawRecord, cut int) string {
	t.Helper()
	var b bytes.Buffer
	magic := uint32(magicMicro)
	if spec.nano {
		magic = magicNano
	}
	var h [24]byte
	spec.order.PutUint32(h[0:], magic)
	spec.order.PutUint16(h[4:], spec.major)
	spec.order.PutUint16(h[6:], spec.minor)
	spec.order.PutUint32(h[16:], spec.snaplen)
	spec.order.PutUint32(h[20:], spec.link)
	b.Write(h[:])
	for _, r := range recs {
		var rh [16]byte
		spec.order.PutUint32(rh[0:], r.sec)
		spec.order.PutUint32(rh[4:], r.frac)
		spec.order.PutUint32(rh[8:], r.capLen)
		spec.order.PutUint32(rh[12:], r.wireLen)
		b.Write(rh[:])
		b.Write(r.data)
	}
	out := b.Bytes()
	if cut > 0 && cut < len(out) {
		out = out[:len(out)-cut]
	}
	path := filepath.Join(t.TempDir(), "f.pcap")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readLibpcap reads path the way Source did before savefile: through
// libpcap, filtered by expr.
func readLibpcap(t testing.TB, path, expr string) ([]record, error) {
	t.Helper()
	h, err := pcap.OpenOffline(path)
	if err != nil {
		t.Fatalf("libpcap refuses %s: %v", path, err)
	}
	defer h.Close()
	if err := h.SetBPFFilter(expr); err != nil {
		t.Fatalf("filter %q: %v", expr, err)
	}
	var out []record
	for {
		data, ci, err := h.ZeroCopyReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, record{ci.Timestamp, string(data)})
	}
}

// readSavefile reads path through savefile; ok is false when it declines
// the file.
func readSavefile(t testing.TB, path, expr string) (recs []record, err error, ok bool) {
	t.Helper()
	h, err := pcap.OpenOffline(path)
	if err != nil {
		t.Fatalf("libpcap refuses %s: %v", path, err)
	}
	if err := h.SetBPFFilter(expr); err != nil {
		t.Fatalf("filter %q: %v", expr, err)
	}
	s, ok := openSavefile(path, h, expr)
	h.Close()
	if !ok {
		return nil, nil, false
	}
	defer s.close()
	for {
		data, ts, err := s.next()
		if err == io.EOF {
			return recs, nil, true
		}
		if err != nil {
			return recs, err, true
		}
		recs = append(recs, record{ts, string(data)})
	}
}

// sameAsLibpcap fails unless savefile reads path exactly as libpcap does:
// the same records with the same times, and an error at the same point.
func sameAsLibpcap(t testing.TB, path, expr string, mustTake bool) {
	t.Helper()
	want, wantErr := readLibpcap(t, path, expr)
	got, gotErr, ok := readSavefile(t, path, expr)
	if !ok {
		if mustTake {
			t.Fatalf("%s: savefile declined the file", path)
		}
		return
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s: libpcap error %v, savefile error %v (after %d and %d records)", path, wantErr, gotErr, len(want), len(got))
	}
	if len(got) != len(want) {
		t.Fatalf("%s: savefile read %d records, libpcap %d", path, len(got), len(want))
	}
	for i := range want {
		if !got[i].ts.Equal(want[i].ts) || got[i].data != want[i].data {
			t.Fatalf("%s: record %d: savefile %v %x, libpcap %v %x", path, i, got[i].ts, got[i].data, want[i].ts, want[i].data)
		}
	}
}

// generatedFrames returns the frames of a pcapgen capture for link.
func generatedFrames(t testing.TB, link frame.LinkType, vlan uint16) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := pcapgen.Write(&buf, pcapgen.Config{Requests: 60, Clients: 7, IPv6Every: 2, ControlEvery: 5, Link: link, VLAN: vlan}); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		_, data, _, err := r.Next()
		if err != nil {
			return out
		}
		out = append(out, bytes.Clone(data))
	}
}

// mutate damages a frame the ways captures are damaged: flipped bytes in
// the headers, other ports, cut short.
func mutate(r *rand.Rand, data []byte) []byte {
	d := bytes.Clone(data)
	for n := r.IntN(3); n > 0; n-- {
		d[r.IntN(min(len(d), 70))] = byte(r.Uint32())
	}
	if r.IntN(4) == 0 {
		d = d[:r.IntN(len(d)+1)]
	}
	return d
}

// TestSavefileMatchesLibpcap writes files of every header variant savefile
// takes, with damaged frames, records longer than the snapshot length and
// files cut mid-record, and checks that it reads each one exactly as
// libpcap does.
func TestSavefileMatchesLibpcap(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	links := []struct {
		name string
		link frame.LinkType
		vlan uint16
		hdr  uint32 // LINKTYPE_ value in the file header
	}{
		{"ethernet", frame.LinkEthernet, 0, 1},
		{"vlan", frame.LinkEthernet, 42, 1},
		{"sll2", frame.LinkLinuxSLL2, 0, 276},
	}
	for _, l := range links {
		frames := generatedFrames(t, l.link, l.vlan)
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			for _, nano := range []bool{false, true} {
				for _, snaplen := range []uint32{0, 80, 256, 65535, maxSnaplen + 1} {
					for _, cut := range []int{0, 7, 20} {
						spec := fileSpec{order: order, nano: nano, major: 2, minor: 4, snaplen: snaplen, link: l.hdr}
						var recs []rawRecord
						for i := range 200 {
							d := frames[r.IntN(len(frames))]
							if i%3 == 0 {
								d = mutate(r, d)
							}
							frac := r.Uint32N(1_000_000)
							if nano {
								frac = r.Uint32N(1_000_000_000)
							}
							sec := 1_700_000_000 + uint32(i)
							if i == 5 {
								sec = 0xfffffff0 // beyond 2038: a signed 32-bit field to libpcap
							}
							recs = append(recs, rawRecord{sec: sec, frac: frac, capLen: uint32(len(d)), wireLen: uint32(len(d) + r.IntN(2)*100), data: d})
						}
						path := writeFile(t, spec, recs, cut)
						// The filter Source installs: BPF knows no VLAN
						// tags on Linux cooked captures.
						expr := Filter(123)
						if l.link == frame.LinkLinuxSLL2 {
							expr = "udp port 123"
						}
						sameAsLibpcap(t, path, expr, snaplen != maxSnaplen+1)
					}
				}
			}
		}
	}
}

// TestSavefileDeclines: formats and filters savefile leaves to libpcap.
func TestSavefileDeclines(t *testing.T) {
	frames := generatedFrames(t, frame.LinkEthernet, 0)
	recs := []rawRecord{{sec: 1, capLen: uint32(len(frames[0])), wireLen: uint32(len(frames[0])), data: frames[0]}}
	for _, tt := range []struct {
		name string
		spec fileSpec
		expr string
	}{
		{"version 2.3", fileSpec{order: binary.LittleEndian, major: 2, minor: 3, snaplen: 256, link: 1}, Filter(123)},
		{"FCS bits in the link type", fileSpec{order: binary.LittleEndian, major: 2, minor: 4, snaplen: 256, link: 1 | 0x1c000000}, Filter(123)},
		{"backward jumps", fileSpec{order: binary.LittleEndian, major: 2, minor: 4, snaplen: 256, link: 1}, "ip6 protochain 17"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.spec, recs, 0)
			if _, _, ok := readSavefile(t, path, tt.expr); ok {
				t.Fatal("savefile took the file")
			}
		})
	}
	// Source falls back to libpcap for them and still reads them.
	path := writeFile(t, fileSpec{order: binary.LittleEndian, major: 2, minor: 3, snaplen: 256, link: 1}, recs, 0)
	s, err := OpenFile(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.file != nil {
		t.Fatal("a version 2.3 file is read by savefile")
	}
	if n, _ := readAll(t, s); n != 1 {
		t.Fatalf("read %d packets, want 1", n)
	}
}

// TestBPFMatchesLibpcap runs filters that use most of classic BPF's
// instructions on damaged frames and checks every verdict against
// libpcap's own interpreter.
func TestBPFMatchesLibpcap(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	exprs := []string{
		Filter(123),
		"udp port 123",
		"ip and len > 80 and len <= 120",
		"udp[8] & 0x38 == 0x20 and ip[2:2] - 20 > 40",
		"ip[1] * 3 / 2 % 5 == 1 or ip[8] ^ 0x40 == 0 or ip[8] << 1 >> 2 == 32",
		"ip6 or (ip and ip[6] & 0x20 != 0)",
		"ether[len - 1] = 0 or ether[0:4] = 0xffffffff",
		"not udp port 123 and greater 60",
	}
	for _, link := range []struct {
		name string
		lt   frame.LinkType
		vlan uint16
	}{{"ethernet", frame.LinkEthernet, 0}, {"vlan", frame.LinkEthernet, 9}} {
		frames := generatedFrames(t, link.lt, link.vlan)
		for _, expr := range exprs {
			insns, err := pcap.CompileBPFFilter(layers.LinkType(link.lt), 262144, expr)
			if err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
			prog, ok := newBPFProgram(insns)
			if !ok {
				t.Fatalf("%q: the interpreter declines its program", expr)
			}
			ref, err := pcap.NewBPF(layers.LinkType(link.lt), 262144, expr)
			if err != nil {
				t.Fatal(err)
			}
			accepted := 0
			for i := range 5000 {
				d := frames[i%len(frames)]
				if i%2 == 1 {
					d = mutate(r, d)
				}
				if len(d) == 0 {
					continue // BPF.Matches cannot take an empty packet
				}
				wire := len(d) + r.IntN(3)*40
				want := ref.Matches(gopacket.CaptureInfo{CaptureLength: len(d), Length: wire}, d)
				if got := prog.match(d, uint32(wire)); got != want {
					t.Fatalf("%s %q on %x (wire %d): Go says %v, libpcap %v", link.name, expr, d, wire, got, want)
				}
				if want {
					accepted++
				}
			}
			if accepted == 0 && link.vlan == 0 {
				t.Errorf("%s %q accepted nothing: the test exercises one branch only", link.name, expr)
			}
		}
	}
}

func FuzzSavefile(f *testing.F) {
	frames := generatedFrames(f, frame.LinkEthernet, 7)
	for _, d := range frames[:4] {
		f.Add(d, uint32(len(d)), uint32(256), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, wireLen, snaplen uint32, nano bool) {
		spec := fileSpec{order: binary.LittleEndian, nano: nano, major: 2, minor: 4, snaplen: snaplen, link: 1}
		recs := []rawRecord{
			{sec: 1, capLen: uint32(len(data)), wireLen: wireLen, data: data},
			{sec: 2, capLen: uint32(len(frames[0])), wireLen: uint32(len(frames[0])), data: frames[0]},
		}
		path := writeFile(t, spec, recs, 0)
		h, err := pcap.OpenOffline(path)
		if err != nil {
			return // libpcap refuses the file: so does Source
		}
		h.Close()
		sameAsLibpcap(t, path, Filter(123), false)
	})
}

func BenchmarkReadFile(b *testing.B) {
	var buf bytes.Buffer
	sum, err := pcapgen.Write(&buf, pcapgen.Config{Requests: 100_000, Clients: 10_000, IPv6Every: 2})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	read := func(b *testing.B, next func() error) {
		for {
			if err := next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				return
			}
		}
	}
	b.Run("savefile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := OpenFile(path, Config{})
			if err != nil || s.file == nil {
				b.Fatal(err, s.file)
			}
			read(b, func() error { _, _, err := s.Next(); return err })
			s.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sum.Packets), "ns/packet")
	})
	b.Run("libpcap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, err := pcap.OpenOffline(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.SetBPFFilter(Filter(123)); err != nil {
				b.Fatal(err)
			}
			read(b, func() error { _, _, err := h.ZeroCopyReadPacketData(); return err })
			h.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sum.Packets), "ns/packet")
	})
}
