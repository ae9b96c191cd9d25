package fingerprint_test

import (
	"path/filepath"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// BenchmarkExtract measures the per-request cost the worker will pay.
func BenchmarkExtract(b *testing.B) {
	reqs := readRequests(b, filepath.Join("testdata", "tuning", "chrony.pcap"))
	var p ntp.Packet
	if err := ntp.Decode(reqs[0].payload, &p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = fingerprint.Extract(&p, reqs[0].port, len(reqs[0].payload), reqs[0].at)
	}
}

// BenchmarkClassify measures folding a request into a client's Sequence
// and classifying it, the per-session cost in the collector, for the
// client whose rule comes last among the captures' (a generic SNTP
// library) and so walks most of the table.
func BenchmarkClassify(b *testing.B) {
	reqs := readRequests(b, filepath.Join("testdata", "tuning", "ntplib.pcap"))
	var seq fingerprint.Sequence
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := reqs[i%len(reqs)]
		seq.Add(r.features, r.port, r.at)
		_ = fingerprint.Classify(r.features, &seq)
	}
}
