package fingerprint_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
)

// request is one client request of a capture, as the worker would see it.
type request struct {
	n        int // frame number, from 1
	features fingerprint.Features
	port     uint16
	at       time.Time
	payload  []byte
}

// readRequests decodes a capture and returns its requests: every packet
// sent to port 123 that is not a server reply. Every packet must decode,
// but for a payload cut by the snaplen and the extension error that cut
// makes.
func readRequests(t testing.TB, path string) []request {
	t.Helper()
	lt, pkts, err := pcapfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []request
	for i, pk := range pkts {
		var fr frame.Frame
		// The captures use the worker's snaplen of 256, which cuts NTS
		// requests (228-byte payloads) short; their headers and first
		// extension fields are still there.
		if err := frame.Decode(frame.LinkType(lt), pk.Data, &fr); err != nil && !errors.Is(err, frame.ErrCut) {
			t.Fatalf("%s frame %d: %v", path, i+1, err)
		}
		var p ntp.Packet
		if err := ntp.Decode(fr.Payload, &p); err != nil && !errors.Is(err, ntp.ErrExtension) {
			t.Fatalf("%s frame %d: %v", path, i+1, err)
		}
		if fr.DstPort != 123 || p.Mode == ntp.ModeServer {
			continue
		}
		out = append(out, request{
			n:        i + 1,
			features: fingerprint.Extract(&p, fr.SrcPort, fr.Length, pk.Time),
			port:     fr.SrcPort,
			at:       pk.Time,
			payload:  fr.Payload,
		})
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no requests", path)
	}
	return out
}

// capture is one row of testdata/expected.tsv.
type capture struct {
	file string
	want fingerprint.Implementation
	note string
}

// expected reads testdata/expected.tsv, the ground truth of the captures.
func expected(t *testing.T) []capture {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []capture
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("expected.tsv: %q: want 3 tab-separated columns", line)
		}
		impl, err := fingerprint.ParseImplementation(cols[1])
		if err != nil {
			t.Fatalf("expected.tsv: %v", err)
		}
		out = append(out, capture{file: cols[0], want: impl, note: cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// outcome is how a capture was classified: once from all its requests,
// and request by request from each one and those before it, as a
// collector classifying a client on every session would.
type outcome struct {
	final            fingerprint.Result
	requests, misses int
	missed           []string // "frame N: implementation (evidence)"
}

func classifyCapture(reqs []request, want fingerprint.Implementation) outcome {
	var o outcome
	var seq fingerprint.Sequence
	for _, r := range reqs {
		seq.Add(r.features, r.port, r.at)
		res := fingerprint.Classify(r.features, &seq)
		o.requests++
		if res.Implementation != want {
			o.misses++
			o.missed = append(o.missed, "frame "+strconv.Itoa(r.n)+": "+res.Implementation.String()+" ("+res.Evidence+")")
		}
		o.final = res
	}
	return o
}
