package ntp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// mustHex decodes hex with spaces allowed between bytes.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// A reply shaped like chronyd's in chrony.pcap: stratum 8, refid
// 127.127.1.1, precision −26.
const chronyReply = "24 08 06 e6 00000000 00000000 7f7f0101 eeb1a3ab d1f6a9e0 d8bc4c1e 3d91d6fc eeb1a3ad 921b0d5d eeb1a3ad 921d4f38"

// ext returns an extension field of the given type and total length.
func ext(typ uint16, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b[0:2], typ)
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecode(t *testing.T) {
	request := mustHex(t, "23 00 00 00 00000000 00000000 00000000 0000000000000000 0000000000000000 0000000000000000 eeb1a3ad921b0d5d")
	reply := mustHex(t, chronyReply)
	tests := []struct {
		name string
		in   []byte
		err  error
		want Packet
	}{
		{
			name: "v4 client request",
			in:   request,
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 48},
		},
		{
			name: "chrony reply",
			in:   reply,
			want: Packet{
				Version: 4, Mode: ModeServer, Stratum: 8, Poll: 6, Precision: -26,
				ReferenceID: [4]byte{127, 127, 1, 1},
				Reference:   0xeeb1a3abd1f6a9e0, Originate: 0xd8bc4c1e3d91d6fc,
				Receive: 0xeeb1a3ad921b0d5d, Transmit: 0xeeb1a3ad921d4f38, Length: 48,
			},
		},
		{
			name: "NTPv1 request has mode 0",
			in:   cat([]byte{0x08}, make([]byte, 47)),
			want: Packet{Version: 1, Mode: ModeReserved, Length: 48},
		},
		{
			name: "NTS request: unique identifier, cookie, authenticator",
			in:   cat(request, ext(ExtUniqueIdentifier, 36), ext(ExtNTSCookie, 104), ext(ExtNTSAuthenticator, 40)),
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 228, Extensions: 3, NTS: true},
		},
		{
			name: "symmetric key MAC, MD5",
			in:   cat(request, make([]byte, 20)),
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 68, MACLength: 20},
		},
		{
			name: "symmetric key MAC, SHA-1",
			in:   cat(request, make([]byte, 24)),
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 72, MACLength: 24},
		},
		{
			name: "crypto-NAK",
			in:   cat(request, make([]byte, 4)),
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 52, MACLength: 4},
		},
		{
			name: "extension field then MAC",
			in:   cat(request, ext(0x0002, 28), make([]byte, 20)),
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 96, Extensions: 1, MACLength: 20},
		},
		{
			name: "mode 6 read variables query (ntpq -c rv)",
			in:   mustHex(t, "16 02 0001 0000 0000 0000 0000"),
			want: Packet{Version: 2, Mode: ModeControl, Length: 12, Control: Control{Opcode: 2, Sequence: 1}},
		},
		{
			name: "mode 6 response with data",
			in:   cat(mustHex(t, "d6 a2 0001 c016 0000 0000 0004"), []byte("a=1,")),
			want: Packet{Leap: 3, Version: 2, Mode: ModeControl, Length: 16, Control: Control{Response: true, More: true, Opcode: 2, Sequence: 1, Status: 0xc016, Count: 4}},
		},
		{
			name: "mode 7 monlist request",
			in:   cat(mustHex(t, "17 00 03 2a 0000 0000"), make([]byte, 32)),
			want: Packet{Version: 2, Mode: ModePrivate, Length: 40, Control: Control{Implementation: 3, Opcode: 42}},
		},
		{
			name: "mode 7 response bits are not a leap indicator",
			in:   mustHex(t, "d7 85 03 2a 1 003 0 048"),
			want: Packet{Version: 2, Mode: ModePrivate, Length: 8, Control: Control{Response: true, More: true, Auth: true, Sequence: 5, Implementation: 3, Opcode: 42, ErrCode: 1, Items: 3, ItemSize: 0x48}},
		},
		{name: "empty", in: nil, err: ErrTruncated, want: Packet{}},
		{name: "47 bytes", in: reply[:47], err: ErrTruncated, want: Packet{Version: 4, Mode: ModeServer, Length: 47}},
		{name: "mode 6 of 11 bytes", in: mustHex(t, "16 02 0001 0000 0000 0000 00"), err: ErrTruncated, want: Packet{Version: 2, Mode: ModeControl, Length: 11}},
		{name: "mode 7 of 7 bytes", in: mustHex(t, "17 00 03 2a 0000 00"), err: ErrTruncated, want: Packet{Version: 2, Mode: ModePrivate, Length: 7}},
		{name: "version 0", in: cat([]byte{0x03}, make([]byte, 47)), err: ErrVersion, want: Packet{Mode: ModeClient, Length: 48}},
		{name: "version 5", in: cat([]byte{0x2b}, make([]byte, 47)), err: ErrVersion, want: Packet{Version: 5, Mode: ModeClient, Length: 48}},
		{
			name: "2-byte trailer",
			in:   cat(request, make([]byte, 2)),
			err:  ErrExtension,
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 50},
		},
		{
			name: "extension field shorter than 16 bytes",
			in:   cat(request, ext(0x0104, 12), make([]byte, 20)),
			err:  ErrExtension,
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 80},
		},
		{
			name: "extension field longer than the packet",
			in:   cat(request, ext(0x0104, 32)[:28]),
			err:  ErrExtension,
			want: Packet{Version: 4, Mode: ModeClient, Transmit: 0xeeb1a3ad921b0d5d, Length: 76},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			p.Stratum = 99 // Decode must overwrite everything
			err := Decode(tc.in, &p)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Decode: error %v, want %v", err, tc.err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), tc.err.Error()+": ") {
				t.Errorf("error %q does not say more than %q", err, tc.err)
			}
			if p != tc.want {
				t.Errorf("Decode:\n got %+v\nwant %+v", p, tc.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, h := range []string{
		chronyReply,
		"e4 00 0a ec 00010000 00020000 52415445 0000000000000000 eeb1a3ad921b0d5d eeb1a3ad921b0d5d eeb1a3ad921b0d5d",
		"16 02 0001 0000 0000 0000 0000",
		"d6 a2 0001 c016 0003 0010 0004 61 3d 31 2c",
		"d7 85 03 2a 1003 0048",
	} {
		in := mustHex(t, h)
		var p, q Packet
		if err := Decode(in, &p); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		out := AppendPacket([]byte("prefix"), &p)
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("AppendPacket clobbered the prefix: %q", out)
		}
		out = out[len("prefix"):]
		header := min(len(in), HeaderSize)
		switch p.Mode {
		case ModeControl:
			header = ControlHeaderSize
		case ModePrivate:
			header = PrivateHeaderSize
		}
		if !bytes.Equal(out[:header], in[:header]) || len(out) != len(in) {
			t.Errorf("%s: encoded as % x", h, out)
		}
		if err := Decode(Encode(&p, nil), &q); err != nil || q != p {
			t.Errorf("%s: decode(encode) = %+v, %v; want %+v", h, q, err, p)
		}
	}
}

