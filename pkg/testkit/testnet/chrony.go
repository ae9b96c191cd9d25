package testnet

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

// ChronyOptions configures a chronyd server.
type ChronyOptions struct {
	// Stratum is the `local stratum`; 0 means 8.
	Stratum int
	// RateLimit, when set, is appended to a `ratelimit` directive, e.g.
	// "interval -4 burst 2 leak 1". chrony drops rate-limited requests
	// (it sends no KoD), and counts them in Clients' NTPDrops.
	RateLimit string
	// AllAddresses makes chronyd listen on every address of the
	// namespace instead of binding the host's primary V4 and V6 only.
	AllAddresses bool
	// Extra holds more chrony.conf lines.
	Extra []string
}

// Chronyd is a chronyd server running in a host's namespace.
type Chronyd struct {
	Host *Host
	// Dir holds the config, pid, drift and log files and the command socket.
	Dir string
	// Socket is the command socket chronyc talks to.
	Socket string
	Proc   *Proc
}

// shortTempDir returns a private directory with a short path (a Unix socket
// path is limited to 107 bytes, and t.TempDir paths can be longer), removed
// when the test ends. It is claimed for the reaper, which removes it if the
// test binary dies before its cleanups run.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	rec, err := leftover.Claim(dirKit, dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("testnet: %v", err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		rec.Release()
	})
	// chronyd refuses a socket directory that others can read.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	return dir
}

// StartChronyd starts chronyd as an NTP server on the host's addresses
// (port 123): foreground (-d), never touching the clock (-x), serving
// `local stratum` to the test subnets, with its command port closed and a
// command socket in its own directory. It returns once chronyd answers on
// that socket (its NTP sockets are open by then); no NTP packet is sent to
// check, so the server's client log starts empty.
func (h *Host) StartChronyd(t testing.TB, opts ChronyOptions) *Chronyd {
	t.Helper()
	requireBin(t, "chronyd")
	requireBin(t, "chronyc")
	stratum := opts.Stratum
	if stratum == 0 {
		stratum = 8
	}
	dir := shortTempDir(t, "nmc")
	c := &Chronyd{Host: h, Dir: dir, Socket: filepath.Join(dir, "chronyd.sock")}
	conf := []string{
		fmt.Sprintf("local stratum %d", stratum),
		"allow " + SubnetV4,
		"allow " + SubnetV6,
		"cmdport 0",
		"bindcmdaddress " + c.Socket,
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"driftfile " + filepath.Join(dir, "drift"),
		"clientloglimit 1048576",
	}
	if !opts.AllAddresses {
		conf = append(conf, "bindaddress "+h.V4.String(), "bindaddress "+h.V6.String())
	}
	if opts.RateLimit != "" {
		conf = append(conf, "ratelimit "+opts.RateLimit)
	}
	conf = append(conf, opts.Extra...)
	confPath := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	c.Proc = h.Start(t, "chronyd", "-x", "-d", "-u", "root", "-f", confPath)

	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := exec.CommandContext(ctx, "chronyc", "-h", c.Socket, "-n", "tracking").Run()
		cancel()
		if err == nil {
			return c
		}
		select {
		case <-c.Proc.Done():
			t.Fatalf("testnet: chronyd in %s exited: %v\n%s", h.NS, c.Proc.Err(), c.Proc.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testnet: chronyd in %s not answering on %s: %v\n%s", h.NS, c.Socket, err, c.Proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ChronyClient is one line of `chronyc clients`: what chronyd's client log
// holds for one address.
type ChronyClient struct {
	Addr netip.Addr
	// NTPPackets counts NTP requests received, NTPDrops those not
	// answered because of rate limiting.
	NTPPackets, NTPDrops uint64
	// NTPInterval is the log2 of the average interval between requests
	// (127 when unknown).
	NTPInterval int
	// NTPLastAgo is the number of seconds since the last request.
	NTPLastAgo uint64
	CmdPackets uint64
	CmdDrops   uint64
}

// Clients runs `chronyc -c -n clients` against the server's socket and
// parses its CSV output.
func (c *Chronyd) Clients(ctx context.Context) ([]ChronyClient, error) {
	out, err := exec.CommandContext(ctx, "chronyc", "-h", c.Socket, "-n", "-c", "clients").Output()
	if err != nil {
		return nil, fmt.Errorf("chronyc clients on %s: %w", c.Socket, err)
	}
	return parseChronyClients(string(out))
}

func parseChronyClients(text string) ([]ChronyClient, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("chronyc clients: %w", err)
	}
	var cl []ChronyClient
	for _, f := range recs {
		// hostname, ntp hits, ntp drops, ntp interval, ntp interval
		// limit, ntp last, cmd hits, cmd drops, cmd interval, cmd last
		if len(f) < 10 {
			return nil, fmt.Errorf("chronyc clients: %d fields in %q, want 10", len(f), strings.Join(f, ","))
		}
		var c ChronyClient
		if c.Addr, err = netip.ParseAddr(f[0]); err != nil {
			return nil, fmt.Errorf("chronyc clients: %w", err)
		}
		u := func(s string) uint64 {
			v, e := strconv.ParseUint(s, 10, 64)
			if e != nil && err == nil {
				err = fmt.Errorf("chronyc clients: field %q: %w", s, e)
			}
			return v
		}
		c.NTPPackets, c.NTPDrops = u(f[1]), u(f[2])
		iv, e := strconv.Atoi(f[3])
		if e != nil && err == nil {
			err = fmt.Errorf("chronyc clients: field %q: %w", f[3], e)
		}
		c.NTPInterval = iv
		c.NTPLastAgo = u(f[5])
		c.CmdPackets, c.CmdDrops = u(f[6]), u(f[7])
		if err != nil {
			return nil, err
		}
		cl = append(cl, c)
	}
	return cl, nil
}

// ChronyQuery runs a one-shot `chronyd -Q` client (query only, never -q)
// against server port 123, sending one request. Extra words are added to
// the server directive, e.g. "port", "1123" or "version", "3". It returns
// chronyd's output; the error is non-nil when no usable answer came within
// 3 s.
func (h *Host) ChronyQuery(ctx context.Context, server netip.Addr, extra ...string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "nmq")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	directive := "server " + server.String() + " iburst maxsamples 1"
	if len(extra) > 0 {
		directive += " " + strings.Join(extra, " ")
	}
	return h.Run(ctx, "chronyd", "-Q", "-t", "3", "-u", "root",
		directive, "pidfile "+filepath.Join(dir, "chronyd.pid"))
}

// Ntpdig runs ntpsec's ntpdig against server with a 2 s timeout; it only
// queries, it never sets the clock. Extra arguments go before the address,
// e.g. "-p", "2" for two samples.
func (h *Host) Ntpdig(ctx context.Context, server netip.Addr, args ...string) ([]byte, error) {
	argv := append([]string{"-t", "2"}, args...)
	return h.Run(ctx, "ntpdig", append(argv, server.String())...)
}

// Ntpdate runs ntpsec's ntpdate compatibility script in query mode
// (`ntpdate -q`), which sends one request through ntpdig.
func (h *Host) Ntpdate(ctx context.Context, server netip.Addr) ([]byte, error) {
	return h.Run(ctx, "ntpdate", "-q", "-t", "2", server.String())
}
