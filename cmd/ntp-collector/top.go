package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/top"
)

func topCommand() *cli.Command {
	return &cli.Command{
		Name:  "top",
		Usage: "show per-interface rates, top talkers and the latest unanswered and KoD clients, refreshed until q or Ctrl-C",
		Description: "Reads /api/ntp/history/service/statistics, /api/ntp/history/interfaces/statistics, the client list and search.\n" +
			"--json prints one JSON object per frame and line.",
		Flags: append(apiFlags(),
			&cli.DurationFlag{Name: "interval", Value: top.DefaultInterval, EnvVars: []string{"NTP_TOP_INTERVAL"},
				Usage: "time between refreshes"},
			&cli.BoolFlag{Name: "once", EnvVars: []string{"NTP_TOP_ONCE"},
				Usage: "print one frame, taken one interval after the start (rates need two samples), and exit"},
			&cli.IntFlag{Name: "limit", Value: top.DefaultLimit, EnvVars: []string{"NTP_TOP_LIMIT"},
				Usage: "rows of each client list", Action: between("limit", 1, apiclient.MaxPageSize)},
			&cli.BoolFlag{Name: "json", EnvVars: []string{"NTP_TOP_JSON"},
				Usage: "print each frame as one line of JSON instead of text"},
		),
		Action: runTop,
	}
}

func runTop(c *cli.Context) error {
	api, err := dialAPI(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = top.Run(ctx, top.Config{API: api.Client, Interval: c.Duration("interval"), Limit: c.Int("limit"),
		Once: c.Bool("once"), JSON: c.Bool("json"), Out: os.Stdout, In: os.Stdin})
	if err != nil {
		return api.explain(err)
	}
	return nil
}
