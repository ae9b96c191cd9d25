package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/retention"
)

// retentionFlags are how long the store keeps the series and the clients.
func retentionFlags() []cli.Flag {
	age := func(name string) func(*cli.Context, string) error {
		return func(_ *cli.Context, v string) error {
			if _, err := retention.ParseAge(v); err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
			return nil
		}
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "series-minute-retention", Value: "8d", EnvVars: []string{"NTP_SERIES_MINUTE_RETENTION"},
			Usage: "how long minute buckets of the traffic series are kept: days (8d), a duration (36h) or off", Action: age("series-minute-retention")},
		&cli.StringFlag{Name: "series-hour-retention", Value: "400d", EnvVars: []string{"NTP_SERIES_HOUR_RETENTION"},
			Usage: "how long hour buckets of the traffic series are kept: days, a duration or off", Action: age("series-hour-retention")},
		&cli.StringFlag{Name: "client-retention", Value: "off", EnvVars: []string{"NTP_CLIENT_RETENTION"},
			Usage: "delete client rows not seen for this long (e.g. 400d); off keeps them", Action: age("client-retention")},
	}
}

// retentionConfig reads the retention flags; their actions checked them.
func retentionConfig(c *cli.Context) (retention.Config, error) {
	var cfg retention.Config
	for _, f := range []struct {
		name string
		to   *time.Duration
	}{
		{"series-minute-retention", &cfg.MinuteRetention},
		{"series-hour-retention", &cfg.HourRetention},
		{"client-retention", &cfg.ClientRetention},
	} {
		d, err := retention.ParseAge(c.String(f.name))
		if err != nil {
			return cfg, fmt.Errorf("--%s: %w", f.name, err)
		}
		*f.to = d
	}
	return cfg, nil
}
