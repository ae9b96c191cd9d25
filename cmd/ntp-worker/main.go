package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	"github.com/ntp-monitor/ntp-monitor/pkg/capture"
	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/pairing"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
	"github.com/ntp-monitor/ntp-monitor/pkg/worker"
)

func main() {
	if err := app().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ntp-worker:", err)
		os.Exit(1)
	}
}

// seconds parses a duration given as seconds ("2", "2.5") or in Go's form
// ("2.5s", "500ms").
func seconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f != f || f > 1e6 || f < -1e6 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds (2.5) nor a duration (2500ms)", s)
	}
	return d, nil
}

func durationIn(name string, lo, hi time.Duration) func(*cli.Context, string) error {
	return func(_ *cli.Context, v string) error {
		d, err := seconds(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		if d < lo || d > hi {
			return fmt.Errorf("--%s %s: must be between %v and %v", name, v, lo, hi)
		}
		return nil
	}
}

func intIn(name string, lo, hi int) func(*cli.Context, int) error {
	return func(_ *cli.Context, v int) error {
		if v < lo || v > hi {
			return fmt.Errorf("--%s %d: must be between %d and %d", name, v, lo, hi)
		}
		return nil
	}
}

func blockSize(c *cli.Context, v int) error {
	if err := intIn("block-size", 4096, 64<<20)(c, v); err != nil {
		return err
	}
	if v%4096 != 0 {
		return fmt.Errorf("--block-size %d: must be a multiple of 4096 (the page size)", v)
	}
	if v > c.Int("buffer-size") {
		return fmt.Errorf("--block-size %d: must not exceed --buffer-size %d", v, c.Int("buffer-size"))
	}
	return nil
}

func oneOf(name string, values ...string) func(*cli.Context, string) error {
	return func(_ *cli.Context, v string) error {
		for _, ok := range values {
			if strings.EqualFold(v, ok) {
				return nil
			}
		}
		return fmt.Errorf("--%s %q: must be one of %s", name, v, strings.Join(values, ", "))
	}
}

func app() *cli.App {
	return &cli.App{
		Name:            "ntp-worker",
		Usage:           "capture NTP traffic on one interface and stream paired sessions to ntp-collector",
		Version:         buildinfo.Read().String(),
		HideHelpCommand: true,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "interface", Aliases: []string{"i"}, EnvVars: []string{"NTP_INTERFACE"},
				Usage: "interface to capture on (ip link lists them), required unless --pcap-file; with --pcap-file only the label, by default the file's name"},
			&cli.IntFlag{Name: "port", Value: pairing.DefaultPort, EnvVars: []string{"NTP_PORT"},
				Usage: "UDP port of the monitored NTP server", Action: intIn("port", 1, 65535)},
			&cli.StringFlag{Name: "timeout", Value: "2.0", EnvVars: []string{"NTP_TIMEOUT"},
				Usage:  "seconds (or a duration such as 2500ms) before a request counts as unanswered",
				Action: durationIn("timeout", time.Millisecond, time.Hour)},
			&cli.StringFlag{Name: "ingestion-host", Value: "127.0.0.1", EnvVars: []string{"NTP_INGESTION_HOST"},
				Usage: "collector's ingestion address"},
			&cli.IntFlag{Name: "ingestion-port", Value: 10000, EnvVars: []string{"NTP_INGESTION_PORT"},
				Usage: "collector's ingestion port", Action: intIn("ingestion-port", 1, 65535)},
			&cli.StringFlag{Name: "pcap-file", EnvVars: []string{"NTP_PCAP_FILE"},
				Usage: "read this pcap/pcapng file instead of a live interface; at its end, wait for the collector's acks and exit"},
			&cli.IntFlag{Name: "snaplen", Value: capture.DefaultSnaplen, EnvVars: []string{"NTP_SNAPLEN"},
				Usage: "bytes captured per packet", Action: intIn("snaplen", 64, 65535)},
			&cli.IntFlag{Name: "buffer-size", Value: capture.DefaultBufferSize, EnvVars: []string{"NTP_BUFFER_SIZE"},
				Usage: "kernel capture buffer (the TPACKET_V3 ring) in bytes", Action: intIn("buffer-size", 64<<10, 1<<30)},
			&cli.StringFlag{Name: "capture-engine", Value: string(capture.DefaultEngine), EnvVars: []string{"NTP_CAPTURE_ENGINE"},
				Usage:  "how a live capture reads the kernel's ring: afpacket (in Go, Ethernet interfaces) or pcap (libpcap, any interface)",
				Action: oneOf("capture-engine", string(capture.EngineAFPacket), string(capture.EnginePcap))},
			&cli.IntFlag{Name: "block-size", Value: capture.DefaultBlockSize, EnvVars: []string{"NTP_BLOCK_SIZE"},
				Usage: "afpacket engine: TPACKET_V3 block size in bytes, a multiple of 4096; the ring is --buffer-size bytes of such blocks, at least two", Action: blockSize},
			&cli.IntFlag{Name: "max-pending", Value: pairing.DefaultMaxPending, EnvVars: []string{"NTP_MAX_PENDING"},
				Usage:  "most requests waiting for a response; beyond it the oldest is evicted and counted",
				Action: intIn("max-pending", 1, 100_000_000)},
			&cli.IntFlag{Name: "spool", Value: sender.DefaultSpool, EnvVars: []string{"NTP_SPOOL"},
				Usage:  "most sessions held in memory until the collector acknowledges them",
				Action: intIn("spool", 1, 10_000_000)},
			&cli.StringFlag{Name: "stats-interval", Value: "10s", EnvVars: []string{"NTP_STATS_INTERVAL"},
				Usage:  "how often to send capture statistics (seconds or a duration)",
				Action: durationIn("stats-interval", 100*time.Millisecond, time.Hour)},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"NTP_LOG_LEVEL"},
				Usage: "debug, info, warn or error", Action: oneOf("log-level", "debug", "info", "warn", "error")},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"NTP_LOG_FORMAT"},
				Usage: "text or json", Action: oneOf("log-format", "text", "json")},
			// A debugging aid for performance work, not an operator's
			// setting: hidden from --help.
			&cli.StringFlag{Name: "cpuprofile", EnvVars: []string{"NTP_CPUPROFILE"}, Hidden: true,
				Usage: "write a CPU profile of the whole run to this file (go tool pprof reads it)"},
		}, transportFlags()...),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see --help)", err)
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: every setting is a flag (see --help)", c.Args().First())
	}
	log, err := logging.New(os.Stderr, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}
	timeout, _ := seconds(c.String("timeout"))
	engine, _ := capture.ParseEngine(c.String("capture-engine"))
	statsInterval, _ := seconds(c.String("stats-interval"))
	pcapFile := c.String("pcap-file")
	iface := c.String("interface")
	if iface == "" && pcapFile == "" {
		return errors.New("no interface: name one with --interface (`ip link` lists them) or read a capture with --pcap-file")
	}
	if iface == "" {
		iface = filepath.Base(pcapFile)
	}

	// Checked before anything else is opened: a worker that would send
	// its token in plaintext across a network stops here.
	tr, err := newTransport(c, log)
	if err != nil {
		return err
	}
	snd := sender.New(sender.Config{
		Addr:      net.JoinHostPort(c.String("ingestion-host"), strconv.Itoa(c.Int("ingestion-port"))),
		WorkerID:  sender.NewWorkerID(),
		Interface: iface,
		Token:     tr.token,
		TLS:       tr.tls,
		Spool:     c.Int("spool"),
		// A file must lose nothing, so reading waits for the collector; a
		// live capture must never stall, so the oldest session goes, and
		// under a flood of requests the unanswered ones go first.
		Block:          pcapFile != "",
		ShedUnanswered: pcapFile == "",
		Logger:         log,
	})
	w, err := worker.New(worker.Config{
		Interface:     iface,
		PcapFile:      pcapFile,
		Port:          uint16(c.Int("port")),
		Timeout:       timeout,
		MaxPending:    c.Int("max-pending"),
		Snaplen:       c.Int("snaplen"),
		BufferSize:    c.Int("buffer-size"),
		Engine:        engine,
		BlockSize:     c.Int("block-size"),
		StatsInterval: statsInterval,
		Logger:        log,
	}, snd)
	if err != nil {
		return err
	}
	if path := c.String("cpuprofile"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if len(tr.reload) > 0 {
		go tlsfiles.Watch(ctx, log, 0, nil, tr.reload...)
	}
	_, err = w.Run(ctx)
	return err
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
