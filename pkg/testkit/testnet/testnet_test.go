package testnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

func TestParseChronyClients(t *testing.T) {
	text, err := os.ReadFile("testdata/chronyc-clients.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseChronyClients(string(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []ChronyClient{
		{Addr: netip.MustParseAddr("192.0.2.2"), NTPPackets: 2, NTPInterval: 2},
		{Addr: netip.MustParseAddr("2001:db8:0:1::2"), NTPPackets: 1, NTPInterval: 127},
		{Addr: netip.MustParseAddr("192.0.2.11"), NTPPackets: 30, NTPDrops: 12, NTPInterval: -4, NTPLastAgo: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseChronyClients:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"192.0.2.2,1,0", "nonsense,1,0,0,0,0,0,0,0,0", "192.0.2.2,x,0,0,0,0,0,0,0,0"} {
		if _, err := parseChronyClients(bad + "\n"); err == nil {
			t.Errorf("parseChronyClients(%q): no error", bad)
		}
	}
}

func TestParseMRUList(t *testing.T) {
	text, err := os.ReadFile("testdata/ntpq-mrulist.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseMRUList(string(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []MRUEntry{
		{Addr: netip.MustParseAddrPort("192.0.2.2:34030"), LastInt: 0, AvgInt: 0.052, Restrict: "40", Mode: 3, Version: 4, Count: 3, Score: 0.15},
		{Addr: netip.MustParseAddrPort("[2001:db8:0:1::11]:45604"), LastInt: 1, AvgInt: 0.481, Restrict: "40", Mode: 3, Version: 3, Count: 20, Score: 3.193, Drop: 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMRUList:\n got %+v\nwant %+v", got, want)
	}
	if _, err := parseMRUList("      0  0.052   40 . 3 4      3    0.150      0 34030 not-an-address\n"); err == nil {
		t.Error("parseMRUList: bad address accepted")
	}
}

func TestNTPRequest(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	p := NTPRequest(3, 3, ts)
	if len(p) != 48 || p[0] != 0x1b {
		t.Fatalf("NTPRequest(3,3) = len %d first byte %#x, want 48, 0x1b", len(p), p[0])
	}
	x := binary.BigEndian.Uint64(p[40:])
	if secs := int64(x>>32) - ntpEpochOffset; secs != ts.Unix() {
		t.Errorf("transmit seconds %d, want %d", secs, ts.Unix())
	}
	if frac := uint32(x); frac != 1<<31 {
		t.Errorf("transmit fraction %#x, want 0x80000000", frac)
	}
	c := ControlRequest(2, 2, 7)
	if len(c) != 12 || c[0] != 0x16 || c[1] != 2 || binary.BigEndian.Uint16(c[2:]) != 7 {
		t.Errorf("ControlRequest = % x", c)
	}
}

// leftovers lists namespaces and links whose names contain id.
func leftovers(t *testing.T, id string) []string {
	t.Helper()
	var left []string
	for _, args := range [][]string{{"netns", "list"}, {"-o", "link", "show"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "nm"+id) {
				left = append(left, strings.TrimSpace(line))
			}
		}
	}
	return left
}

func TestChronyTopology(t *testing.T) {
	Require(t)
	var id string
	var dirs []string
	t.Run("run", func(t *testing.T) {
		n := New(t)
		id = n.ID
		srv := n.AddHost("srv")
		cli := n.AddHost("cli")
		idle4, idle6 := srv.AddAddr() // nothing listens there
		chrony := srv.StartChronyd(t, ChronyOptions{})
		dirs = append(dirs, chrony.Dir)
		if len(n.Bridge) > 15 || len(cli.Peer) > 15 {
			t.Errorf("device names too long: %q %q", n.Bridge, cli.Peer)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		for _, a := range []netip.Addr{srv.V4, srv.V6} {
			if out, err := cli.ChronyQuery(ctx, a); err != nil {
				t.Fatalf("chronyd -Q %v: %v", a, err)
			} else if !strings.Contains(string(out), "System clock wrong by") {
				t.Errorf("chronyd -Q %v: no measurement in output:\n%s", a, out)
			}
		}
		if _, err := cli.Ntpdig(ctx, srv.V4); err != nil {
			t.Errorf("ntpdig: %v", err)
		}

		// A hand-made NTPv3 request from a fixed port gets a v3 mode-4
		// answer at stratum 8 echoing our transmit timestamp.
		req := NTPRequest(3, 3, time.Now())
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		reply, err := cli.SendUDP(rctx, netip.AddrPortFrom(srv.V6, 123), req, 40123)
		rcancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(reply) < 48 {
			t.Fatalf("NTPv3 request: reply %d bytes, want 48", len(reply))
		}
		if v, m, st := reply[0]>>3&7, reply[0]&7, reply[1]; v != 3 || m != 4 || st != 8 {
			t.Errorf("reply version %d mode %d stratum %d, want 3 4 8", v, m, st)
		}
		if string(reply[24:32]) != string(req[40:48]) {
			t.Errorf("reply originate % x, want our transmit % x", reply[24:32], req[40:48])
		}

		// Nothing listens on the extra addresses.
		for _, a := range []netip.Addr{idle4, idle6} {
			rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
			reply, err := cli.SendUDP(rctx, netip.AddrPortFrom(a, 123), req, 0)
			rcancel()
			if err != nil || reply != nil {
				t.Errorf("request to idle %v: reply %x, err %v; want none", a, reply, err)
			}
		}

		clients, err := chrony.Clients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[netip.Addr]uint64{}
		for _, c := range clients {
			got[c.Addr] = c.NTPPackets
		}
		want := map[netip.Addr]uint64{cli.V4: 2, cli.V6: 2}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chronyc clients = %v, want %v", got, want)
		}

		// Registered first, so it runs after the Proc's own cleanup.
		var p *Proc
		t.Cleanup(func() {
			if p.Err() == nil {
				t.Errorf("sleep %d still running after cleanup", p.Cmd.Process.Pid)
			}
		})
		p = cli.Start(t, "sleep", "300")
	})
	if id == "" {
		return
	}
	if left := leftovers(t, id); len(left) > 0 {
		t.Errorf("left behind after cleanup:\n%s", strings.Join(left, "\n"))
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("temporary directory %s left behind", d)
		}
	}
}

