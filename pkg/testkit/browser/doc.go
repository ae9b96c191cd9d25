// Package browser drives Debian's Chromium from tests, headless, through the
// DevTools protocol (github.com/chromedp/chromedp), to check pages as a
// person would see them.
//
// New starts /usr/bin/chromium (the chromium package, installed by make
// deps) with a profile of its own in a new temp directory, and records from
// the start everything a test asserts "nothing went wrong" with: every
// console message, every uncaught JavaScript exception, every browser log
// entry (a refused script, a resource that failed to load) and every network
// request that failed or was answered with an HTTP status of 400 or more.
// Nothing here downloads a browser: when Chromium is missing, the test is
// skipped, naming the package to install.
//
//	func TestPage(t *testing.T) {
//		b := browser.New(t, browser.Options{})
//		ctx := context.Background()
//		if err := b.Navigate(ctx, srv.URL+"/"); err != nil { t.Fatal(err) }
//		if err := b.WaitVisible(ctx, "#clients tbody tr"); err != nil { t.Fatal(err) }
//		n, err := b.Text(ctx, "#client-count")
//		if _, err := b.Screenshot(ctx, "overview"); err != nil { t.Fatal(err) }
//		if p := b.Problems(); len(p) > 0 {
//			t.Errorf("the page had problems:\n%s", strings.Join(p, "\n"))
//		}
//	}
//
// Navigate, WaitVisible, Text and Click take CSS selectors and the first
// element that matches; Do and Run take any chromedp action for the rest.
// Each stops when its context is done. Screenshots are full-page PNGs,
// written to NTP_SCREENSHOT_DIR when it is set (to keep them), else to the
// test's temp directory.
//
// Chromium runs as the test's user with the flags --headless --no-sandbox
// --disable-gpu --disable-quic --no-first-run --disable-background-networking
// --disable-component-update --disable-sync (and chromedp's companions of
// some: --hide-scrollbars, --mute-audio, --enable-unsafe-swiftshader), in
// the en-US locale and the UTC time zone, with a viewport of 1280×800 by
// default, and with HOME, the XDG directories and TMPDIR inside its temp
// directory, so that it reads and leaves nothing elsewhere. --no-sandbox
// because the tests run as root, where Chromium's sandbox refuses to start;
// the pages are the tests' own. When the test ends, the browser is closed,
// every process of it is killed by PID (see package leftover) and the
// directory is removed; a test binary killed before its cleanups ran has its
// browser reaped by the next New, in any test binary.
package browser
