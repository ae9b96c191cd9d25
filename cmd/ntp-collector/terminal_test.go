package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient/apiclienttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/human"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable/termtabletest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// collector is a running `ntp-collector serve` holding the apiclienttest
// population, sent through its ingestion port by one worker per interface
// (still connected).
type collector struct {
	api     string
	workers map[string]*ingesttest.Client // by interface
}

func startPopulated(t *testing.T) *collector {
	t.Helper()
	port, httpPort := freePort(t), freePort(t)
	serve(t, filepath.Join(t.TempDir(), "ntp_clients.db"), port,
		"--http-listen", "127.0.0.1:"+strconv.Itoa(httpPort), "--batch-interval", "20ms")
	c := &collector{api: "http://127.0.0.1:" + strconv.Itoa(httpPort), workers: map[string]*ingesttest.Client{}}
	waitUntil(t, "the HTTP API answers", func() bool {
		resp, err := http.Get(c.api + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, s := range apiclienttest.Population(time.Now()) {
		w := c.workers[s.Interface]
		if w == nil {
			w = ingesttest.New(addr, "w-"+s.Interface, s.Interface, "")
			reconnect(t, w)
			t.Cleanup(w.Close)
			c.workers[s.Interface] = w
		}
		if err := w.Send(&s); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range c.workers {
		c.flushAcked(t, w)
	}
	return c
}

func (c *collector) flushAcked(t *testing.T, w *ingesttest.Client) {
	t.Helper()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WaitAcked(ctx, w.Sent()); err != nil {
		t.Fatal(err)
	}
}

// cli runs one ntp-collector command to its end, in a directory of its own
// (so no data/api-token of the checkout is found), and returns its output.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// The table shows, per client, what was sent through ingestion.
func TestClientsTable(t *testing.T) {
	c := startPopulated(t)
	out, errOut, code := cli(t, nil, "clients", "--api", c.api)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	rows := termtabletest.Rows(t, out)
	jsonOut, _, _ := cli(t, nil, "clients", "--api", c.api, "--json")
	var doc struct {
		Data []apiclient.ClientRow `json:"data"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &doc); err != nil {
		t.Fatal(err)
	}
	// C's answered share and mean processing time depend on how the API
	// counts Kiss-o'-Death answers; the table must show what it says.
	var apiC apiclient.ClientRow
	for _, r := range doc.Data {
		if r.ClientIP == apiclienttest.AddrC {
			apiC = r
		}
	}
	want := []map[string]string{
		{"ADDRESS": apiclienttest.AddrA, "IFACE": "eth0", "REQS": "10", "ANS%": "100%", "UNANS": "0", "KOD": "-", "M6/M7": "-",
			"V": "4", "POLL": "64 s", "INTERVAL": "4 s", "LAST SEEN": "3 min ago", "PROC": "842 µs"},
		{"ADDRESS": apiclienttest.AddrC, "IFACE": "eth1", "REQS": "6", "ANS%": human.PercentPtr(apiC.AnswerRatio), "UNANS": "1", "KOD": "2 RATE", "M6/M7": "-",
			"V": "4", "POLL": "1 s", "INTERVAL": "1 s", "LAST SEEN": "5 min ago", "PROC": human.SecondsPtr(apiC.AvgProcessing)},
		{"ADDRESS": apiclienttest.AddrD, "IFACE": "eth1", "REQS": "1", "ANS%": "100%", "UNANS": "0", "KOD": "-", "M6/M7": "2/1",
			"V": "2", "POLL": "64 s", "INTERVAL": "-", "LAST SEEN": "30 min ago", "PROC": "1 ms"},
		{"ADDRESS": apiclienttest.AddrB, "IFACE": "eth0", "REQS": "8", "ANS%": "62.5%", "UNANS": "3", "KOD": "-", "M6/M7": "-",
			"V": "4", "POLL": "1,024 s", "INTERVAL": "64 s", "LAST SEEN": "2 h ago", "PROC": "57.3 µs"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, w := range want {
		for col, v := range w {
			if rows[i][col] != v {
				t.Errorf("row %d (%s) %s = %q, want %q", i, w["ADDRESS"], col, rows[i][col], v)
			}
		}
	}
	t.Logf("ntp-collector clients:\n%s", out)
}

func TestClientsSelection(t *testing.T) {
	c := startPopulated(t)
	const a, b, cc, d = apiclienttest.AddrA, apiclienttest.AddrB, apiclienttest.AddrC, apiclienttest.AddrD
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"requests", nil, []string{"--sort", "requests"}, []string{a, b, cc, d}},
		{"requests ascending", nil, []string{"--sort", "requests", "--order", "asc"}, []string{d, cc, b, a}},
		{"unanswered, limit 2", nil, []string{"--sort", "unanswered", "--limit", "2"}, []string{b, cc}},
		{"interval, by the API", nil, []string{"--sort", "interval"}, []string{cc, a, b, d}},
		{"processing, by the API", nil, []string{"--sort", "processing"}, []string{cc, d, a, b}},
		{"kod, sorted here", nil, []string{"--sort", "kod"}, []string{cc, a, d, b}},
		{"address", nil, []string{"--sort", "address"}, []string{a, cc, d, b}},
		{"cidr", nil, []string{"--cidr", "2001:db8::/32"}, []string{b}},
		{"interface", nil, []string{"--interface", "eth1", "--sort", "requests"}, []string{cc, d}},
		{"from the environment", []string{"NTP_CLIENTS_SORT=requests", "NTP_CLIENTS_LIMIT=1", "NTP_API=" + c.api}, nil, []string{a}},
		{"environment: filter", []string{"NTP_CLIENTS_INTERFACE=eth0", "NTP_CLIENTS_ORDER=asc", "NTP_API=" + c.api}, []string{"--sort", "requests"}, []string{b, a}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"clients"}, tc.args...)
			if !slices.ContainsFunc(tc.env, func(e string) bool { return strings.HasPrefix(e, "NTP_API=") }) {
				args = append(args, "--api", c.api)
			}
			out, errOut, code := cli(t, tc.env, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			var got []string
			for _, r := range termtabletest.Rows(t, out) {
				got = append(got, r["ADDRESS"])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			// The same selection as JSON.
			jsonOut, _, code := cli(t, tc.env, append(args, "--json")...)
			var doc struct {
				Sort struct {
					By        string  `json:"by"`
					APISortBy *string `json:"api_sort_by"`
				} `json:"sort"`
				Data []struct {
					ClientIP string `json:"client_ip"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(jsonOut), &doc); code != 0 || err != nil {
				t.Fatalf("--json: exit %d, %v:\n%s", code, err, jsonOut)
			}
			got = got[:0]
			for _, r := range doc.Data {
				got = append(got, r.ClientIP)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("--json rows %v, want %v", got, tc.want)
			}
			if sortedHere := strings.Contains(tc.name, "sorted here"); sortedHere != (doc.Sort.APISortBy == nil) {
				t.Errorf("api_sort_by %v for --sort %s", doc.Sort.APISortBy, doc.Sort.By)
			}
		})
	}
}

// Every failure is one line on stderr that says what to do.
func TestClientsErrors(t *testing.T) {
	c := startPopulated(t)
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no collector there", []string{"--api", closed}, []string{"cannot reach the collector at " + closed, "connection refused", "is `ntp-collector serve` running there? --api (NTP_API)"}},
		{"not a URL", []string{"--api", "127.0.0.1:8000"}, []string{"--api", "want http://host:port"}},
		{"unknown order", []string{"--api", c.api, "--sort", "sessions"}, []string{`--sort "sessions": want one of last_seen`}},
		{"bad prefix", []string{"--api", c.api, "--cidr", "10.0.0.0/33"}, []string{"400 Bad Request", "cidr"}},
		{"missing token file", []string{"--api", c.api, "--api-token-file", "/nonexistent/token"}, []string{"--api-token-file", "/nonexistent/token", "no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, nil, append([]string{"clients"}, tc.args...)...)
			if code == 0 || out != "" {
				t.Fatalf("exit %d with stdout %q, want a failure", code, out)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "ntp-collector: ") {
				t.Fatalf("stderr %q, want one line", errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("stderr %q does not say %q", lines[0], w)
				}
			}
		})
	}
}

