package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// Subnets the hosts' addresses come from, e.g. for a server's allow list.
const (
	SubnetV4 = "192.0.2.0/24"
	SubnetV6 = "2001:db8:0:1::/64"
)

// firstHostOctet is the last octet (or last group) of the first address
// handed out; lower ones stay free for tests that want fixed addresses.
const firstHostOctet = 10

// Require skips the test unless it runs as root with ip(8) and setpriv(1)
// available, which building namespaces and dropping CAP_SYS_TIME need.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testnet: needs root to create network namespaces (run the tests as root, e.g. sudo go test)")
	}
	for _, bin := range []string{"ip", "setpriv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("testnet: %s not found in PATH (install iproute2 and util-linux)", bin)
		}
	}
}

// requireBin skips the test when a program it needs is missing.
func requireBin(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("testnet: %s not found in PATH (run scripts/deps.sh)", name)
	}
	return p
}

// Net is one topology: a bridge in the root namespace and the hosts on it.
type Net struct {
	// Bridge is the name of the bridge device in the root namespace.
	Bridge string
	// ID is the random part shared by every name this Net creates.
	ID string

	t testing.TB

	mu       sync.Mutex
	hosts    []*Host
	nextAddr int
	procs    []*Proc
}

// New creates an empty bridge and registers the teardown of everything the
// Net will create. It fails the test when the bridge cannot be created.
func New(t testing.TB) *Net {
	t.Helper()
	Require(t)
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testnet: random name: %v", err)
	}
	id := hex.EncodeToString(b[:])
	n := &Net{Bridge: "nm" + id + "br", ID: id, t: t, nextAddr: firstHostOctet}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if reaped, err := reapStale(ctx); len(reaped) > 0 || err != nil {
		t.Logf("testnet: removed what dead test processes left behind: %v (errors: %v)", reaped, err)
	}
	if err := n.claim(); err != nil {
		t.Fatalf("testnet: record in %s: %v", stateDir, err)
	}
	t.Cleanup(n.teardown)
	steps := [][]string{
		{"link", "add", n.Bridge, "type", "bridge"},
	}
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			t.Fatalf("testnet: %v", err)
		}
	}
	// No IPv6 on the bridge: it would send router and neighbour
	// solicitations that show up in every capture.
	if err := disableIPv6(n.Bridge); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	if err := ipCmd(ctx, "link", "set", n.Bridge, "up"); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	return n
}

// Host is a network namespace with one interface on the bridge.
type Host struct {
	// Name is the name given to AddHost.
	Name string
	// NS is the network namespace (as listed by `ip netns list`).
	NS string
	// Iface is the interface inside the namespace ("eth0").
	Iface string
	// Peer is the root-namespace end of the veth pair, a port of the bridge.
	Peer string
	// V4 and V6 are the host's primary addresses.
	V4, V6 netip.Addr

	net *Net

	mu     sync.Mutex
	prefix []netip.Prefix // every address given to the host, with its subnet
}

func (h *Host) addPrefix(p netip.Prefix) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prefix = append(h.prefix, p)
}

// AddHost creates a namespace joined to the bridge, with lo up and one IPv4
// and one IPv6 address on its interface (IPv6 without duplicate address
// detection, so the address is usable at once). It fails the test on error.
func (n *Net) AddHost(name string) *Host {
	n.t.Helper()
	n.mu.Lock()
	idx := len(n.hosts)
	h := &Host{
		Name:  name,
		NS:    fmt.Sprintf("nm%s-%s", n.ID, name),
		Iface: "eth0",
		Peer:  fmt.Sprintf("nm%sh%d", n.ID, idx),
		net:   n,
	}
	n.hosts = append(n.hosts, h)
	n.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ipCmd(ctx, "netns", "add", h.NS); err != nil {
		n.t.Fatalf("testnet: %v", err)
	}
	if err := ipCmd(ctx, "link", "add", h.Peer, "type", "veth", "peer", "name", h.Iface, "netns", h.NS); err != nil {
		n.t.Fatalf("testnet: %v", err)
	}
	if err := disableIPv6(h.Peer); err != nil {
		n.t.Fatalf("testnet: %v", err)
	}
	for _, s := range [][]string{
		{"link", "set", h.Peer, "master", n.Bridge, "up"},
		{"-n", h.NS, "link", "set", "lo", "up"},
		{"-n", h.NS, "link", "set", h.Iface, "up"},
	} {
		if err := ipCmd(ctx, s...); err != nil {
			n.t.Fatalf("testnet: %v", err)
		}
	}
	h.V4, h.V6 = h.AddAddr()
	return h
}

