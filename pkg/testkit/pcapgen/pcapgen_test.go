package pcapgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
)

// TestTsharkReadsIt: tshark dissects every generated packet as NTP, with
// valid IP and UDP checksums, for each framing.
func TestTsharkReadsIt(t *testing.T) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make deps installs it)")
	}
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"ethernet", Config{Requests: 40, Clients: 8, IPv6Every: 2, UnansweredEvery: 4, KoDEvery: 5, ControlEvery: 10}},
		{"vlan", Config{Requests: 20, Clients: 4, IPv6Every: 2, VLAN: 42}},
		{"sll2", Config{Requests: 20, Clients: 4, IPv6Every: 2, Link: frame.LinkLinuxSLL2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "g.pcap")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Write(f, tt.cfg)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests != tt.cfg.Requests || sum.Packets != sum.Requests+sum.Answered+sum.Control {
				t.Fatalf("summary %+v", sum)
			}
			out, err := exec.Command(bin, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
				"-T", "fields", "-E", "separator=,", "-e", "ntp.flags.mode", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "vlan.id").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != sum.Packets {
				t.Fatalf("tshark read %d packets, wrote %d", len(lines), sum.Packets)
			}
			modes := map[string]int{}
			for _, l := range lines {
				f := strings.Split(l, ",")
				modes[f[0]]++
				// Status 1 is "good" (0 bad, 2 unverified); IPv6 has no
				// header checksum.
				if f[1] != "" && f[1] != "1" || f[2] != "1" {
					t.Errorf("checksum status in %q", l)
				}
				if tt.cfg.VLAN != 0 && f[3] != "42" {
					t.Errorf("VLAN in %q", l)
				}
			}
			if modes["3"] != sum.Requests || modes["4"] != sum.Answered || modes["6"] != sum.Control {
				t.Errorf("tshark modes %v, summary %+v", modes, sum)
			}
		})
	}
}
