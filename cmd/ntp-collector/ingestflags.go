package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// ingestFlags are the settings of the worker listener's transport and of
// what it accepts.
func ingestFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token-file", EnvVars: []string{"NTP_TOKEN_FILE"},
			Usage: "file holding the workers' shared secret (mode 0600), instead of --token, which ps shows"},
		&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"NTP_TLS_CERT"},
			Usage: "PEM certificate (then any intermediates) of the worker listener: it then speaks TLS 1.3 only; reloaded on SIGHUP and when the file changes"},
		&cli.StringFlag{Name: "tls-key", EnvVars: []string{"NTP_TLS_KEY"},
			Usage: "PEM private key of --tls-cert"},
		&cli.StringFlag{Name: "tls-client-ca", EnvVars: []string{"NTP_TLS_CLIENT_CA"},
			Usage: "PEM CA certificates: workers must present a client certificate they signed (mutual TLS); reloaded like --tls-cert"},
		&cli.DurationFlag{Name: "max-future-skew", Value: session.DefaultMaxFutureSkew, EnvVars: []string{"NTP_MAX_FUTURE_SKEW"},
			Usage: "how far ahead of this host's clock a session's capture time may be before the session is refused"},
		&cli.IntFlag{Name: "max-clients", EnvVars: []string{"NTP_MAX_CLIENTS"}, Action: between("max-clients", 0, math.MaxInt32),
			Usage: "client rows kept at most, against spoofed-source floods (0: no limit): known clients are always updated; a new client the server answered is stored below this many rows, any other new client below nine tenths of it; refused sessions are counted in /metrics (ntp_ingest_rejected_total, reason client_limit*)"},
	}
}

// ingestTLS loads the listener's certificate and client CAs. Both are nil
// without --tls-cert.
func ingestTLS(c *cli.Context) (*tlsfiles.Certificate, *tlsfiles.Pool, error) {
	certFile, keyFile, caFile := c.String("tls-cert"), c.String("tls-key"), c.String("tls-client-ca")
	if (certFile == "") != (keyFile == "") {
		return nil, nil, errors.New("--tls-cert and --tls-key go together: give both (the certificate and its key) or neither")
	}
	if certFile == "" {
		if caFile != "" {
			return nil, nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first")
		}
		return nil, nil, nil
	}
	cert, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert: %w", err)
	}
	if caFile == "" {
		return cert, nil, nil
	}
	pool, err := tlsfiles.LoadPool(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
	}
	return cert, pool, nil
}

// ingestToken is --token or the content of --token-file.
func ingestToken(c *cli.Context, log *slog.Logger) (string, error) {
	path := c.String("token-file")
	tok, exposed, err := secretfile.Resolve(c.String("token"), path)
	switch {
	case errors.Is(err, secretfile.ErrBoth):
		return "", errors.New("--token and --token-file both give the workers' token: keep one (--token-file keeps it out of ps)")
	case err != nil:
		return "", fmt.Errorf("--token-file: %w", err)
	case exposed:
		log.Warn("the token file can be read by other users; chmod 600 it", "path", path)
	}
	return tok, nil
}

// localWorkerArgs are the transport flags of the workers the supervisor
// starts. They connect to this collector on this host (host is where, as
// the supervisor dials it):
//
//   - with TLS, they trust the collector's certificate itself (--tls-ca is
//     the --tls-cert file, which they re-read when it changes, so a renewal
//     is followed) for the name it carries, and under mutual TLS present
//     that same certificate as their client certificate, which the
//     listener accepts: a local worker needs no certificate of its own;
//   - without TLS, plaintext, which stays on this host even when the
//     listener's address is not a loopback one (a worker would refuse it
//     unless told).
func localWorkerArgs(host string, cert *tlsfiles.Certificate, mutual bool) []string {
	if cert == nil {
		if isLoopbackHost(host) {
			return nil
		}
		return []string{"--tls=false", "--insecure-plaintext"}
	}
	certFile, keyFile := cert.Files()
	args := []string{"--tls", "--tls-ca=" + certFile, "--tls-server-name=" + tlsfiles.ServerName(cert.Current().Leaf)}
	if mutual {
		args = append(args, "--tls-cert="+certFile, "--tls-key="+keyFile)
	}
	return args
}

// isLoopbackHost reports whether the supervisor's workers reach the
// listener on a loopback address: it dials the loopback address when the
// listener binds every address.
func isLoopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// watchTLS reloads the certificates of both listeners and the client CAs on
// SIGHUP and when their files change, until ctx is done. Without TLS a
// SIGHUP is logged and changes nothing (it does not end the collector).
func watchTLS(ctx context.Context, log *slog.Logger, hup <-chan os.Signal, rs ...tlsfiles.Reloadable) {
	if len(rs) > 0 {
		tlsfiles.Watch(ctx, log, 0, hup, rs...)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: no TLS certificate to reload (no --tls-cert, no --http-tls-cert)")
		}
	}
}
