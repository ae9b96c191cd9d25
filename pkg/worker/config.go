package worker

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/capture"
	"github.com/ntp-monitor/ntp-monitor/pkg/pairing"
)

// Defaults for the zero fields of Config.
const (
	DefaultStatsInterval = 10 * time.Second
	// DefaultShutdownFlush bounds the wait for acks when a live capture
	// stops: long enough for the collector's 5 s batch interval, short
	// enough for a supervisor's stop timeout.
	DefaultShutdownFlush = 8 * time.Second
)

// Config configures a Worker. A zero field means the default named on it.
type Config struct {
	// Interface is the interface to capture on, and the label of every
	// session. With PcapFile it is only the label (default: the file's
	// base name).
	Interface string
	// PcapFile, when set, is read instead of a live interface. At its end
	// every pending request becomes unanswered (the capture is over), and
	// the worker waits for every session to be acknowledged.
	PcapFile string

	// Port is the NTP server port; default pairing.DefaultPort.
	Port uint16
	// Timeout (before a request counts as unanswered) and MaxPending are
	// the pairing table's, Snaplen and BufferSize the capture's; zero
	// takes the defaults of packages pairing and capture.
	Timeout    time.Duration
	MaxPending int
	Snaplen    int
	BufferSize int
	// Engine and BlockSize choose how a live capture reads the kernel's
	// ring (see package capture); zero values take its defaults.
	Engine    capture.Engine
	BlockSize int

	// StatsInterval is how often a stats line goes to the collector;
	// default DefaultStatsInterval.
	StatsInterval time.Duration
	// ShutdownFlush bounds the wait for acks after a live capture stops;
	// default DefaultShutdownFlush. A capture file waits until everything
	// is acknowledged or ctx ends.
	ShutdownFlush time.Duration

	// Logger receives the worker's logs; default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default, except
// those that packages pairing and capture fill.
func (c Config) withDefaults() Config {
	if c.Port == 0 {
		c.Port = pairing.DefaultPort
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = DefaultStatsInterval
	}
	if c.ShutdownFlush <= 0 {
		c.ShutdownFlush = DefaultShutdownFlush
	}
	if c.Interface == "" && c.PcapFile != "" {
		c.Interface = filepath.Base(c.PcapFile)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