// interfaceRows reads the INTERFACE table of a top frame, which the note
// on its rates (starting "REQ/S ") follows.
func interfaceRows(t *testing.T, frame string) map[string]map[string]string {
	t.Helper()
	i := strings.Index(frame, "INTERFACE ")
	if i < 0 {
		t.Fatalf("no interface table:\n%s", frame)
	}
	table, _, _ := strings.Cut(frame[i:], "\nREQ/S ")
	out := map[string]map[string]string{}
	for _, r := range termtabletest.Rows(t, table) {
		out[r["INTERFACE"]] = r
	}
	return out
}

func section(t *testing.T, frame, title string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(frame, "\n"+title+"\n")
	if !ok {
		t.Fatalf("no %s in:\n%s", title, frame)
	}
	if strings.HasPrefix(rest, "(none)") {
		return nil
	}
	var addrs []string
	for _, r := range termtabletest.Rows(t, rest) {
		addrs = append(addrs, r["ADDRESS"])
	}
	return addrs
}

func TestTopOnce(t *testing.T) {
	c := startPopulated(t)
	out, errOut, code := cli(t, nil, "top", "--once", "--interval", "300ms", "--api", c.api)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	t.Logf("ntp-collector top --once:\n%s", out)
	if strings.Contains(out, "\x1b") {
		t.Error("escape sequences in output that is not a terminal")
	}
	ifs := interfaceRows(t, out)
	want := map[string]map[string]string{
		"eth0": {"WORKERS": "1", "REQ/S": "0.0", "CLIENTS": "2", "REQUESTS": "18", "UNANSWERED": "3", "KOD": "0"},
		"eth1": {"WORKERS": "1", "REQ/S": "0.0", "CLIENTS": "2", "REQUESTS": "7", "UNANSWERED": "1", "KOD": "2"},
	}
	if len(ifs) != len(want) {
		t.Errorf("interfaces %v, want eth0 and eth1", ifs)
	}
	for name, cols := range want {
		for col, v := range cols {
			if ifs[name][col] != v {
				t.Errorf("%s %s = %q, want %q", name, col, ifs[name][col], v)
			}
		}
	}
	const a, b, cc, d = apiclienttest.AddrA, apiclienttest.AddrB, apiclienttest.AddrC, apiclienttest.AddrD
	for _, s := range []struct {
		title string
		want  []string
	}{
		{"TOP TALKERS (most requests)", []string{a, b, cc, d}},
		{"LATEST UNANSWERED", []string{cc, b}},
		{"LATEST KISS-O'-DEATH", []string{cc}},
	} {
		if got := section(t, out, s.title); !slices.Equal(got, s.want) {
			t.Errorf("%s: %v, want %v", s.title, got, s.want)
		}
	}
}

