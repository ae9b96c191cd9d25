package fingerprint_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// TestExtractTransmit checks how the transmit timestamp is judged against
// the capture time.
func TestExtractTransmit(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 400_000_000, time.UTC)
	secs := uint64(ntp.FromTime(at).Seconds()) << 32
	tests := []struct {
		name      string
		tx        ntp.Time
		kind      fingerprint.TransmitKind
		zeros     int // trailing zero bits of the fraction; -1: not checked
		highClear bool
		below1e9  bool
	}{
		{"zero", 0, fingerprint.TransmitZero, 32, true, true},
		{"clock", ntp.FromTime(at.Add(-time.Millisecond)), fingerprint.TransmitClock, -1, false, false},
		{"clock a day off", ntp.FromTime(at.Add(-23 * time.Hour)), fingerprint.TransmitClock, -1, false, false},
		{"clock two days off", ntp.FromTime(at.Add(48 * time.Hour)), fingerprint.TransmitRandom, -1, false, false},
		// 0.4 s as nanoseconds (0x17d78400): read properly it is 0.093 s.
		{"nanoseconds", ntp.Time(secs | 400_000_000), fingerprint.TransmitClockNanos, 10, false, true},
		// 10 ms as nanoseconds reads as 2.3 ms: too close to tell.
		{"nanoseconds near the second", ntp.Time(secs | 10_000_000), fingerprint.TransmitClock, 7, false, true},
		{"nanoseconds, clock a minute off", ntp.Time(secs + 60<<32 | 400_000_000), fingerprint.TransmitClock, 10, false, true},
		{"float64 time", ntp.Time(uint64((float64(at.UnixNano())/1e9 + 2208988800) * (1 << 32))), fingerprint.TransmitClock, 11, false, false},
		{"rand() halves", ntp.Time(0x2a1b3c4d_1f2e3d4c), fingerprint.TransmitRandom, 2, true, true},
		{"random bits", ntp.Time(0xd61be6c2_a5f0c3e1), fingerprint.TransmitRandom, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ntp.Packet{Version: 4, Mode: ntp.ModeClient, Transmit: tt.tx}
			f := fingerprint.Extract(&p, 40000, ntp.HeaderSize, at)
			if f.Transmit != tt.kind {
				t.Errorf("transmit %#x: %v, want %v", uint64(tt.tx), f.Transmit, tt.kind)
			}
			if tt.name == "float64 time" {
				if int(f.FractionZeros) < tt.zeros {
					t.Errorf("%d trailing zero bits, want at least %d", f.FractionZeros, tt.zeros)
				}
			} else if tt.zeros >= 0 && int(f.FractionZeros) != tt.zeros {
				t.Errorf("%d trailing zero bits, want %d", f.FractionZeros, tt.zeros)
			}
			if f.Has(fingerprint.FlagTransmitHighClear) != tt.highClear || f.Has(fingerprint.FlagFractionBelow1e9) != tt.below1e9 {
				t.Errorf("flags %v", f.Flags)
			}
		})
	}
}

// TestExtractFields checks the header features on one packet with every
// field filled and on the same packet with every field zero.
func TestExtractFields(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 700_000_000, time.UTC)
	full := ntp.Packet{
		Leap: 3, Version: 3, Mode: ntp.ModeSymmetricActive, Stratum: 2, Poll: 10, Precision: -23,
		RootDelay: 1, RootDispersion: 1, ReferenceID: [4]byte{1}, Reference: 1, Originate: 1, Receive: 1,
		Transmit: ntp.FromTime(at), Length: 68, MACLength: 20,
	}
	f := fingerprint.Extract(&full, 123, 68, at)
	want := fingerprint.Features{
		Leap: 3, Version: 3, Mode: 1, Stratum: 2, Poll: 10, Precision: -23,
		Flags: fingerprint.FlagSourcePort123 | fingerprint.FlagMAC, Transmit: fingerprint.TransmitClock, FractionZeros: 2, Length: 68,
	}
	if f != want {
		t.Errorf("full packet:\n got %+v\nwant %+v", f, want)
	}
	bare := ntp.Packet{Version: 4, Mode: ntp.ModeClient, NTS: true, Extensions: 3}
	f = fingerprint.Extract(&bare, 50000, 70000, at)
	wantFlags := fingerprint.FlagRefIDZero | fingerprint.FlagRootDelayZero | fingerprint.FlagRootDispersionZero |
		fingerprint.FlagReferenceZero | fingerprint.FlagOriginateZero | fingerprint.FlagReceiveZero |
		fingerprint.FlagExtensions | fingerprint.FlagNTS | fingerprint.FlagTransmitHighClear | fingerprint.FlagFractionBelow1e9
	if f.Flags != wantFlags || f.Length != fingerprint.MaxLength || f.Transmit != fingerprint.TransmitZero {
		t.Errorf("bare packet: %+v (flags %v), want flags %v and length %d", f, f.Flags, wantFlags, fingerprint.MaxLength)
	}
	// Control packets have no such header: only the first byte counts.
	ctl := ntp.Packet{Version: 2, Mode: ntp.ModeControl, Stratum: 9, Poll: 9}
	f = fingerprint.Extract(&ctl, 123, 12, at)
	if f != (fingerprint.Features{Version: 2, Mode: 6, Flags: fingerprint.FlagSourcePort123, Length: 12}) {
		t.Errorf("mode 6: %+v", f)
	}
}

// TestFeaturesPacking round-trips the features of every captured request
// and some extremes through Uint64 and the text form.
func TestFeaturesPacking(t *testing.T) {
	all := []fingerprint.Features{
		{},
		{Leap: 3, Version: 7, Mode: 7, Stratum: 255, Poll: -128, Precision: 127, Flags: 1<<12 - 1,
			Transmit: fingerprint.TransmitRandom, FractionZeros: 32, Length: fingerprint.MaxLength},
	}
	for _, set := range []string{"tuning", "heldout"} {
		for _, c := range expected(t) {
			for _, r := range readRequests(t, filepath.Join("testdata", set, c.file)) {
				all = append(all, r.features)
			}
		}
	}
	for _, f := range all {
		back, err := fingerprint.FeaturesFromUint64(f.Uint64())
		if err != nil || back != f {
			t.Errorf("Uint64 round trip of %+v: %+v, %v", f, back, err)
		}
		text, err := f.MarshalText()
		if err != nil || len(text) != 16 {
			t.Fatalf("MarshalText: %q, %v", text, err)
		}
		var fromText fingerprint.Features
		if err := fromText.UnmarshalText(text); err != nil || fromText != f {
			t.Errorf("text round trip of %+v via %s: %+v, %v", f, text, fromText, err)
		}
	}
	// In JSON the features are a string, which JavaScript does not round.
	b, err := json.Marshal(struct{ F fingerprint.Features }{all[1]})
	if err != nil || string(b) != `{"F":"ffff807ffffe0fff"}` {
		t.Errorf("JSON %s, %v", b, err)
	}
	for _, bad := range []string{"", "00", "zz00000000000000", "0000000000000000ff", "000000000003f000"} {
		var f fingerprint.Features
		if err := f.UnmarshalText([]byte(bad)); !errors.Is(err, fingerprint.ErrEncoding) {
			t.Errorf("UnmarshalText(%q): %v, want ErrEncoding", bad, err)
		}
	}
}
