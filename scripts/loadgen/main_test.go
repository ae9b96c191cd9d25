package main

import (
	"bufio"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStreamSpecs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []streamSpec
		err  bool
	}{
		{in: "0", want: []streamSpec{{}}},
		{in: "0, 32,32@198.18.0.7/24", want: []streamSpec{{}, {subs: 32}, {subs: 32, cidr: netip.MustParsePrefix("198.18.0.0/24")}}},
		{in: "4@2001:db8::/48", want: []streamSpec{{subs: 4, cidr: netip.MustParsePrefix("2001:db8::/48")}}},
		{in: "-1", err: true},
		{in: "x", err: true},
		{in: "2@198.18.0.0", err: true},
		{in: "", err: true},
	} {
		got, err := parseStreamSpecs(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want one: %t", tc.in, err, tc.err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: [%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestSubscriberRead(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		in                            string
		sessions, dropped, heartbeats uint64
		err                           bool
	}{
		{name: "sessions, drops, heartbeats",
			in: "event: session\ndata: {\"type\":\"session\"}\n\n: heartbeat\n\nevent: session\ndata: {}\n\n" +
				"event: dropped\ndata: {\"dropped\":17}\n\nevent: dropped\ndata: {\"dropped\":3}\n\n: something else\n\n",
			sessions: 2, dropped: 20, heartbeats: 1},
		{name: "bad drop count", in: "event: dropped\ndata: {\"dropped\":x}\n\n", err: true},
		{name: "unknown event", in: "event: other\ndata: {}\n\n", err: true},
		{name: "data without event", in: "data: {}\n\n", err: true},
		{name: "not a field", in: "hello\n\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s subscriber
			err := s.read(bufio.NewReader(strings.NewReader(tc.in)))
			if tc.err {
				if err == nil || err.Error() == "EOF" {
					t.Fatalf("read = %v, want a format error", err)
				}
				return
			}
			if err == nil || err.Error() != "EOF" {
				t.Fatalf("read = %v, want EOF", err)
			}
			if s.sessions.Load() != tc.sessions || s.dropped.Load() != tc.dropped || s.heartbeats.Load() != tc.heartbeats {
				t.Errorf("sessions %d dropped %d heartbeats %d, want %d %d %d",
					s.sessions.Load(), s.dropped.Load(), s.heartbeats.Load(), tc.sessions, tc.dropped, tc.heartbeats)
			}
		})
	}
}

func TestLoadClients(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		sessions, clients         int
		wantPool, wantMaxDistinct int
		allDistinct               bool
	}{
		{name: "few clients, random over the pool", sessions: 100000, clients: 1000, wantPool: basePool, wantMaxDistinct: 1000},
		{name: "a client per session", sessions: 30000, clients: 30000, wantPool: 30000, allDistinct: true},
		{name: "more clients than sessions", sessions: 25000, clients: 50000, wantPool: 25000, allDistinct: true},
		{name: "every client, cycled", sessions: 90000, clients: 30000, wantPool: 30000, allDistinct: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoad(tc.sessions, tc.clients, 1)
			if len(l.bodies) != tc.wantPool {
				t.Fatalf("%d bodies, want %d", len(l.bodies), tc.wantPool)
			}
			seen := map[netip.Addr]bool{}
			for _, a := range l.clients {
				seen[a] = true
			}
			if tc.allDistinct && len(seen) != len(l.bodies) {
				t.Errorf("%d distinct clients over %d bodies, want one each", len(seen), len(l.bodies))
			}
			if tc.wantMaxDistinct > 0 && (len(seen) > tc.wantMaxDistinct || len(seen) < tc.wantMaxDistinct/2) {
				t.Errorf("%d distinct clients, want most of %d", len(seen), tc.wantMaxDistinct)
			}
			const conns = 4
			per := tc.sessions / conns
			v4, v6 := l.matching(netip.MustParsePrefix("0.0.0.0/0"), per, conns), l.matching(netip.MustParsePrefix("::/0"), per, conns)
			if v4 == 0 || v6 == 0 || v4+v6 != per*conns || l.matching(netip.Prefix{}, per, conns) != per*conns {
				t.Errorf("IPv4 %d + IPv6 %d sessions, want both and %d in all", v4, v6, per*conns)
			}
		})
	}
}

// TestRunWithStreams runs the real collector with live streams open: every
// session a subscriber selects either arrives or is announced dropped, and
// the collector's counters agree (runOnce checks both); the unfiltered
// ones select everything, the filtered ones only their prefix.
func TestRunWithStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ntp-collector")
	}
	bin := filepath.Join(t.TempDir(), "ntp-collector")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "../../cmd/ntp-collector")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const total, conns = 40000, 2
	ld := newLoad(total, 30000, 3)
	p := netip.MustParsePrefix("198.18.0.0/24")
	for _, spec := range []streamSpec{{}, {subs: 3}, {subs: 2, cidr: p}} {
		t.Run(spec.String(), func(t *testing.T) {
			r, err := runOnce(runConfig{bin: bin, db: filepath.Join(t.TempDir(), "ntp.db"), batch: 100, queue: 0,
				total: total, conns: conns, load: ld, stream: spec})
			if err != nil {
				t.Fatal(err)
			}
			if r.sessions != total {
				t.Errorf("%d sessions acknowledged, want %d", r.sessions, total)
			}
			want := uint64(spec.subs) * uint64(ld.matching(spec.cidr, total/conns, conns))
			if got := r.stream.sessions + r.stream.dropped; got != want {
				t.Errorf("subscribers received %d and were told of %d drops, want %d in all", r.stream.sessions, r.stream.dropped, want)
			}
			if r.stream.sent != r.stream.sessions || r.stream.droppedTotal != r.stream.dropped {
				t.Errorf("/metrics sent %d dropped %d, subscribers %d and %d", r.stream.sent, r.stream.droppedTotal, r.stream.sessions, r.stream.dropped)
			}
			if spec.cidr.IsValid() && (want == 0 || r.stream.sessions == 0) {
				t.Errorf("the filtered streams saw %d of %d sessions: the test's prefix should hold some", r.stream.sessions, want)
			}
		})
	}
}
