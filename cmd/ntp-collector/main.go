package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	"github.com/ntp-monitor/ntp-monitor/pkg/collector"
	"github.com/ntp-monitor/ntp-monitor/pkg/dashboard"
	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/retention"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

func main() {
	app := &cli.App{
		Name:     "ntp-collector",
		Usage:    "collect NTP client sessions from ntp-worker processes into SQLite",
		Version:  buildinfo.Read().String(),
		Commands: []*cli.Command{serveCommand(), clientsCommand(), topCommand()},
		// Reached with no command, or with one that is not a command.
		Action: unknownCommand,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ntp-collector:", err)
		os.Exit(1)
	}
}

// unknownCommand shows the help when no command is given and otherwise
// names the commands, where the cli package would answer only that it has
// no help topic for the word.
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowAppHelp(c)
	}
	var names []string
	for _, cmd := range c.App.VisibleCommands() {
		if cmd.Name != "help" {
			names = append(names, cmd.Name)
		}
	}
	return fmt.Errorf("unknown command %q; the commands are %s (ntp-collector --help describes them)",
		c.Args().First(), strings.Join(names, ", "))
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the collector until SIGTERM or SIGINT",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "db", Value: "data/ntp_clients.db", EnvVars: []string{"NTP_DB"},
				Usage: "SQLite database file; its directory is created"},
			&cli.StringFlag{Name: "db-synchronous", Value: "full", EnvVars: []string{"NTP_DB_SYNCHRONOUS"},
				Usage: "full: an acknowledged session survives power loss; normal: faster commits, the last ones may be lost on an OS crash",
				Action: func(_ *cli.Context, v string) error {
					if v := strings.ToLower(v); v != "full" && v != "normal" {
						return fmt.Errorf("--db-synchronous %q: want full or normal", v)
					}
					return nil
				}},
			&cli.StringFlag{Name: "ingestion-host", Value: "127.0.0.1", EnvVars: []string{"NTP_INGESTION_HOST"},
				Usage: "address the worker listener binds"},
			&cli.IntFlag{Name: "ingestion-port", Value: 10000, EnvVars: []string{"NTP_INGESTION_PORT"},
				Usage: "TCP port the worker listener binds", Action: between("ingestion-port", 0, 65535)},
			&cli.IntFlag{Name: "batch-size", Value: ingest.DefaultBatchSize, EnvVars: []string{"NTP_BATCH_SIZE"},
				Usage: "commit a batch at this many sessions", Action: between("batch-size", 1, 1_000_000)},
			&cli.IntFlag{Name: "max-batch-size", EnvVars: []string{"NTP_MAX_BATCH_SIZE"},
				Usage:       "while a commit is in progress the next batch keeps filling up to this many sessions (0: the default)",
				DefaultText: fmt.Sprintf("max(%d, batch size)", ingest.DefaultMaxBatchSize),
				Action:      between("max-batch-size", 0, 10_000_000)},
			&cli.DurationFlag{Name: "batch-interval", Value: ingest.DefaultBatchInterval, EnvVars: []string{"NTP_BATCH_INTERVAL"},
				Usage: "commit a batch this long after its first session at the latest"},
			&cli.IntFlag{Name: "queue-size", EnvVars: []string{"NTP_QUEUE_SIZE"},
				Usage:       "sessions queued between the readers and the writer before workers are pushed back (0: the default)",
				DefaultText: fmt.Sprintf("max(%d, batch size)", ingest.DefaultQueueSize),
				Action:      between("queue-size", 0, 100_000_000)},
			&cli.StringFlag{Name: "token", EnvVars: []string{"NTP_TOKEN"},
				Usage: "shared secret workers must present in their hello (empty: none)"},
			&cli.IntFlag{Name: "max-connections", Value: ingest.DefaultMaxConnections, EnvVars: []string{"NTP_MAX_CONNECTIONS"},
				Usage: "open worker connections at most", Action: between("max-connections", 1, 1_000_000)},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"NTP_LOG_LEVEL"},
				Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"NTP_LOG_FORMAT"},
				Usage: "text or json"},
			// The help names the rule rather than this run's value, so that
			// it reads the same for every user and install (and as the
			// README, which a test holds it to).
			&cli.StringFlag{Name: "worker-bin", Value: supervisor.DefaultWorkerBin(), EnvVars: []string{"NTP_WORKER_BIN"},
				Usage: "ntp-worker executable the supervisor spawns", DefaultText: "ntp-worker next to ntp-collector"},
			&cli.StringFlag{Name: "pid-dir", Value: supervisor.DefaultPIDDir(), EnvVars: []string{"NTP_PID_DIR"},
				Usage:       "directory for the workers' PID files",
				DefaultText: supervisor.SystemPIDDir + " as root, else " + supervisor.LocalPIDDir},
			&cli.StringFlag{Name: "log-dir", Value: supervisor.DefaultLogDir(), EnvVars: []string{"NTP_LOG_DIR"},
				Usage:       "directory for the workers' logs (ntp_<iface>.log, rotated)",
				DefaultText: supervisor.SystemLogDir + " as root, else " + supervisor.LocalLogDir},
			&cli.StringFlag{Name: "http-listen", Value: httpapi.DefaultAddr, EnvVars: []string{"NTP_HTTP_LISTEN"},
				Usage: "host:port of the HTTP API"},
			&cli.IntFlag{Name: "max-stream-clients", Value: stream.DefaultMaxSubscribers, EnvVars: []string{"NTP_MAX_STREAM_CLIENTS"},
				Usage: "live session streams (GET /api/ntp/stream) open at once at most; more get 503", Action: between("max-stream-clients", 1, 1000)},
		}, slices.Concat(ingestFlags(), httpAccessFlags(), retentionFlags())...),
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	log, err := logging.New(os.Stderr, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	token, err := ingestToken(c, log)
	if err != nil {
		return err
	}
	tlsCert, clientCAs, err := ingestTLS(c)
	if err != nil {
		return err
	}

	// Bind first: a port in use is the commonest start-up fault and must
	// not wait for a database migration.
	ingLn, err := ingest.Listen(net.JoinHostPort(c.String("ingestion-host"), strconv.Itoa(c.Int("ingestion-port"))))
	if err != nil {
		return err
	}
	defer ingLn.Close()
	httpLn, err := httpapi.Listen(c.String("http-listen"))
	if err != nil {
		return err
	}
	defer httpLn.Close()

	// A signal during the migrations does not interrupt them: the process
	// stops right after, cleanly.
	st, err := store.Open(context.WithoutCancel(ctx), c.String("db"), store.Options{Synchronous: c.String("db-synchronous"), Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	// The state directory is the database's: the admin token file lives
	// beside it.
	access, err := resolveHTTPAccess(c, filepath.Dir(st.Path()), log)
	if err != nil {
		return err
	}

	metrics := httpapi.NewMetrics()
	live := stream.New(stream.Config{MaxSubscribers: c.Int("max-stream-clients")})
	ing := ingest.New(ingest.Config{
		Listener:       ingLn,
		Token:          token,
		TLSCert:        tlsCert,
		TLSClientCAs:   clientCAs,
		Bounds:         session.Bounds{MaxFutureSkew: c.Duration("max-future-skew")},
		MaxConnections: c.Int("max-connections"),
		MaxClients:     int64(c.Int("max-clients")),
		BatchSize:      c.Int("batch-size"),
		MaxBatchSize:   c.Int("max-batch-size"),
		BatchInterval:  c.Duration("batch-interval"),
		QueueSize:      c.Int("queue-size"),
		Logger:         log,
		OnBatch:        metrics.ObserveBatch,
		OnCommit:       metrics.ObserveCommit,
		Stream:         live,
	}, st)

	sup, err := supervisor.New(supervisor.Config{
		WorkerBin:       c.String("worker-bin"),
		PIDDir:          c.String("pid-dir"),
		LogDir:          c.String("log-dir"),
		IngestionHost:   c.String("ingestion-host"),
		IngestionPort:   ingLn.Addr().(*net.TCPAddr).Port,
		Token:           token,
		WorkerArgs:      localWorkerArgs(c.String("ingestion-host"), tlsCert, clientCAs != nil),
		WorkerLogLevel:  c.String("log-level"),
		WorkerLogFormat: c.String("log-format"),
		Desired:         st,
		WorkerStats:     ing.LatestStats,
		Logger:          log,
	})
	if err != nil {
		return err
	}

	// Components stop in the reverse order they are added: the HTTP API
	// first, then the worker supervisor (workers send their last sessions
	// while ingestion still runs), then ingestion, which drains, commits
	// and acknowledges.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var reload []tlsfiles.Reloadable
	if tlsCert != nil {
		reload = append(reload, tlsCert)
	}
	if clientCAs != nil {
		reload = append(reload, clientCAs)
	}
	if access.cert != nil {
		reload = append(reload, access.cert)
	}
	go watchTLS(ctx, log, hup, reload...)

	g := collector.Group{Logger: log}
	g.Add("ingest", ing.Serve)
	g.Add("supervisor", sup.Run)
	retCfg, err := retentionConfig(c)
	if err != nil {
		return err
	}
	retCfg.Logger = log
	ret := retention.New(retCfg, st)
	if err := metrics.Registry().Register(ret.Collector()); err != nil {
		return err
	}
	g.Add("retention", ret.Run)
	page, err := dashboard.New()
	if err != nil {
		return err
	}
	cfg := httpapi.Config{Addr: c.String("http-listen"), Store: st, Ingest: ing, Supervisor: sup,
		Logger: log, Metrics: metrics, Page: page, Stream: live}
	access.apply(&cfg)
	api, err := httpapi.New(cfg)
	if err != nil {
		return err
	}
	g.Add("http", func(ctx context.Context) error { return api.Run(ctx, httpLn) })
	if err := g.Run(ctx); err != nil {
		return err
	}
	log.Info("ntp-collector stopped")
	return nil
}

func between(name string, lo, hi int) func(*cli.Context, int) error {
	return func(_ *cli.Context, v int) error {
		if v < lo || v > hi {
			return fmt.Errorf("--%s %d: must be from %d to %d", name, v, lo, hi)
		}
		return nil
	}
}
