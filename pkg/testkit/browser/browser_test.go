package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

// site serves the pages of testdata on loopback; problems.html fetches a
// URL of a port nothing listens on.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := fmt.Sprintf("http://%s/refused.json", l.Addr())
	l.Close()
	mux := http.NewServeMux()
	for _, page := range []string{"problems.html", "clean.html"} {
		b, err := os.ReadFile(filepath.Join("testdata", page))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("REFUSED_URL"), []byte(refused))
		mux.HandleFunc("GET /"+page, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(b)
		})
	}
	mux.HandleFunc("GET /data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"stratum": 8}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestPage(t *testing.T) {
	srv := site(t)
	b := New(t, Options{})
	ctx := ctxFor(t)

	if err := b.Navigate(ctx, srv.URL+"/problems.html"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, "#done"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Text(ctx, "#title"); err != nil || got != "Clients" {
		t.Errorf("Text(#title) = %q, %v", got, err)
	}
	if err := b.Click(ctx, "#go"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Text(ctx, "#state"); err != nil || got != "started" {
		t.Errorf("Text(#state) after the click = %q, %v", got, err)
	}
	title, err := Run(ctx, b, chromedp.Evaluate[string]("document.title"))
	if err != nil || title != "problems" {
		t.Errorf("document.title = %q, %v", title, err)
	}

	messages := b.Messages()
	if !slices.ContainsFunc(messages, func(m Message) bool {
		return m.Level == "log" && m.Text == "page loaded 42" && strings.HasSuffix(m.URL, "/problems.html")
	}) {
		t.Errorf("no console.log message from the page in %q", messages)
	}
	problems := strings.Join(b.Problems(), "\n")
	t.Logf("problems:\n%s", problems)
	for _, want := range []string{
		"exception: Uncaught Error: boom from a timer",
		"GET " + srv.URL + "/missing.json: HTTP 404",
		"/refused.json: net::ERR_CONNECTION_REFUSED",
		"error (network): Failed to load resource: the server responded with a status of 404",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	if strings.Contains(problems, "page loaded") || strings.Contains(problems, "refused:") {
		t.Errorf("a log or a warning counted as a problem")
	}

	// The same browser on a page with nothing wrong.
	b.Clear()
	if err := b.Navigate(ctx, srv.URL+"/clean.html"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Text(ctx, "#answer"); err != nil || got != "stratum 8" {
		t.Errorf("Text(#answer) = %q, %v", got, err)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("problems on the clean page:\n%s", strings.Join(p, "\n"))
	}
	if m := b.Messages(); !slices.ContainsFunc(m, func(m Message) bool { return m.Level == "info" && m.Text == "all is well" }) {
		t.Errorf("messages on the clean page: %q", m)
	}
}

func TestScreenshot(t *testing.T) {
	srv := site(t)
	// Screenshots go below NTP_SCREENSHOT_DIR when it is set, to look
	// at them.
	keep := os.Getenv("NTP_SCREENSHOT_DIR")
	if keep == "" {
		keep = t.TempDir()
	}
	t.Setenv("NTP_SCREENSHOT_DIR", filepath.Join(keep, "shots"))
	// A viewport shorter than the page: the screenshot is of the page.
	const width, height = 800, 120
	b := New(t, Options{Width: width, Height: height})
	ctx := ctxFor(t)
	if err := b.Navigate(ctx, srv.URL+"/problems.html"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, "#done"); err != nil {
		t.Fatal(err)
	}
	pageHeight, err := Run(ctx, b, chromedp.Evaluate[int]("document.documentElement.scrollHeight"))
	if err != nil {
		t.Fatal(err)
	}
	if pageHeight <= height {
		t.Fatalf("the page is %d tall, not taller than the viewport's %d: the test proves nothing", pageHeight, height)
	}
	path, err := b.Screenshot(ctx, "problems page")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(keep, "shots", "TestScreenshot-problems_page.png"); path != want {
		t.Errorf("screenshot at %s, want %s (NTP_SCREENSHOT_DIR)", path, want)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	r := img.Bounds()
	if r.Dx() != width || r.Dy() != pageHeight {
		t.Errorf("screenshot is %v, want the page's %d×%d", r, width, pageHeight)
	}
	// The text is rendered: the page is not one colour.
	colours := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			colours[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	if len(colours) < 3 {
		t.Errorf("screenshot has %d colours: nothing rendered", len(colours))
	}
}

// checkGone checks that nothing of the browser in dir is left.
func checkGone(t *testing.T, dir string, pid int) {
	t.Helper()
	for range 300 {
		if _, err := leftover.ProcOf(pid); err != nil || zombie(pid) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := leftover.ProcOf(pid); err == nil && !zombie(pid) {
		t.Errorf("browser process %d still runs", pid)
	}
	if n := leftover.KillUsing(dir); n != 0 {
		t.Errorf("%d processes of the browser were still running", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it gone", dir, err)
	}
	state, err := leftover.StateDir(kit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, filepath.Base(dir))); err == nil {
		t.Errorf("the claim on %s is still there", dir)
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// processesIn counts the processes that belong to the browser's directory,
// without killing them.
func processesIn(t *testing.T, dir string) int {
	t.Helper()
	out, err := exec.Command("sh", "-c", "ls -l /proc/[0-9]*/cwd 2>/dev/null | grep -c -- '-> "+dir+"$' || true").Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func TestCleanup(t *testing.T) {
	var dir string
	var pid, procs int
	t.Run("browser", func(t *testing.T) {
		b := New(t, Options{})
		if err := b.Navigate(ctxFor(t), "about:blank"); err != nil {
			t.Fatal(err)
		}
		dir, pid, procs = b.Dir(), b.PID(), processesIn(t, b.Dir())
	})
	if dir == "" {
		t.Fatal("the browser did not start")
	}
	if procs < 2 {
		t.Errorf("%d processes worked in the browser's directory: want the browser and its children", procs)
	}
	checkGone(t, dir, pid)
}

// TestReapAfterKill runs this test binary as a child that starts a browser
// and is then killed with SIGKILL, so that no cleanup runs, and checks that
// the next reap leaves nothing of that browser.
func TestReapAfterKill(t *testing.T) {
	if os.Getenv("BROWSER_REAP_CHILD") == "1" {
		b := New(t, Options{})
		leftover.Ready(t, b.Dir(), b.PID())
		time.Sleep(time.Minute)
		return
	}
	if _, err := exec.LookPath(DefaultExecPath); err != nil {
		t.Skip(err)
	}
	f := leftover.RunKilled(t, "BROWSER_REAP_CHILD")
	var dir string
	var pid int
	if _, err := fmt.Sscan(strings.Join(f, " "), &dir, &pid); err != nil {
		t.Fatalf("child's READY %q: %v", f, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed child left no browser directory behind to reap: the test proves nothing (%v)", err)
	}
	reaped, err := leftover.Reap(kit, nil)
	t.Logf("reaped %v (errors: %v)", reaped, err)
	if err != nil && strings.Contains(err.Error(), dir) {
		t.Errorf("Reap: %v", err)
	}
	checkGone(t, dir, pid)
}

func TestSkip(t *testing.T) {
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		New(t, Options{ExecPath: filepath.Join(t.TempDir(), "chromium")})
	})
	if !skipped {
		t.Error("New did not skip without Chromium")
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"TestUI/overview", "24 h"}, "TestUI_overview-24_h"},
		{[]string{"Test", "../../etc/x"}, "Test-.._.._etc_x"},
	} {
		if got := fileName(tc.in...); got != tc.want {
			t.Errorf("fileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
