package fingerprint_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/FuzzClassify from the tuning captures")

// FuzzClassify feeds arbitrary UDP payloads, source ports and capture
// times through Extract, Sequence and Classify, and checks that nothing
// panics, that Features and Sequence survive their encodings, and that
// every result is a real implementation with a confidence in (0, 1] and
// evidence. Each input is added twice to a Sequence, so the rules that
// read the sequence run too. The seed corpus in testdata/fuzz/FuzzClassify
// holds the requests of the tuning captures (go test -run TestFuzzSeeds
// -write-seeds rewrites it).
func FuzzClassify(f *testing.F) {
	f.Add(make([]byte, 48), uint16(123), int64(1_800_000_000e9))
	f.Add([]byte{0x26, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, uint16(40000), int64(0))
	f.Fuzz(func(t *testing.T, payload []byte, port uint16, capturedNanos int64) {
		var p ntp.Packet
		if err := ntp.Decode(payload, &p); err != nil && !errors.Is(err, ntp.ErrExtension) {
			return
		}
		at := time.Unix(0, capturedNanos)
		feat := fingerprint.Extract(&p, port, len(payload), at)
		back, err := fingerprint.FeaturesFromUint64(feat.Uint64())
		if err != nil || back != feat {
			t.Fatalf("features %+v packed and unpacked: %+v, %v", feat, back, err)
		}
		if a, b := fingerprint.Classify(feat, nil), fingerprint.Classify(feat, &fingerprint.Sequence{}); a != b {
			t.Fatalf("%x: %+v with no sequence, %+v with an empty one", payload, a, b)
		}
		var seq fingerprint.Sequence
		for i := range 2 {
			seq.Add(feat, port+uint16(i), at.Add(time.Duration(i)*time.Second))
			res := fingerprint.Classify(feat, &seq)
			if res.Implementation < fingerprint.Chrony || res.Implementation > fingerprint.Other ||
				res.Confidence <= 0 || res.Confidence > 1 || res.Evidence == "" {
				t.Fatalf("%x: result %+v", payload, res)
			}
			if again := fingerprint.Classify(feat, &seq); again != res {
				t.Fatalf("%x: classified %+v, then %+v", payload, res, again)
			}
		}
		b, err := seq.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var seqBack fingerprint.Sequence
		if err := seqBack.UnmarshalBinary(b); err != nil || seqBack != seq {
			t.Fatalf("sequence round trip: %+v, %v; want %+v", seqBack, err, seq)
		}
	})
}

// TestFuzzSeeds checks that the seed corpus holds every request of the
// tuning captures, or with -write-seeds writes it.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzClassify")
	if *writeSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range expected(t) {
		for _, r := range readRequests(t, filepath.Join("testdata", "tuning", c.file)) {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\nint64(%d)\n", r.payload, r.port, r.at.UnixNano())
			sum := sha256.Sum256([]byte(seed))
			path := filepath.Join(dir, "tuning-"+hex.EncodeToString(sum[:8]))
			if *writeSeeds {
				if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != seed {
				t.Errorf("%s frame %d: seed %s missing or different (%v); rewrite with -write-seeds", c.file, r.n, path, err)
			}
		}
	}
}
