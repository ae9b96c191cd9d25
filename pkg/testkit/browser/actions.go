package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// action returns a context for one action on the tab: chromedp's tab
// context, done when ctx is. The tab is b's until the returned func is
// called: chromedp's actions on one tab must not overlap.
func (b *Browser) action(ctx context.Context) (context.Context, context.CancelFunc) {
	b.busy.Lock()
	actx, cancel := context.WithCancel(b.tab)
	if d, ok := ctx.Deadline(); ok {
		actx, cancel = context.WithDeadline(b.tab, d)
	}
	stop := context.AfterFunc(ctx, cancel)
	return actx, func() {
		stop()
		cancel()
		b.busy.Unlock()
	}
}

// Do runs chromedp actions on the tab, in order, until the first error or
// until ctx is done.
func (b *Browser) Do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	actx, cancel := b.action(ctx)
	defer cancel()
	return chromedp.Do(actx, actions...)
}

// Run runs a chromedp action that returns a value on b's tab, e.g.
// browser.Run(ctx, b, chromedp.Evaluate[int]("document.images.length")).
func Run[T any](ctx context.Context, b *Browser, a chromedp.Action[T]) (T, error) {
	actx, cancel := b.action(ctx)
	defer cancel()
	return chromedp.Run(actx, a)
}

// Navigate loads url in the tab and waits for its load event.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	if err := b.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("browser: navigate to %s: %w", url, err)
	}
	return nil
}

// WaitVisible waits until the first element that matches the CSS
// selector is in the page and visible.
func (b *Browser) WaitVisible(ctx context.Context, selector string) error {
	if err := b.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("browser: wait for %s: %w", selector, err)
	}
	return nil
}

// Text returns the rendered text (innerText) of the first element that
// matches the CSS selector, waiting for it to be visible.
func (b *Browser) Text(ctx context.Context, selector string) (string, error) {
	s, err := Run(ctx, b, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible))
	if err != nil {
		return "", fmt.Errorf("browser: text of %s: %w", selector, err)
	}
	return s, nil
}

// Click clicks the first element that matches the CSS selector, waiting
// for it to be visible.
func (b *Browser) Click(ctx context.Context, selector string) error {
	if err := b.Do(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		return fmt.Errorf("browser: click %s: %w", selector, err)
	}
	return nil
}

// Screenshot writes a PNG of the whole page, as wide as the viewport and
// as tall as the page (or the viewport, when the page is shorter), to the
// screenshot directory (see Options), named after the test and name, and
// returns its path.
func (b *Browser) Screenshot(ctx context.Context, name string) (string, error) {
	png, err := Run(ctx, b, chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("browser: screenshot %s: %w", name, err)
	}
	path := filepath.Join(b.shots, fileName(b.tb.Name(), name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("browser: screenshot %s: %w", name, err)
	}
	return path, nil
}
