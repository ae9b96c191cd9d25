// Command browse opens a running collector's dashboard in headless
// Chromium (/usr/bin/chromium), for what the tests do not do: pictures for
// the README and timings for the performance section.
//
//	go run ./scripts/browse screenshots -url http://127.0.0.1:8000/ -out scripts/screenshots
//	go run ./scripts/browse timing -url http://127.0.0.1:8000/ -runs 5
//
// screenshots writes a full-page PNG of each view (`make screenshots` runs
// it against the demo). timing loads the overview and the clients view in a
// fresh profile each run (nothing cached) and prints, per view, the first
// contentful paint and the time until the view's data is on the screen,
// both from the start of the navigation.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: browse screenshots|timing -url http://collector/ [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8000/", "the collector's address (the page is at ui/ below it)")
	out := fs.String("out", "scripts/screenshots", "screenshots: directory for the PNGs")
	width := fs.Int("width", 1280, "window width")
	settle := fs.Duration("settle", 2500*time.Millisecond, "screenshots: wait after each navigation")
	runs := fs.Int("runs", 5, "timing: loads per view")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "screenshots":
		err = screenshots(*base, *out, *width, *settle)
	case "timing":
		err = timing(*base, *width, *runs)
	default:
		err = fmt.Errorf("unknown command %q: screenshots or timing", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "browse:", err)
		os.Exit(1)
	}
}

// chromium starts a headless Chromium with a profile of its own, removed
// when the returned func is called.
func chromium(width int) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "ntp-browse-")
	if err != nil {
		return nil, nil, err
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir), chromedp.WindowSize(width, 900))
	ctx, cancel := chromedp.NewContext(actx)
	return ctx, func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }, nil
}

func screenshots(base, out string, width int, settle time.Duration) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ip, err := busiestClient(base)
	if err != nil {
		return err
	}
	views := []struct{ name, hash string }{
		{"overview", "#/overview"},
		{"clients", "#/clients?sort_by=session_count"},
		{"client", "#/client/" + url.PathEscape(ip)},
		{"workers", "#/workers"},
		{"live", "#/live"},
	}
	ctx, done, err := chromium(width)
	if err != nil {
		return err
	}
	defer done()
	if err := chromedp.Do(ctx, chromedp.Navigate(base)); err != nil {
		return err
	}
	for _, v := range views {
		tctx, c := context.WithTimeout(ctx, time.Minute)
		err := chromedp.Do(tctx, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(v.hash)), chromedp.Sleep(settle))
		var shot []byte
		if err == nil {
			shot, err = chromedp.Run(tctx, chromedp.FullScreenshot(100))
		}
		c()
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if err := writePNG(filepath.Join(out, v.name+".png"), shot); err != nil {
			return err
		}
	}
	return nil
}

// writePNG writes Chromium's PNG again at the best compression: the
// README's pictures stay small in the repository.
func writePNG(path string, shot []byte) error {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if buf.Len() > len(shot) {
		buf.Reset()
		buf.Write(shot)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s  %d KB\n", path, buf.Len()/1024)
	return nil
}

// seen records, from the first byte of each document, when each selector
// first matches: performance.now() is measured from the navigation's
// start. It is installed through the DevTools protocol, outside the
// page's Content-Security-Policy.
const seen = `
window.__seen = {};
new MutationObserver(() => {
  for (const sel of ['#ov-totals ~ div table', '#clients-table tbody tr'])
    if (!window.__seen[sel] && document.querySelector(sel)) window.__seen[sel] = performance.now();
}).observe(document, {childList: true, subtree: true});
`

func timing(base string, width, runs int) error {
	views := []struct{ name, hash, sel string }{
		{"overview", "#/overview", "#ov-totals ~ div table"},
		{"clients", "#/clients", "#clients-table tbody tr"},
	}
	for _, v := range views {
		var fcp, data []float64
		for range runs {
			f, d, err := timeOnce(base+"ui/"+v.hash, v.sel, width)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			fcp, data = append(fcp, f), append(data, d)
		}
		fmt.Printf("%-9s first contentful paint: median %4.0f ms (min %4.0f, max %4.0f); data on screen: median %5.0f ms (min %5.0f, max %5.0f); %d loads, fresh profile each\n",
			v.name, median(fcp), slices.Min(fcp), slices.Max(fcp), median(data), slices.Min(data), slices.Max(data), runs)
	}
	return nil
}

func timeOnce(u, sel string, width int) (fcp, data float64, err error) {
	ctx, done, err := chromium(width)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	install := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: seen})
		return err
	})
	if err := chromedp.Do(ctx, install, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		return 0, 0, err
	}
	times, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[
		(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime,
		window.__seen[`+jsString(sel)+`] ?? -1]`))
	if err != nil {
		return 0, 0, err
	}
	if times[0] < 0 || times[1] < 0 {
		return 0, 0, errors.New("no paint or no data recorded")
	}
	return times[0], times[1], nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// busiestClient is the address with the most requests, for the client view.
func busiestClient(base string) (string, error) {
	u, err := url.JoinPath(base, "api/ntp/history/clients")
	if err != nil {
		return "", err
	}
	res, err := http.Get(u + "?sort_by=session_count&sort_order=desc&page_size=1")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var list struct {
		Data []struct {
			ClientIP string `json:"client_ip"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		return "", fmt.Errorf("%s: %w", u, err)
	}
	if len(list.Data) == 0 {
		return "", fmt.Errorf("%s: no client stored yet", u)
	}
	return list.Data[0].ClientIP, nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
