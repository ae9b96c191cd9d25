package frame_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/tsharktest"
)

// The golden captures live beside the NTP decoder, which is their main user.
const goldenDir = "../ntp/testdata/golden"

type goldenFrame struct {
	f   frame.Frame
	cut bool
}

func readGolden(t testing.TB, path string) (frame.LinkType, [][]byte, []goldenFrame) {
	t.Helper()
	lt, pkts, err := pcapfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	link := frame.LinkType(lt)
	var raw [][]byte
	var out []goldenFrame
	for i, p := range pkts {
		var g goldenFrame
		err := frame.Decode(link, p.Data, &g.f)
		switch {
		case errors.Is(err, frame.ErrCut) && p.OrigLen > len(p.Data):
			g.cut = true // a long mode 6 response cut by the 256-byte snaplen
		case err != nil:
			t.Fatalf("frame %d: %v", i+1, err)
		}
		raw = append(raw, p.Data)
		out = append(out, g)
	}
	return link, raw, out
}

func goldenFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.pcap"))
	if err != nil || len(files) < 4 {
		t.Fatalf("golden captures missing in %s (%v); make them with scripts/golden-pcaps.sh", goldenDir, err)
	}
	return files
}

// TestGoldenTshark decodes every frame of the golden captures and compares
// addresses, ports, VLAN and UDP length with tshark's dissectors.
func TestGoldenTshark(t *testing.T) {
	for _, path := range goldenFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			link, _, frames := readGolden(t, path)
			want := map[string]frame.LinkType{"chrony.pcap": frame.LinkEthernet, "ntpsec.pcap": frame.LinkEthernet, "vlan.pcap": frame.LinkEthernet, "sll2.pcap": frame.LinkLinuxSLL2}
			if link != want[filepath.Base(path)] {
				t.Errorf("link type %v", link)
			}
			for i, g := range frames {
				if g.f.SrcPort != 123 && g.f.DstPort != 123 {
					t.Errorf("frame %d: ports %d → %d", i+1, g.f.SrcPort, g.f.DstPort)
				}
				wantVLAN := uint16(0)
				if filepath.Base(path) == "vlan.pcap" {
					wantVLAN = 100
				}
				if g.f.VLAN != wantVLAN {
					t.Errorf("frame %d: VLAN %d, want %d", i+1, g.f.VLAN, wantVLAN)
				}
			}
			rows := tsharktest.Fields(t, path, "", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "udp.srcport", "udp.dstport", "vlan.id", "udp.length")
			if len(rows) != len(frames) {
				t.Fatalf("tshark saw %d frames, the decoder %d", len(rows), len(frames))
			}
			for i, row := range rows {
				line := strings.Join(row, "\t")
				f := &frames[i].f
				vlan := ""
				if f.VLAN != 0 {
					vlan = strconv.Itoa(int(f.VLAN))
				}
				got := []string{"", "", "", "", fmt.Sprint(f.SrcPort), fmt.Sprint(f.DstPort), vlan, fmt.Sprint(f.Length + 8)}
				if f.Src.Is4() {
					got[0], got[2] = f.Src.String(), f.Dst.String()
				} else {
					got[1], got[3] = f.Src.String(), f.Dst.String()
				}
				if strings.Join(got, "\t") != line {
					t.Errorf("frame %d:\ntshark  %q\ndecoder %q", i+1, line, strings.Join(got, "\t"))
				}
				if !frames[i].cut && len(f.Payload) != f.Length {
					t.Errorf("frame %d: payload %d bytes, UDP says %d", i+1, len(f.Payload), f.Length)
				}
			}
		})
	}
}
