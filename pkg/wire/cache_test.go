package wire

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/procstat"
)

// A peer that sends ever-new strings cannot make a connection's decoder
// hold more than its caches' byte bound, whatever their length: the probe
// of issue 10 left 662 MB in use after 10,000 lines of distinct 60 KB
// strings.
func TestCachesAreBoundedInBytes(t *testing.T) {
	s := sampleSession()
	tests := []struct {
		name  string
		size  int // bytes of each distinct string
		lines int
		limit int64 // heap growth allowed, generous; without the bound it is tens to hundreds of MB
		line  func(i int, v string) []byte
	}{
		{"60 KB reference IDs", 60 << 10, 10_000, 16 << 20, func(i int, v string) []byte {
			s := s
			s.ReferenceID = v
			return AppendSession(nil, uint64(i+1), &s)
		}},
		{"60 KB worker IDs in hellos", 60 << 10, 2_000, 16 << 20, func(i int, v string) []byte {
			return AppendHello(nil, &Hello{Protocol: 1, WorkerID: v, Interface: "eth0"})
		}},
		{"60 KB address zones", 60 << 10, 2_000, 16 << 20, func(i int, v string) []byte {
			line := string(AppendSession(nil, uint64(i+1), &s))
			return []byte(strings.Replace(line, `"2001:db8::1"`, `"fe80::1%`+v+`"`, 1))
		}},
		// Short enough to be cached: the bound in bytes is what stops them.
		{"200-byte kiss codes", 200, 70_000, 4 << 20, func(i int, v string) []byte {
			s := s
			s.KoD = v
			return AppendSession(nil, uint64(i+1), &s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder()
			var m Message
			before := procstat.HeapInUse()
			pad := strings.Repeat("x", tt.size-16)
			for i := range tt.lines {
				line := tt.line(i, fmt.Sprintf("%016d", i)+pad)
				if err := d.Decode(line, &m); err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
			}
			grown := int64(procstat.HeapInUse()) - int64(before)
			total := tt.lines * tt.size
			t.Logf("%d lines of %d distinct bytes (%d MB in all): heap in use grew by %.1f MB; cache %d strings, %d bytes; %d addresses, %d bytes",
				tt.lines, tt.size, total>>20, float64(grown)/(1<<20), len(d.strs.m), d.strs.bytes, len(d.addrs.m), d.addrs.bytes)
			if d.strs.bytes > maxCacheBytes || d.addrs.bytes > maxCacheBytes {
				t.Errorf("caches hold %d and %d bytes, bound %d", d.strs.bytes, d.addrs.bytes, maxCacheBytes)
			}
			if grown > tt.limit {
				t.Errorf("heap in use grew by %d bytes after %d MB of distinct strings, want under %d", grown, total>>20, tt.limit)
			}
			runtime.KeepAlive(d)
		})
	}
}

// The fast path stays: repeated short strings and addresses decode without
// allocating, also once the caches have been emptied by a flood of new ones.
func TestCacheKeepsRepeatsFree(t *testing.T) {
	s := sampleSession()
	line := AppendSession(nil, 9, &s)
	d := NewDecoder()
	var m Message
	pad := strings.Repeat("y", 200)
	for i := range 20_000 {
		o := s
		o.ReferenceID = fmt.Sprint(i, pad)
		if err := d.Decode(AppendSession(nil, 1, &o), &m); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Decode(line, &m); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(line, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per repeated session after a flood, want 0", allocs)
	}
}