// The refreshing top, as JSON lines: rates appear once their sources have
// moved twice, and SIGINT ends it cleanly.
func TestTopLive(t *testing.T) {
	c := startPopulated(t)
	cmd := exec.Command(bin, "top", "--json", "--interval", "150ms", "--api", c.api)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type iface struct {
		Interface         string   `json:"interface_name"`
		RequestsPerSecond *float64 `json:"requests_per_second"`
		AnsweredRatio     *float64 `json:"answered_ratio"`
		UnansweredPerSec  *float64 `json:"unanswered_per_second"`
		Sessions          int64    `json:"sessions"`
	}
	frames := make(chan map[string]iface, 1000)
	top := background(t, cmd, func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var f struct {
				Interfaces []iface `json:"interfaces"`
			}
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				t.Errorf("a frame is not JSON: %v: %s", err, sc.Text())
				continue
			}
			m := map[string]iface{}
			for _, i := range f.Interfaces {
				m[i.Interface] = i
			}
			frames <- m
		}
		close(frames)
	})
	// sawRate is set by the first frame that shows eth0 receiving requests.
	var sawRate bool
	next := func() map[string]iface {
		t.Helper()
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("top ended: %s", stderr.String())
			}
			if r := f["eth0"].RequestsPerSecond; r != nil && *r > 0 {
				sawRate = true
			}
			return f
		case <-time.After(30 * time.Second):
			t.Fatal("no frame within 30 s")
		}
		return nil
	}
	api, err := apiclient.New(c.api, apiclient.Token{})
	if err != nil {
		t.Fatal(err)
	}
	captured := func(answered int64) {
		t.Helper()
		waitUntil(t, "the stats line reached the collector", func() bool {
			s, err := api.ServiceStatistics(context.Background())
			if err != nil {
				return false
			}
			for _, w := range s.Workers {
				if w.Interface == "eth0" && w.Capture != nil && int64(w.Capture.Answered) == answered {
					return true
				}
			}
			return false
		})
		// A frame read after the collector had it has seen it.
		next()
		next()
	}

	if f := next(); f["eth0"].AnsweredRatio != nil || f["eth0"].Sessions != 18 {
		t.Errorf("first frame eth0 %+v, want 18 sessions and no answered share yet", f["eth0"])
	}
	w := c.workers["eth0"]
	w.SendRaw(wire.AppendStats(nil, &wire.Stats{Sessions: 100, Answered: 100}))
	w.Flush()
	captured(100)
	if sawRate {
		t.Error("a request rate above zero before any session was sent")
	}
	w.SendRaw(wire.AppendStats(nil, &wire.Stats{Sessions: 200, Answered: 190, Unanswered: 10}))
	// Sessions flow while top samples: a request rate above zero.
	for _, s := range apiclienttest.Population(time.Now())[:10] { // A's ten requests, again
		w.Send(&s)
	}
	c.flushAcked(t, w)
	captured(190)
	var sawRatio bool
	for i := 0; i < 200 && !sawRatio; i++ {
		e := next()["eth0"]
		if e.AnsweredRatio != nil {
			if *e.AnsweredRatio != 0.9 || e.UnansweredPerSec == nil || *e.UnansweredPerSec <= 0 {
				t.Fatalf("eth0 %+v: want 90 %% answered (90 of the last 100) and unanswered/s above 0", e)
			}
			sawRatio = true
		}
	}
	if !sawRatio || !sawRate {
		t.Errorf("answered share seen %v, request rate seen %v", sawRatio, sawRate)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range frames {
	}
	if err := top.wait(t); err != nil {
		t.Errorf("top after SIGINT: %v (stderr %q)", err, stderr.String())
	}
}

