package fingerprint_test

import (
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
)

// TestSequenceShapes checks what the Sequence of each tuning capture
// holds against what the software is known to do: iburst's opening burst
// (chrony 4 requests, ntpsec 6, chronyd -Q 3 per run), a new source port
// per request (chrony, one-shot runs) or one port throughout (ntpd,
// OpenNTPD).
func TestSequenceShapes(t *testing.T) {
	tests := []struct {
		file        string
		burst       uint8
		newPortEach bool // else one port throughout
		minInterval time.Duration
	}{
		{"chrony.pcap", 4, true, 2 * time.Second},
		{"chrony-q.pcap", 3, true, 2 * time.Second},
		{"chrony-nts.pcap", 4, true, 2 * time.Second},
		{"ntpsec.pcap", 6, false, 2 * time.Second},
		{"ntpdig.pcap", 1, true, 12 * time.Second},
		{"ntpdate.pcap", 1, true, 12 * time.Second},
		{"ntplib.pcap", 1, true, 12 * time.Second},
		{"netntp.pcap", 1, true, 12 * time.Second},
		{"openntpd.pcap", 1, false, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			reqs := readRequests(t, filepath.Join("testdata", "tuning", tt.file))
			var s fingerprint.Sequence
			for _, r := range reqs {
				s.Add(r.features, r.port, r.at)
			}
			if s.Requests != uint32(len(reqs)) || !s.BurstDone || s.Burst != tt.burst {
				t.Errorf("%d requests, burst %d (done %v); want %d, %d", s.Requests, s.Burst, s.BurstDone, len(reqs), tt.burst)
			}
			wantChanges := uint32(0)
			if tt.newPortEach {
				wantChanges = s.Requests - 1
			}
			if s.PortChanges != wantChanges {
				t.Errorf("%d port changes in %d requests, want %d", s.PortChanges, s.Requests, wantChanges)
			}
			// The capture's timing: within 50 ms of the configured gap.
			if d := s.MinInterval - tt.minInterval; d < -50*time.Millisecond || d > 2*time.Second {
				t.Errorf("shortest interval %v, want about %v", s.MinInterval, tt.minInterval)
			}
			var n uint16
			for _, c := range s.Intervals {
				n += c
			}
			if uint32(n) != s.Requests-1 {
				t.Errorf("%d intervals in the histogram for %d requests", n, s.Requests)
			}
			if s.First != reqs[0].at.UnixNano() || s.Last != reqs[len(reqs)-1].at.UnixNano() {
				t.Errorf("first/last %d/%d, want %d/%d", s.First, s.Last, reqs[0].at.UnixNano(), reqs[len(reqs)-1].at.UnixNano())
			}
			if s.PollChanges != 0 || s.PollMin != s.PollMax || s.FirstPoll != reqs[0].features.Poll {
				t.Errorf("poll %d..%d, %d changes; these clients keep one poll", s.PollMin, s.PollMax, s.PollChanges)
			}
		})
	}
}

// TestSequenceMerge checks that merging the Sequence of a capture's first
// k requests with that of the rest equals adding them all one by one, for
// every k.
func TestSequenceMerge(t *testing.T) {
	for _, c := range expected(t) {
		reqs := readRequests(t, filepath.Join("testdata", "tuning", c.file))
		var whole fingerprint.Sequence
		for _, r := range reqs {
			whole.Add(r.features, r.port, r.at)
		}
		for k := 0; k <= len(reqs); k++ {
			var a, b fingerprint.Sequence
			for _, r := range reqs[:k] {
				a.Add(r.features, r.port, r.at)
			}
			for _, r := range reqs[k:] {
				b.Add(r.features, r.port, r.at)
			}
			a.Merge(b)
			if a != whole {
				t.Errorf("%s: merge at %d:\n got %+v\nwant %+v", c.file, k, a, whole)
			}
		}
	}
}

// TestSequenceIntervals checks the histogram, the median read from it and
// the exact minimum on made-up timings.
func TestSequenceIntervals(t *testing.T) {
	tests := []struct {
		name      string
		intervals []time.Duration
		median    time.Duration
		min       time.Duration
		burst     uint8
		done      bool
	}{
		{"one request", nil, 0, 0, 1, false},
		{"iburst then poll 6", []time.Duration{2e9, 2e9, 2e9, 64e9, 64e9, 64e9, 64e9}, time.Duration(math.Exp2(6.5) * 1e9), 2e9, 4, true},
		{"sub-second flood", []time.Duration{1e8, 2e8, 3e8}, time.Second / 2, 1e8, 4, false},
		{"out of order", []time.Duration{5e9, -1e9}, time.Second / 2, 0, 1, true},
		{"days apart", []time.Duration{4e5 * 1e9, 5e5 * 1e9}, time.Duration(1<<18) * time.Second, 4e5 * 1e9, 1, true},
	}
	var f fingerprint.Features
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			var s fingerprint.Sequence
			s.Add(f, 40000, at)
			for _, d := range tt.intervals {
				at = at.Add(d)
				s.Add(f, 40000, at)
			}
			if got := s.MedianInterval(); got != tt.median {
				t.Errorf("median %v, want %v", got, tt.median)
			}
			if s.MinInterval != tt.min || s.Burst != tt.burst || s.BurstDone != tt.done {
				t.Errorf("min %v, burst %d (done %v); want %v, %d (%v)", s.MinInterval, s.Burst, s.BurstDone, tt.min, tt.burst, tt.done)
			}
		})
	}
}

// TestSequenceSaturates checks that counters stop at their maximum.
func TestSequenceSaturates(t *testing.T) {
	s := fingerprint.Sequence{Requests: math.MaxUint32, PortChanges: math.MaxUint32, PollChanges: math.MaxUint16}
	s.Intervals[2] = math.MaxUint16
	s.Burst = math.MaxUint8
	at := time.Unix(1_800_000_000, 0)
	s.Last = at.UnixNano()
	s.Add(fingerprint.Features{Poll: 6}, 1, at.Add(2*time.Second))
	if s.Requests != math.MaxUint32 || s.PortChanges != math.MaxUint32 || s.PollChanges != math.MaxUint16 ||
		s.Intervals[2] != math.MaxUint16 || s.Burst != math.MaxUint8 {
		t.Errorf("counters wrapped: %+v", s)
	}
}

// TestSequenceBinary round-trips Sequences through their fixed-size
// encoding.
func TestSequenceBinary(t *testing.T) {
	if n := binary.Size(fingerprint.Sequence{}); n != fingerprint.SequenceSize {
		t.Fatalf("binary.Size %d, SequenceSize %d", n, fingerprint.SequenceSize)
	}
	for _, c := range expected(t) {
		var s fingerprint.Sequence
		for _, r := range readRequests(t, filepath.Join("testdata", "heldout", c.file)) {
			s.Add(r.features, r.port, r.at)
		}
		b, err := s.MarshalBinary()
		if err != nil || len(b) != fingerprint.SequenceSize {
			t.Fatalf("%s: %d bytes, %v", c.file, len(b), err)
		}
		var back fingerprint.Sequence
		if err := back.UnmarshalBinary(b); err != nil || back != s {
			t.Errorf("%s: round trip gave %+v, %v; want %+v", c.file, back, err, s)
		}
	}
	var s fingerprint.Sequence
	for _, n := range []int{0, fingerprint.SequenceSize - 1, fingerprint.SequenceSize + 1} {
		if err := s.UnmarshalBinary(make([]byte, n)); !errors.Is(err, fingerprint.ErrEncoding) {
			t.Errorf("%d bytes: %v, want ErrEncoding", n, err)
		}
	}
}
