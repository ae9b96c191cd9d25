package top

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// DefaultInterval is the refresh interval of `top`.
const DefaultInterval = 2 * time.Second

// DefaultLimit is the number of rows of each client list.
const DefaultLimit = 10

// Config is what Run needs.
type Config struct {
	API      *apiclient.Client
	Interval time.Duration
	// Limit is the number of rows of each client list.
	Limit int
	// Once prints one frame and returns. Rates need two samples, so the
	// frame comes one Interval after the start.
	Once bool
	// JSON prints each frame as one line of JSON (Frame) instead of text.
	JSON bool
	// Out receives the frames. When it is a terminal (and neither Once nor
	// JSON is set) frames are redrawn in place.
	Out io.Writer
	// In, when not nil, is watched for q. When it is a terminal it is put in
	// a mode that reads single key presses, and restored on return.
	In io.Reader
}

// Run shows frames until ctx is done or q is pressed, or with Once prints
// one. It returns nil on a normal end. A failure of the first read (no
// collector there, a refused token) is returned; later failures are shown
// in the frame and the next refresh tries again, as the collector may only
// be restarting.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Interval <= 0 {
		return fmt.Errorf("top: the interval must be positive, not %s", cfg.Interval)
	}
	if cfg.Limit <= 0 || cfg.Limit > apiclient.MaxPageSize {
		return fmt.Errorf("top: the limit must be from 1 to %d, not %d", apiclient.MaxPageSize, cfg.Limit)
	}
	sm := newSampler()
	first, err := read(ctx, cfg.API, cfg.Limit)
	if err != nil {
		return err
	}
	if cfg.Once {
		// The first sample is only the base of the rates.
		sm.frame(cfg.API.URL(), first)
		if err := sleep(ctx, cfg.Interval, nil); err != nil {
			return nil
		}
		s, err := read(ctx, cfg.API, cfg.Limit)
		if err != nil {
			return err
		}
		return emit(cfg, header{every: cfg.Interval}, nil, sm.frame(cfg.API.URL(), s))
	}

	quit := make(chan struct{})
	out, _ := cfg.Out.(*os.File)
	var scr *screen
	if out != nil && !cfg.JSON && isTerminal(out) {
		if in, ok := cfg.In.(*os.File); ok && isTerminal(in) {
			kb, err := rawKeys(in)
			if err == nil {
				defer kb.restore()
			}
		}
		scr = openScreen(out)
		defer scr.close()
	}
	if cfg.In != nil {
		go watchQuit(cfg.In, quit)
	}
	h := header{every: cfg.Interval, keys: scr != nil}
	f := sm.frame(cfg.API.URL(), first)
	for {
		if err := emit(cfg, h, scr, f); err != nil {
			return err
		}
		if err := sleep(ctx, cfg.Interval, quit); err != nil {
			return nil
		}
		s, err := read(ctx, cfg.API, cfg.Limit)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			f = &Frame{At: time.Now(), API: cfg.API.URL(), Error: oneLine(err)}
		default:
			f = sm.frame(cfg.API.URL(), s)
		}
	}
}

// errQuit ends the wait when q is pressed.
var errQuit = errors.New("quit")

// sleep waits d, or less when ctx is done or quit is closed.
func sleep(ctx context.Context, d time.Duration, quit <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-quit:
		return errQuit
	}
}

// emit writes one frame in the configured form.
func emit(cfg Config, h header, scr *screen, f *Frame) error {
	if cfg.JSON {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		_, err = cfg.Out.Write(append(b, '\n'))
		return err
	}
	var b strings.Builder
	if err := h.writeText(&b, f); err != nil {
		return err
	}
	if scr != nil {
		return scr.draw(b.String())
	}
	if !cfg.Once {
		// Frames that follow each other in a file or a pipe are told apart
		// by a blank line.
		b.WriteString("\n")
	}
	_, err := io.WriteString(cfg.Out, b.String())
	return err
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