// On a terminal top redraws in place, leaves the screen as it found it and
// ends on q or Ctrl-C.
func TestTopTerminal(t *testing.T) {
	c := startPopulated(t)
	for _, key := range []struct {
		name  string
		bytes string
	}{{"q", "q"}, {"Ctrl-C", "\x03"}} {
		t.Run(key.name, func(t *testing.T) {
			pty, tty := openPTY(t, 60, 200)
			cmd := exec.Command(bin, "top", "--interval", "100ms", "--api", c.api)
			cmd.Dir = t.TempDir()
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
			// A session of its own with the terminal as its controlling
			// one, so Ctrl-C reaches it as SIGINT.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			top := background(t, cmd, nil)
			screen := &syncbuf.Buffer{}
			go io.Copy(screen, pty)
			waitUntil(t, "three frames drawn", func() bool { return strings.Count(screen.String(), "\x1b[H") >= 3 })
			if _, err := io.WriteString(pty, key.bytes); err != nil {
				t.Fatal(err)
			}
			if err := top.wait(t); err != nil {
				t.Errorf("top after %s: %v", key.name, err)
			}
			out := screen.String()
			for _, seq := range []string{"\x1b[?1049h", "\x1b[?25l", "q quits", "TOP TALKERS", "\x1b[K", "\x1b[J"} {
				if !strings.Contains(out, seq) {
					t.Errorf("the screen never got %q", seq)
				}
			}
			waitUntil(t, "the screen restored", func() bool { return strings.HasSuffix(screen.String(), "\x1b[?25h\x1b[?1049l") })
			tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
				t.Errorf("terminal left without line editing or echo (lflag %#x)", tio.Lflag)
			}
		})
	}
}

// running is a started command waited for in the background.
type running struct {
	done chan struct{}
	err  error
}

// background waits for cmd, after drain (which reads its output pipe to
// the end, as Wait requires) returns. A command still running when the test
// ends is killed.
func background(t *testing.T, cmd *exec.Cmd, drain func()) *running {
	r := &running{done: make(chan struct{})}
	go func() {
		if drain != nil {
			drain()
		}
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait returns the command's exit error; it fails the test if the command
// is still running after 30 s.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(30 * time.Second):
		t.Fatal("still running after 30 s")
	}
	return nil
}
