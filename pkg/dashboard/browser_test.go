package dashboard_test

// A headless Chromium for the view tests, until pkg/testkit/browser (same
// method names) is on main; then this file goes and the tests call
// browser.New.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

type browser struct {
	ctx  context.Context
	dir  string
	mu   sync.Mutex
	errs []string
	tb   testing.TB
}

func newBrowser(tb testing.TB) *browser {
	tb.Helper()
	if _, err := os.Stat(chromium); err != nil {
		tb.Skipf("%s missing (apt-get install chromium): %v", chromium, err)
	}
	b := &browser{dir: tb.TempDir(), tb: tb}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(b.dir, "profile")), chromedp.WindowSize(1280, 800),
		chromedp.Env("TZ=UTC"))
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.record))
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start %s: %v", chromium, err)
	}
	b.ctx = ctx
	return b
}

// record keeps console errors, exceptions, error log entries and failed
// requests; it runs in chromedp's reading loop and only appends.
func (b *browser) record(ev any) {
	var p string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			p = "console." + string(e.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		p = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			p += " " + e.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			p = "log: " + e.Entry.Text + " " + e.Entry.URL
		}
	case *network.EventLoadingFailed:
		if !e.Canceled {
			p = "request failed: " + e.ErrorText
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			p = fmt.Sprintf("HTTP %d: %s", e.Response.Status, e.Response.URL)
		}
	}
	if p != "" {
		b.mu.Lock()
		b.errs = append(b.errs, p)
		b.mu.Unlock()
	}
}

func (b *browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

func (b *browser) Clear() {
	b.mu.Lock()
	b.errs = nil
	b.mu.Unlock()
}

func (b *browser) tab(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

func (b *browser) Do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	c, done := b.tab(ctx)
	defer done()
	return chromedp.Do(c, actions...)
}

func run[T any](ctx context.Context, b *browser, a chromedp.Action[T]) (T, error) {
	c, done := b.tab(ctx)
	defer done()
	return chromedp.Run(c, a)
}

func (b *browser) Navigate(ctx context.Context, url string) error {
	return b.Do(ctx, chromedp.Navigate(url))
}

func (b *browser) WaitVisible(ctx context.Context, sel string) error {
	return b.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *browser) Text(ctx context.Context, sel string) (string, error) {
	return run(ctx, b, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) Click(ctx context.Context, sel string) error {
	return b.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) Screenshot(ctx context.Context, name string) (string, error) {
	png, err := run(ctx, b, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	dir := os.Getenv("NTP_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.dir
	}
	p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(b.tb.Name())+"_"+name+".png")
	return p, os.WriteFile(p, png, 0o644)
}
