package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/clientview"
)

func clientsCommand() *cli.Command {
	return &cli.Command{
		Name:  "clients",
		Usage: "print the collector's clients as an aligned table (like chronyc clients)",
		Description: "Reads GET /api/ntp/history/clients. Orders: " + clientview.SortHelp() + ".\n" +
			"--json prints {api, generated_at, sort, total, scanned, data}, data holding the API's Client objects unchanged.",
		Flags: append(apiFlags(),
			&cli.StringFlag{Name: "sort", Value: "last_seen", EnvVars: []string{"NTP_CLIENTS_SORT"},
				Usage: strings.Join(clientview.SortNames(), ", ")},
			&cli.StringFlag{Name: "order", EnvVars: []string{"NTP_CLIENTS_ORDER"},
				Usage: "asc or desc (default: the order's natural direction: busiest, most recent, fastest poller first)"},
			&cli.StringFlag{Name: "cidr", EnvVars: []string{"NTP_CLIENTS_CIDR"},
				Usage: "only clients in this prefix, e.g. 192.0.2.0/24 or 2001:db8::/32"},
			&cli.StringFlag{Name: "interface", EnvVars: []string{"NTP_CLIENTS_INTERFACE"},
				Usage: "only clients seen on this capture interface"},
			&cli.IntFlag{Name: "limit", Value: 50, EnvVars: []string{"NTP_CLIENTS_LIMIT"},
				Usage: "rows at most (0: every matching client)", Action: between("limit", 0, 100_000_000)},
			&cli.BoolFlag{Name: "json", EnvVars: []string{"NTP_CLIENTS_JSON"},
				Usage: "print JSON for scripts instead of the table"},
		),
		Action: clients,
	}
}

func clients(c *cli.Context) error {
	order, err := clientview.ParseOrder(c.String("sort"), c.String("order"))
	if err != nil {
		return err
	}
	api, err := dialAPI(c)
	if err != nil {
		return err
	}
	res, err := clientview.Select(c.Context, api.Client, clientview.Query{
		CIDR: c.String("cidr"), Interface: c.String("interface"), Order: order, Limit: c.Int("limit")})
	if err != nil {
		return api.explain(err)
	}
	now := time.Now()
	if c.Bool("json") {
		return clientview.WriteJSON(os.Stdout, api.URL(), order, res, now)
	}
	if res.Note != "" {
		fmt.Fprintln(os.Stderr, "note:", res.Note)
	}
	if len(res.Rows) == 0 {
		fmt.Fprintln(os.Stderr, "no client matches")
		return nil
	}
	return clientview.Full().Write(os.Stdout, res.Rows, now)
}
