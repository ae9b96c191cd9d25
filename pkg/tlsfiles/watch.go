package tlsfiles

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// DefaultPollInterval is how often Watch looks at the files by default: a
// renewed certificate is in use within seconds, and a stat of two files
// costs nothing.
const DefaultPollInterval = 5 * time.Second

// Reloadable is what Watch reloads: a *Certificate or a *Pool.
type Reloadable interface {
	Reload() error
	ReloadIfChanged() (bool, error)
	fmt.Stringer
}

// Watch reloads each of rs when its files change, looked at every interval
// (DefaultPollInterval when 0), and all of them whenever a value arrives on
// signals (nil: only changes). Every reload is logged, a failed one at
// error level with the reason and the note that the previous material stays
// in use. It returns when ctx is done.
func Watch(ctx context.Context, log *slog.Logger, interval time.Duration, signals <-chan os.Signal, rs ...Reloadable) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			for _, r := range rs {
				report(log, r, r.Reload(), "signal", sig.String())
			}
		case <-tick.C:
			for _, r := range rs {
				if tried, err := r.ReloadIfChanged(); tried {
					report(log, r, err, "trigger", "file changed")
				}
			}
		}
	}
}

func report(log *slog.Logger, r Reloadable, err error, why, what string) {
	if err != nil {
		log.Error("TLS reload failed; the previous certificate stays in use", why, what, logging.KeyErr, err)
		return
	}
	log.Info("TLS material reloaded", why, what, "now", r.String())
}
