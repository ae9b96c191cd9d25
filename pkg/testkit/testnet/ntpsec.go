package testnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NtpsecDir returns the directory holding ntpsec's unpacked usr/ tree: the
// NTP_TESTNET_NTPSEC environment variable when set, else .deps/ntpsec in the
// module root, found by walking up from the working directory to go.mod.
// ntpsec's ntpd conflicts with chrony as a Debian package, so scripts/deps.sh
// unpacks it there instead of installing it.
func NtpsecDir() (string, error) {
	if d := os.Getenv("NTP_TESTNET_NTPSEC"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, ".deps", "ntpsec")
			if _, err := os.Stat(filepath.Join(d, "usr", "sbin", "ntpd")); err != nil {
				return "", fmt.Errorf("ntpsec's ntpd not unpacked under %s (run scripts/deps.sh): %w", d, err)
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory to find .deps/ntpsec from")
		}
		dir = parent
	}
}

// NtpsecOptions configures an ntpsec ntpd server.
type NtpsecOptions struct {
	// KoD sets `restrict default kod limited` (without it ntpd's built-in
	// `limited` is lifted too): clients that exceed the
	// `discard` limits (by default an average of one request per 8 s,
	// minimum 2 s apart) get no answer or a RATE Kiss-o'-Death.
	KoD bool
	// Discard, when set, replaces the default discard limits, e.g.
	// "average 3 minimum 2" (see ntpsec's ntp.conf).
	Discard string
	// AllAddresses makes ntpd listen on every address of the namespace
	// instead of the host's primary V4 and V6 only.
	AllAddresses bool
	// Extra holds more ntp.conf lines.
	Extra []string
}

// Ntpd is ntpsec's ntpd running in a host's namespace.
type Ntpd struct {
	Host *Host
	// Dir holds the config, pid, drift and statistics files.
	Dir  string
	Proc *Proc

	ntpq string
}

// StartNtpsec starts ntpsec's ntpd in the foreground (-n) as a server on the
// host's addresses, port 123. It runs in orphan mode at stratum 8 with no
// upstream, so it is synchronised at once and answers stratum 8 with refid
// 127.0.0.1 (the orphan loopback refid). Mode 6 queries are allowed from
// everywhere. It returns once ntpq reads a stratum below 16 over loopback
// inside the namespace; those queries come from 127.0.0.1, which MRUList
// leaves out. The test is skipped when ntpsec is not unpacked.
func (h *Host) StartNtpsec(t testing.TB, opts NtpsecOptions) *Ntpd {
	t.Helper()
	root, err := NtpsecDir()
	if err != nil {
		t.Skipf("testnet: %v", err)
	}
	dir := shortTempDir(t, "nmn")
	d := &Ntpd{Host: h, Dir: dir, ntpq: filepath.Join(root, "usr", "bin", "ntpq")}
	// ntpd's built-in default entry has noquery and limited; lift
	// noquery so mode 6 is answered from everywhere, and limited unless
	// KoDs are wanted.
	restrict := []string{"unrestrict default noquery limited"}
	if opts.KoD {
		restrict = []string{"restrict default kod limited", "unrestrict default noquery"}
	}
	conf := append(restrict,
		"restrict 127.0.0.1",
		"restrict ::1",
		"driftfile "+filepath.Join(dir, "ntp.drift"),
		"statsdir "+dir+"/",
		"tos orphan 8 orphanwait 0",
	)
	if !opts.AllAddresses {
		conf = append(conf, "interface ignore wildcard",
			"interface listen "+h.V4.String(), "interface listen "+h.V6.String())
	}
	if opts.Discard != "" {
		conf = append(conf, "discard "+opts.Discard)
	}
	conf = append(conf, opts.Extra...)
	confPath := filepath.Join(dir, "ntp.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	d.Proc = h.Start(t, filepath.Join(root, "usr", "sbin", "ntpd"), "-n", "-c", confPath, "-p", filepath.Join(dir, "ntpd.pid"))

	deadline := time.Now().Add(20 * time.Second)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		out, err := h.Run(ctx, d.ntpq, "-n", "-c", "rv 0 stratum", "127.0.0.1")
		cancel()
		last = strings.TrimSpace(string(out))
		if err == nil && synchronised(last) {
			return d
		}
		select {
		case <-d.Proc.Done():
			t.Fatalf("testnet: ntpd in %s exited: %v\n%s", h.NS, d.Proc.Err(), d.Proc.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testnet: ntpd in %s not synchronised (last ntpq: %q, %v)\n%s", h.NS, last, err, d.Proc.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// synchronised reports whether ntpq's `rv 0 stratum` output shows a
// stratum below 16. ntpq may print a "No association IDs" line first.
func synchronised(rv string) bool {
	for _, line := range strings.Split(rv, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "stratum="); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, ",")))
			return err == nil && n < 16
		}
	}
	return false
}

// MRUEntry is one line of ntpd's most-recently-used list: what ntpd knows
// about one client address and port.
type MRUEntry struct {
	Addr netip.AddrPort
	// LastInt is seconds since the last packet, AvgInt the average
	// interval between packets.
	LastInt int
	AvgInt  float64
	// Restrict is the restriction flags in hex, as ntpq prints them.
	Restrict string
	// Mode and Version of the last packet.
	Mode, Version int
	// Count is packets received, Drop those rate-limited (not answered
	// or answered with a KoD).
	Count int
	Score float64
	Drop  int
}

// MRUList runs `ntpq -n -w -c mrulist` against ntpd over loopback inside
// the namespace and returns its entries, leaving out loopback clients (ntpq
// itself). ntpq is ntpsec's, a Python program that needs python3-ntp.
func (d *Ntpd) MRUList(ctx context.Context) ([]MRUEntry, error) {
	out, err := d.Host.Run(ctx, d.ntpq, "-n", "-w", "-c", "mrulist", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	return parseMRUList(string(out))
}

func parseMRUList(text string) ([]MRUEntry, error) {
	var list []MRUEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		// lstint avgint rstr r m v count score drop rport remote-address
		if len(f) != 11 || f[0] == "lstint" {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue // banner, totals or "# Collected …"
		}
		var e MRUEntry
		var errs []error
		atoi := func(s string) int {
			v, err := strconv.Atoi(s)
			errs = append(errs, err)
			return v
		}
		atof := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			errs = append(errs, err)
			return v
		}
		e.LastInt = atoi(f[0])
		e.AvgInt = atof(f[1])
		e.Restrict = f[2]
		e.Mode = atoi(f[4])
		e.Version = atoi(f[5])
		e.Count = atoi(f[6])
		e.Score = atof(f[7])
		e.Drop = atoi(f[8])
		port := atoi(f[9])
		addr, err := netip.ParseAddr(strings.Trim(f[10], "[]"))
		errs = append(errs, err)
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("ntpq mrulist line %q: %w", line, err)
		}
		if addr.IsLoopback() {
			continue
		}
		e.Addr = netip.AddrPortFrom(addr, uint16(port))
		list = append(list, e)
	}
	return list, sc.Err()
}

// Ntpq runs ntpsec's ntpq inside the namespace with the given arguments.
func (d *Ntpd) Ntpq(ctx context.Context, args ...string) ([]byte, error) {
	return d.Host.Run(ctx, d.ntpq, args...)
}