// AddAddr adds one more IPv4 and IPv6 address to the host's interface and
// returns them. Useful as a destination that nothing listens on.
func (h *Host) AddAddr() (v4, v6 netip.Addr) {
	n := h.net
	n.t.Helper()
	n.mu.Lock()
	k := n.nextAddr
	n.nextAddr++
	n.mu.Unlock()
	if k > 254 {
		n.t.Fatalf("testnet: out of addresses in %v", SubnetV4)
	}
	p4, p6 := netip.MustParsePrefix(SubnetV4), netip.MustParsePrefix(SubnetV6)
	a4, a6 := p4.Addr().As4(), p6.Addr().As16()
	a4[3] = byte(k)
	a6[14], a6[15] = byte(k>>8), byte(k)
	v4, v6 = netip.AddrFrom4(a4), netip.AddrFrom16(a6)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ipCmd(ctx, "-n", h.NS, "addr", "add", fmt.Sprintf("%s/%d", v4, p4.Bits()), "dev", h.Iface); err != nil {
		n.t.Fatalf("testnet: %v", err)
	}
	if err := ipCmd(ctx, "-n", h.NS, "addr", "add", fmt.Sprintf("%s/%d", v6, p6.Bits()), "dev", h.Iface, "nodad"); err != nil {
		n.t.Fatalf("testnet: %v", err)
	}
	h.addPrefix(netip.PrefixFrom(v4, p4.Bits()))
	h.addPrefix(netip.PrefixFrom(v6, p6.Bits()))
	return v4, v6
}

// Addr returns the host's address that reaches other: the first one in
// the same subnet, else the primary address of other's family.
func (h *Host) Addr(other netip.Addr) netip.Addr {
	other = other.Unmap()
	h.mu.Lock()
	for _, p := range h.prefix {
		if p.Masked().Contains(other) {
			h.mu.Unlock()
			return p.Addr()
		}
	}
	h.mu.Unlock()
	if other.Is4() {
		return h.V4
	}
	return h.V6
}

// Hosts returns the hosts added so far.
func (n *Net) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Host(nil), n.hosts...)
}

// Command returns a command that runs name inside the host's namespace
// without CAP_SYS_TIME. Its process gets its own process group so that
// Proc.Stop can signal it and anything it forks.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", h.NS,
		"setpriv", "--bounding-set", "-sys_time", "--inh-caps", "-sys_time", "--",
		name}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Run runs name inside the namespace and returns its combined output. The
// error, if any, includes the output.
func (h *Host) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), h.NS, err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Proc is a long-running process started in a namespace.
type Proc struct {
	Cmd *exec.Cmd

	out  *syncbuf.Buffer
	done chan struct{}
	err  error // valid after done is closed
	once sync.Once
}

// Start starts name inside the namespace and stops it (SIGTERM, then
// SIGKILL after 3 s) when the test ends. It fails the test if the process
// cannot be started. Output goes to an in-memory buffer, see Output.
func (h *Host) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	cmd := h.Command(context.Background(), name, args...)
	return h.net.StartCmd(t, cmd)
}

// StartCmd starts cmd as it is (in the root namespace unless it says
// otherwise, e.g. tcpdump on the bridge or a collector) and stops it like
// Start when the test ends or the Net is torn down.
func (n *Net) StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	p := &Proc{Cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testnet: start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.mu.Lock()
	n.procs = append(n.procs, p)
	n.mu.Unlock()
	t.Cleanup(p.Stop)
	if err := n.record(cmd.Process.Pid); err != nil {
		// The process may already have exited; it then needs no reaping.
		t.Logf("testnet: record pid %d: %v", cmd.Process.Pid, err)
	}
	return p
}

// Output returns what the process has written to stdout and stderr so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns the exit error once the process has exited, nil before.
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process group, waits up to 3 s, then SIGKILLs
// it. It is safe to call more than once.
func (p *Proc) Stop() {
	p.once.Do(func() {
		pid := p.Cmd.Process.Pid
		select {
		case <-p.done:
			return
		default:
		}
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(3 * time.Second):
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	})
}

// Kill sends SIGKILL to the process group and waits for the process.
func (p *Proc) Kill() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// teardown kills what is left, then removes namespaces, veths and bridge.
func (n *Net) teardown() {
	n.mu.Lock()
	procs := append([]*Proc(nil), n.procs...)
	hosts := append([]*Host(nil), n.hosts...)
	n.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, h := range hosts {
		// Anything still running inside a namespace this Net created
		// was started by the test (a daemon's child, say): end it so
		// the namespace can go.
		if out, err := exec.CommandContext(ctx, "ip", "netns", "pids", h.NS).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				// Never this process: a thread of ours that
				// entered the namespace can make it show up.
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if linkExists(ctx, h.Peer) {
			if err := ipCmd(ctx, "link", "del", h.Peer); err != nil {
				errs = append(errs, err)
			}
		}
		if nsExists(h.NS) {
			if err := ipCmd(ctx, "netns", "del", h.NS); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if linkExists(ctx, n.Bridge) {
		if err := ipCmd(ctx, "link", "del", n.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		n.t.Errorf("testnet: teardown: %v", err)
		return
	}
	n.forget()
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func linkExists(ctx context.Context, name string) bool {
	return exec.CommandContext(ctx, "ip", "link", "show", "dev", name).Run() == nil
}

// ipCmd runs ip(8) in the root namespace.
func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func disableIPv6(dev string) error {
	p := "/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6"
	if err := os.WriteFile(p, []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("disable IPv6 on %s: %w", dev, err)
	}
	return nil
}