func TestNtpsecTopology(t *testing.T) {
	Require(t)
	if _, err := NtpsecDir(); err != nil {
		t.Skip(err)
	}
	n := New(t)
	srv := n.AddHost("srv")
	cli := n.AddHost("cli")
	ntpd := srv.StartNtpsec(t, NtpsecOptions{KoD: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := cli.Ntpdate(ctx, srv.V6); err != nil {
		t.Fatalf("ntpdate: %v", err)
	}
	// Mode 6 is answered from a client's address, not only loopback.
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	reply, err := cli.SendUDP(rctx, netip.AddrPortFrom(srv.V6, 123), ControlRequest(2, 2, 1), 0)
	rcancel()
	if err != nil || len(reply) < 12 || reply[0]&7 != 6 || reply[1]&0x80 == 0 {
		t.Errorf("mode 6 READVAR: reply % x, err %v; want a mode 6 response", reply, err)
	}

	// A burst from one port trips `limited`: ntpd answers some requests
	// with a RATE Kiss-o'-Death (stratum 0) and drops others.
	c, err := cli.ListenUDP(netip.AddrPortFrom(cli.V4, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := netip.AddrPortFrom(srv.V4, 123)
	const burst = 30
	for range burst {
		if _, err := c.WriteToUDPAddrPort(NTPRequest(4, 3, time.Now()), dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	var answers, kods int
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		answers++
		if n >= 48 && buf[1] == 0 && string(buf[12:16]) == "RATE" {
			kods++
		}
	}
	if kods == 0 {
		t.Errorf("burst of %d: %d answers, no RATE KoD", burst, answers)
	}

	mru, err := ntpd.MRUList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var v4, v6 int
	for _, e := range mru {
		switch e.Addr.Addr() {
		case cli.V4:
			v4 += e.Count
			if e.Drop == 0 {
				t.Errorf("mrulist %v: no drops after a burst: %+v", e.Addr, e)
			}
		case cli.V6:
			v6 += e.Count
		default:
			t.Errorf("mrulist: unexpected client %+v", e)
		}
	}
	if v4 != burst || v6 != 2 {
		t.Errorf("mrulist counts v4 %d v6 %d, want %d 2\n%+v", v4, v6, burst, mru)
	}
	t.Logf("burst of %d: %d answers, %d RATE KoDs", burst, answers, kods)
}

// TestCaptureOnBridge checks the claim in the package doc: tcpdump on the
// bridge (promiscuous, its default) sees a request and its answer.
// Immediate mode, because packets still in libpcap's ring when tcpdump is
// stopped are counted as received but never written.
func TestCaptureOnBridge(t *testing.T) {
	Require(t)
	requireBin(t, "tcpdump")
	n := New(t)
	srv := n.AddHost("srv")
	cli := n.AddHost("cli")
	srv.StartChronyd(t, ChronyOptions{})
	pcap := filepath.Join(t.TempDir(), "c.pcap")
	cmd := exec.Command("tcpdump", "-i", n.Bridge, "--immediate-mode", "-U", "-n", "-w", pcap, "udp port 123")
	p := n.StartCmd(t, cmd)
	// tcpdump prints "listening on" once the capture is open.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Two exchanges, so the bridge has learned both MACs for the second.
	for range 2 {
		if _, err := cli.ChronyQuery(ctx, srv.V4); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	p.Stop()
	out, err := exec.Command("tcpdump", "-n", "-r", pcap).Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\n"); lines != 4 {
		t.Errorf("captured %d packets on %s, want 4:\n%s\ntcpdump: %s", lines, n.Bridge, out, p.Output())
	}
}

// TestAllAddresses checks that servers started with AllAddresses answer on
// every address of their host, and that Addr picks the matching source.
func TestAllAddresses(t *testing.T) {
	Require(t)
	n := New(t)
	srv := n.AddHost("srv")
	cli := n.AddHost("cli")
	x4, x6 := srv.AddAddr()
	c4, _ := cli.AddAddr()
	if cli.Addr(x4) != cli.V4 || cli.Addr(x6) != cli.V6 || cli.Addr(c4) != cli.V4 {
		t.Errorf("Addr: %v %v %v, want %v %v %v", cli.Addr(x4), cli.Addr(x6), cli.Addr(c4), cli.V4, cli.V6, cli.V4)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ask := func(server string, a netip.Addr) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		defer rcancel()
		reply, err := cli.SendUDP(rctx, netip.AddrPortFrom(a, 123), NTPRequest(4, 3, time.Now()), 0)
		if err != nil || len(reply) < 48 {
			t.Errorf("%s on %v: reply %x, err %v", server, a, reply, err)
		}
	}
	c := srv.StartChronyd(t, ChronyOptions{AllAddresses: true})
	ask("chronyd", x4)
	ask("chronyd", x6)
	c.Proc.Stop()
	if _, err := NtpsecDir(); err != nil {
		t.Log(err)
		return
	}
	srv.StartNtpsec(t, NtpsecOptions{AllAddresses: true})
	ask("ntpd", x4)
	ask("ntpd", x6)
}

// gone reports whether pid has exited (a zombie counts as exited: its
// parent, not the test, reaps it).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestReapAfterKill runs a test binary that builds a Net with a daemon and
// a root-namespace process, kills it with SIGKILL so that no cleanup runs,
// and checks that the next reap removes everything it left, the daemon's
// directory included.
func TestReapAfterKill(t *testing.T) {
	if os.Getenv("TESTNET_REAP_CHILD") == "1" {
		n := New(t)
		h := n.AddHost("x")
		c := h.StartChronyd(t, ChronyOptions{})
		p := n.StartCmd(t, exec.Command("sleep", "300"))
		leftover.Ready(t, n.ID, c.Dir, c.Proc.Cmd.Process.Pid, p.Cmd.Process.Pid)
		time.Sleep(time.Minute)
		return
	}
	Require(t)
	requireBin(t, "chronyd")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := leftover.RunKilled(t, "TESTNET_REAP_CHILD")
	var id, dir string
	var pids [2]int
	if _, err := fmt.Sscan(strings.Join(f, " "), &id, &dir, &pids[0], &pids[1]); err != nil {
		t.Fatalf("child's READY %q: %v", f, err)
	}
	if _, err := os.Stat(dir); len(leftovers(t, id)) == 0 || err != nil {
		t.Fatalf("the killed child left no Net or no chronyd directory behind to reap (%v): the test proves nothing", err)
	}
	// Another test binary's New may reap it first, and records of other
	// binaries' Nets come and go meanwhile: judge by the result for this
	// Net alone.
	reaped, err := reapStale(ctx)
	t.Logf("reaped %v (errors: %v)", reaped, err)
	if err != nil && strings.Contains(err.Error(), "reap "+id+":") {
		t.Errorf("reapStale: %v", err)
	}
	if left := leftovers(t, id); len(left) > 0 {
		t.Errorf("left behind after reaping:\n%s", strings.Join(left, "\n"))
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range pids {
		for !gone(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone(pid) {
			t.Errorf("process %d still running after reaping", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(stateDir, id)); err == nil {
		t.Errorf("record %s still in %s", id, stateDir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("chronyd's directory %s: %v, want it gone", dir, err)
	}
}

// TestReapConcurrent runs reapers side by side, as parallel test binaries
// do, over the record of a dead owner with a namespace and a veth pair
// left behind, and over a record whose owner is alive and tears down
// meanwhile: every leftover goes, and no reaper reports an error for
// either record.
func TestReapConcurrent(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A live owner whose record disappears while the reapers run. It is
	// made first: its New would reap the dead record below by itself.
	live := New(t)

	// A dead owner: this process's PID with a start time it never had.
	dead := &Net{ID: fmt.Sprintf("%06x", os.Getpid()&0xffffff^0xa5a5a5)}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	deadPath := filepath.Join(stateDir, dead.ID)
	if err := os.WriteFile(deadPath, fmt.Appendf(nil, "owner %d 1\n", os.Getpid()), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := "nm" + dead.ID + "-h1"
	veth := "nm" + dead.ID + "v1"
	t.Cleanup(func() {
		_ = ipCmd(context.Background(), "netns", "del", ns)
		_ = ipCmd(context.Background(), "link", "del", veth)
		_ = os.Remove(deadPath)
	})
	for _, s := range [][]string{
		{"netns", "add", ns},
		{"link", "add", veth, "type", "veth", "peer", "name", veth + "p"},
	} {
		if err := ipCmd(ctx, s...); err != nil {
			t.Fatal(err)
		}
	}

	const reapers = 4
	type result struct {
		reaped []string
		err    error
	}
	results := make(chan result, reapers)
	for range reapers {
		go func() {
			r, err := reapStale(ctx)
			results <- result{r, err}
		}()
	}
	live.teardown()
	for range reapers {
		r := <-results
		t.Logf("reaped %v (errors: %v)", r.reaped, r.err)
		if r.err != nil {
			for _, id := range []string{dead.ID, live.ID} {
				if strings.Contains(r.err.Error(), "reap "+id+":") {
					t.Errorf("reapStale: %v", r.err)
				}
			}
		}
		if slices.Contains(r.reaped, live.ID) {
			t.Errorf("reaped the Net of a live owner %s", live.ID)
		}
	}
	// A parallel test binary's New may be the one that reaps the dead
	// record, so judge by what is left rather than by who reaped it.
	if left := leftovers(t, dead.ID); len(left) > 0 {
		t.Errorf("left behind after reaping:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(deadPath); !os.IsNotExist(err) {
		t.Errorf("record %s still there: %v", deadPath, err)
	}
}
