package retention

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// Errors of the package.
var (
	// ErrAge: a retention that ParseAge cannot read.
	ErrAge = errors.New("retention: bad age")
)

// Defaults of Config.
const (
	DefaultMinuteRetention = 8 * 24 * time.Hour
	DefaultHourRetention   = 400 * 24 * time.Hour
	DefaultInterval        = 10 * time.Minute
)

// Config says what to keep for how long; a zero retention keeps for ever.
// Zero values of MinuteRetention and HourRetention are not defaulted: the
// caller (the collector's flags) gives the defaults above.
type Config struct {
	MinuteRetention time.Duration // series_minute buckets
	HourRetention   time.Duration // series_hour buckets
	ClientRetention time.Duration // client rows by last_seen
	// Interval between passes; default DefaultInterval.
	Interval time.Duration
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Runner deletes expired rows of a store.
type Runner struct {
	cfg     Config
	st      *store.Store
	deleted *prometheus.CounterVec
}

// Table names of the counter's label.
const (
	TableMinutes = "series_minute"
	TableHours   = "series_hour"
	TableClients = "ntp_clients"
)

// New returns a runner over st.
func New(cfg Config, st *store.Store) *Runner {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Runner{cfg: cfg, st: st, deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ntp_collector_retention_deleted_total",
		Help: "Rows deleted by retention (--series-minute-retention, --series-hour-retention, --client-retention), by table.",
	}, []string{"table"})}
	for _, t := range []string{TableMinutes, TableHours, TableClients} {
		r.deleted.WithLabelValues(t) // present at 0 from the start
	}
	return r
}

// Collector exports the deletion counter.
func (r *Runner) Collector() prometheus.Collector { return r.deleted }

// Result is what one pass deleted.
type Result struct {
	Minutes, Hours, Clients int64
}

// Once runs one pass: every kind with a retention, oldest first. A failed
// kind does not stop the others; the errors are joined.
func (r *Runner) Once(ctx context.Context) (Result, error) {
	now := r.cfg.Now()
	var res Result
	var errs []error
	for _, k := range []struct {
		age   time.Duration
		table string
		n     *int64
		del   func(before time.Time) (int64, error)
	}{
		{r.cfg.MinuteRetention, TableMinutes, &res.Minutes, func(b time.Time) (int64, error) {
			return r.st.DeleteSeriesBefore(ctx, store.MinuteStep, b)
		}},
		{r.cfg.HourRetention, TableHours, &res.Hours, func(b time.Time) (int64, error) {
			return r.st.DeleteSeriesBefore(ctx, store.HourStep, b)
		}},
		{r.cfg.ClientRetention, TableClients, &res.Clients, func(b time.Time) (int64, error) {
			return r.st.Cleanup(ctx, b, false)
		}},
	} {
		if k.age <= 0 {
			continue
		}
		n, err := k.del(now.Add(-k.age))
		*k.n = n
		r.deleted.WithLabelValues(k.table).Add(float64(n))
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// Run runs a pass at once and then every Interval until ctx ends; it
// returns nil then.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		res, err := r.Once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.cfg.Logger.Error("retention", logging.KeyErr, err)
		}
		if res != (Result{}) {
			r.cfg.Logger.Info("retention deleted expired rows", "series_minutes", res.Minutes, "series_hours", res.Hours,
				"clients", res.Clients, "duration", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
