package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// kit names the browser's claims (package leftover).
const kit = "browser"

// DefaultExecPath is Debian's Chromium.
const DefaultExecPath = "/usr/bin/chromium"

// Options configures a browser. The zero value is Chromium at
// DefaultExecPath with a 1280×800 window.
type Options struct {
	// ExecPath is the Chromium to run; empty means DefaultExecPath.
	ExecPath string
	// Width and Height are the viewport's size in CSS pixels; zero means
	// 1280 and 800. A full-page screenshot is as wide as the viewport and
	// as tall as the page, or the viewport when the page is shorter.
	Width, Height int
	// ScreenshotDir is where Screenshot writes; empty means the
	// NTP_SCREENSHOT_DIR environment variable, or the test's temp
	// directory when that is unset.
	ScreenshotDir string
}

// Browser is one headless Chromium with one tab, belonging to a test. Its
// methods are safe for concurrent use, but the tab does one thing at a
// time: actions from several goroutines run in turn.
type Browser struct {
	tb     testing.TB
	dir    string // the profile, HOME, XDG dirs and TMPDIR
	shots  string
	pid    int
	output *syncbuf.Buffer // what Chromium printed

	tab         context.Context // chromedp's context of the tab
	busy        sync.Mutex      // held while an action runs on the tab
	cancelTab   context.CancelFunc
	cancelAlloc context.CancelFunc
	rec         *leftover.Record

	log eventLog

	closeOnce sync.Once
}

// New starts a browser for the test and closes it, killing every process
// of it, when the test ends. It skips the test when Chromium is missing
// and fails it when Chromium does not start.
func New(tb testing.TB, opts Options) *Browser {
	tb.Helper()
	execPath := opts.ExecPath
	if execPath == "" {
		execPath = DefaultExecPath
	}
	if _, err := exec.LookPath(execPath); err != nil {
		tb.Skipf("browser: %s not found (make deps, or apt-get install chromium): %v", execPath, err)
	}
	if reaped, err := leftover.Reap(kit, nil); len(reaped) > 0 || err != nil {
		tb.Logf("browser: removed the browsers dead test processes left behind: %v (errors: %v)", reaped, err)
	}
	shots, err := screenshotDir(tb, opts.ScreenshotDir)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ntpm-chromium-")
	if err != nil {
		tb.Fatalf("browser: %v", err)
	}
	rec, err := leftover.Claim(kit, dir)
	if err != nil {
		os.RemoveAll(dir)
		tb.Fatalf("browser: %v", err)
	}
	b := &Browser{tb: tb, dir: dir, shots: shots, rec: rec, output: &syncbuf.Buffer{}}
	tb.Cleanup(func() {
		if err := b.close(); err != nil {
			tb.Errorf("browser: %v", err)
		}
	})
	if err := b.start(execPath, opts); err != nil {
		tb.Fatalf("browser: start %s: %v\n%s", execPath, err, b.output.String())
	}
	return b
}

func (b *Browser) start(execPath string, opts Options) error {
	w, h := opts.Width, opts.Height
	if w == 0 {
		w = 1280
	}
	if h == 0 {
		h = 800
	}
	for _, d := range []string{"profile", "config", "cache", "tmp"} {
		if err := os.Mkdir(filepath.Join(b.dir, d), 0o700); err != nil {
			return err
		}
	}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(filepath.Join(b.dir, "profile")),
		chromedp.WindowSize(w, h),
		chromedp.NoInheritEnv,
		chromedp.Env(
			"PATH=/usr/bin:/bin",
			"HOME="+b.dir,
			"XDG_CONFIG_HOME="+filepath.Join(b.dir, "config"),
			"XDG_CACHE_HOME="+filepath.Join(b.dir, "cache"),
			"TMPDIR="+filepath.Join(b.dir, "tmp"),
			"LANG=C.UTF-8",
			"TZ=UTC",
		),
		chromedp.CombinedOutput(b.output),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{}
			}
			// What chromedp does without this func: the kernel
			// kills the browser when the test binary dies.
			cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
			// Working in its directory marks the browser and
			// every child it starts as the browser's, for
			// leftover.KillUsing, besides their --user-data-dir.
			cmd.Dir = b.dir
		}),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	b.cancelAlloc = cancelAlloc
	b.tab, b.cancelTab = chromedp.NewContext(allocCtx)
	// The first action starts the browser, and the browser lives as long
	// as that action's context: no timeout on it, but a watchdog.
	watchdog := time.AfterFunc(time.Minute, cancelAlloc)
	// Headless Chromium keeps room for a toolbar it does not draw, so the
	// window size alone leaves a shorter viewport: set it exactly.
	err := chromedp.Do(b.tab, chromedp.EmulateViewport(int64(w), int64(h)))
	if !watchdog.Stop() {
		return errors.New("not ready within a minute")
	}
	if err != nil {
		return err
	}
	if p := chromedp.FromContext(b.tab).Browser.Process(); p != nil {
		b.pid = p.Pid
	}
	return chromedp.Listen(b.tab, b.log.record)
}

// PID returns the browser's main process ID.
func (b *Browser) PID() int { return b.pid }

// Dir returns the browser's temp directory, which holds its profile.
func (b *Browser) Dir() string { return b.dir }

// close closes the browser, kills what is left of it and removes its
// directory. It is safe to call more than once.
func (b *Browser) close() error {
	var err error
	b.closeOnce.Do(func() {
		if b.tab != nil {
			// A graceful close first, so that Chromium does not
			// print a crash report; then the allocator kills it.
			ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
			_ = chromedp.Cancel(ctx)
			cancel()
			b.cancelTab()
			b.cancelAlloc()
		}
		leftover.KillUsing(b.dir)
		if e := os.RemoveAll(b.dir); e != nil {
			err = e
			return
		}
		b.rec.Release()
	})
	return err
}

// screenshotDir returns where screenshots go: dir, else
// NTP_SCREENSHOT_DIR, else a temp directory of the test.
func screenshotDir(tb testing.TB, dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("NTP_SCREENSHOT_DIR")
	}
	if dir == "" {
		return tb.TempDir(), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("browser: screenshot directory: %w", err)
	}
	return dir, nil
}

// fileName turns a test name and a screenshot name into a file name.
func fileName(parts ...string) string {
	s := strings.Join(parts, "-")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
