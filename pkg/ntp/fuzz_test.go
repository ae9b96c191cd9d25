package ntp

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, that it fails only with its
// own errors, and that a packet it accepts survives encode → decode
// unchanged. The seed corpus in testdata/fuzz/FuzzDecode holds the payloads
// of the golden captures and hand-made edge cases.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 48))
	f.Add(append([]byte{0x23}, make([]byte, 47)...))
	f.Add(append(append([]byte{0x23}, make([]byte, 47)...), ext(ExtUniqueIdentifier, 36)...))
	f.Add([]byte{0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		var p Packet
		err := Decode(b, &p)
		if !bytes.Equal(in, b) {
			t.Fatal("Decode modified its input")
		}
		if p.Length != len(b) {
			t.Fatalf("Length %d for %d bytes", p.Length, len(b))
		}
		_ = p.RefID()
		_ = p.KissCode()
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrExtension) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if p.Version < 1 || p.Version > 4 {
			t.Fatalf("accepted version %d", p.Version)
		}
		if p.Mode < ModeControl && p.MACLength+HeaderSize > len(b) {
			t.Fatalf("MAC of %d bytes in a %d-byte packet", p.MACLength, len(b))
		}
		// Encoding keeps the header; extension fields and MACs are not
		// reproduced, so the re-decoded packet differs only in those.
		enc := Encode(&p, nil)
		var q Packet
		if err := Decode(enc, &q); err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		want := p
		if p.Mode < ModeControl {
			want.Length, want.Extensions, want.NTS, want.MACLength = HeaderSize, 0, false, 0
		}
		if q != want {
			t.Fatalf("decode(encode(p)) = %+v, want %+v", q, want)
		}
		if again := Encode(&q, nil); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable: %x then %x", enc, again)
		}
	})
}
