package tlsreload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultInterval is how often Run looks at the files for a change.
const DefaultInterval = 5 * time.Second

// Options tunes Load. The zero value is the default.
type Options struct {
	// Interval is how often Run polls the files; DefaultInterval when 0.
	Interval time.Duration
	// Logger receives reloads and failed reloads; slog.Default() when nil.
	Logger *slog.Logger
}

// Keypair is a certificate and key loaded from files, reloadable. Its
// methods are safe for concurrent use.
type Keypair struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	cur atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serialises reloads
	tried stamp      // of the files at the last reload attempt
}

// Load reads the certificate (PEM, the leaf first, then any intermediates)
// and its private key (PEM).
func Load(certFile, keyFile string, opts Options) (*Keypair, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tlsreload: both a certificate file and a key file are needed")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	k := &Keypair{certFile: certFile, keyFile: keyFile, interval: opts.Interval, log: opts.Logger}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(); err != nil {
		return nil, err
	}
	return k, nil
}

// loadLocked reads both files and, when they form a valid pair, puts them
// in use.
func (k *Keypair) loadLocked() error {
	k.tried = stampOf(k.certFile, k.keyFile)
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("tlsreload: certificate %s with key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cur.Store(&cert)
	return nil
}

// Reload reads the files again. On failure the certificate in use stays.
func (k *Keypair) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(); err != nil {
		k.log.Warn("TLS certificate not reloaded; the previous one stays in use", "err", err)
		return err
	}
	leaf := k.Leaf()
	k.log.Info("TLS certificate reloaded", "cert", k.certFile, "subject", leaf.Subject.String(),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// Leaf is the certificate in use, parsed.
func (k *Keypair) Leaf() *x509.Certificate { return k.cur.Load().Leaf }

// GetCertificate is the tls.Config hook: the certificate in use.
func (k *Keypair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cur.Load(), nil
}

// TLSConfig is a server configuration that serves the pair and accepts no
// protocol version below minVersion.
func (k *Keypair) TLSConfig(minVersion uint16) *tls.Config {
	return &tls.Config{MinVersion: minVersion, GetCertificate: k.GetCertificate}
}

// Run reloads the pair on SIGHUP and when either file changes, until ctx
// ends. It returns nil then.
func (k *Keypair) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			k.log.Info("SIGHUP: reloading the TLS certificate", "cert", k.certFile)
			k.Reload()
		case <-t.C:
			k.mu.Lock()
			changed := stampOf(k.certFile, k.keyFile) != k.tried
			k.mu.Unlock()
			if changed {
				k.log.Info("TLS certificate files changed; reloading", "cert", k.certFile, "key", k.keyFile)
				k.Reload()
			}
		}
	}
}

// stamp identifies the content of the two files as far as stat can tell:
// a file rewritten in place changes its time or size, one replaced (or a
// link pointed elsewhere) its inode.
type stamp struct{ cert, key fileStamp }

type fileStamp struct {
	dev, ino uint64
	size     int64
	mtime    int64
	missing  bool
}

func stampOf(certFile, keyFile string) stamp {
	return stamp{statFile(certFile), statFile(keyFile)}
}

func statFile(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{missing: true}
	}
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s
}