func TestRefID(t *testing.T) {
	tests := []struct {
		name    string
		stratum uint8
		mode    uint8
		id      string // hex
		refID   string
		kiss    string
		kod     bool
	}{
		{"RATE kiss-o'-death", 0, ModeServer, "52415445", "RATE", "RATE", true},
		{"INIT from unsynchronised ntpd", 0, ModeServer, "494e4954", "INIT", "INIT", true},
		{"client request, stratum 0, zero id", 0, ModeClient, "00000000", "", "", false},
		{"stratum 0 reply without a code", 0, ModeServer, "00000000", "", "", true},
		{"symmetric passive KoD", 0, ModeSymmetricPassive, "44454e59", "DENY", "DENY", true},
		{"GPS with trailing NUL", 1, ModeServer, "47505300", "GPS", "", false},
		{"unlisted ASCII code", 1, ModeServer, "5a5a5a5a", "ZZZZ", "", false},
		{"non-printable byte", 1, ModeServer, "47500a53", "0x47500a53", "", false},
		{"NUL inside", 1, ModeServer, "47005300", "0x47005300", "", false},
		{"stratum 2 upstream", 2, ModeServer, "c0000201", "192.0.2.1", "", false},
		{"chrony local reference", 8, ModeServer, "7f7f0101", "127.127.1.1", "", false},
		{"stratum 16", 16, ModeServer, "00000000", "0.0.0.0", "", false},
		{"control packet", 0, ModeControl, "52415445", "", "", false},
	}
	var cache RefIDCache
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Packet{Stratum: tc.stratum, Mode: tc.mode}
			copy(p.ReferenceID[:], mustHex(t, tc.id))
			if got := p.RefID(); got != tc.refID {
				t.Errorf("RefID() = %q, want %q", got, tc.refID)
			}
			if got := string(p.AppendRefID(nil)); got != tc.refID {
				t.Errorf("AppendRefID() = %q, want %q", got, tc.refID)
			}
			for range 2 { // miss, then hit
				if got := cache.RefID(&p); got != tc.refID {
					t.Errorf("RefIDCache.RefID() = %q, want %q", got, tc.refID)
				}
			}
			if got := p.KissCode(); got != tc.kiss {
				t.Errorf("KissCode() = %q, want %q", got, tc.kiss)
			}
			if got := p.IsKoD(); got != tc.kod {
				t.Errorf("IsKoD() = %v, want %v", got, tc.kod)
			}
		})
	}
}

// The cache must not confuse an ASCII code with the dotted quad of the same
// four bytes.
func TestRefIDCacheKinds(t *testing.T) {
	var cache RefIDCache
	p := Packet{Mode: ModeServer, Stratum: 1, ReferenceID: [4]byte{'Z', 'Z', 'Z', 'Z'}}
	q := p
	q.Stratum = 3
	for range 3 {
		if got := cache.RefID(&p); got != "ZZZZ" {
			t.Fatalf("stratum 1: %q", got)
		}
		if got := cache.RefID(&q); got != "90.90.90.90" {
			t.Fatalf("stratum 3: %q", got)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	in := mustHex(t, chronyReply)
	nts := cat(in, ext(ExtUniqueIdentifier, 36), ext(ExtNTSAuthenticator, 40))
	var p Packet
	var cache RefIDCache
	for name, f := range map[string]func(){
		"Decode":             func() { _ = Decode(in, &p) },
		"Decode NTS":         func() { _ = Decode(nts, &p) },
		"Decode truncated":   func() { _ = Decode(in[:20], &p) },
		"Decode bad version": func() { _ = Decode([]byte{0x3b, 0}, &p) },
		"RefIDCache":         func() { _ = Decode(in, &p); _ = cache.RefID(&p) },
		"RefID of a kiss code": func() {
			p = Packet{Mode: ModeServer, ReferenceID: [4]byte{'R', 'A', 'T', 'E'}}
			_ = p.RefID()
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}
