package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// transportFlags say how the worker reaches the collector and proves who it
// is: TLS, its certificates, the token.
func transportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token", EnvVars: []string{"NTP_TOKEN"},
			Usage: "token the collector expects in hello (if it has one); prefer --token-file or the variable: argv shows in ps"},
		&cli.StringFlag{Name: "token-file", EnvVars: []string{"NTP_TOKEN_FILE"},
			Usage: "file holding the token (mode 0600; white space around it is ignored)"},
		// DefaultText: the help would otherwise print a bool's false, or
		// nothing, where the default is a rule.
		&cli.BoolFlag{Name: "tls", EnvVars: []string{"NTP_TLS"},
			Usage:       "speak TLS 1.3 to the collector; --tls=false turns it off",
			DefaultText: "on unless --ingestion-host is localhost or a loopback address"},
		&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"NTP_TLS_CA"},
			Usage:       "PEM file of the CAs that sign the collector's certificate; re-read when it changes",
			DefaultText: "the system's CAs"},
		&cli.StringFlag{Name: "tls-server-name", EnvVars: []string{"NTP_TLS_SERVER_NAME"},
			Usage: "name the collector's certificate must carry (default: --ingestion-host)"},
		&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"NTP_TLS_CERT"},
			Usage: "PEM file of this worker's client certificate, for a collector that requires mutual TLS; re-read when it changes"},
		&cli.StringFlag{Name: "tls-key", EnvVars: []string{"NTP_TLS_KEY"},
			Usage: "PEM file of the client certificate's private key"},
		&cli.BoolFlag{Name: "insecure-plaintext", EnvVars: []string{"NTP_INSECURE_PLAINTEXT"},
			Usage: "allow plaintext to a collector that is not on a loopback address: anyone on the path reads the token and every client address"},
	}
}

// isLoopback reports whether host is this host's loopback: "localhost" or a
// loopback address. A name is not resolved: what it resolves to may change.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// transport is what the flags decide: the TLS configuration (nil for
// plaintext), the material to keep reloading, and the token.
type transport struct {
	tls    *tls.Config
	reload []tlsfiles.Reloadable
	token  string
}

// newTransport checks the transport flags and loads what they name. Every
// refusal is one line that says what to change.
func newTransport(c *cli.Context, log *slog.Logger) (*transport, error) {
	host := c.String("ingestion-host")
	target := net.JoinHostPort(host, fmt.Sprint(c.Int("ingestion-port")))
	insecure := c.Bool("insecure-plaintext")
	on := !insecure && !isLoopback(host)
	if c.IsSet("tls") {
		on = c.Bool("tls")
		if on && insecure {
			return nil, errors.New("--tls and --insecure-plaintext contradict each other: choose one")
		}
	}
	tr := &transport{}
	var err error
	if tr.token, err = token(c, log); err != nil {
		return nil, err
	}
	if !on {
		for _, f := range []string{"tls-ca", "tls-server-name", "tls-cert", "tls-key"} {
			if c.String(f) != "" {
				return nil, fmt.Errorf("--%s is given but TLS is off (--tls=false or --insecure-plaintext): drop one of them", f)
			}
		}
		if !isLoopback(host) && !insecure {
			return nil, fmt.Errorf("refusing to send the token and the client addresses in plaintext to %s, which is not a loopback address: use TLS (drop --tls=false) or, on a network you trust, give --insecure-plaintext", target)
		}
		return tr, nil
	}
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both (the client certificate and its key) or neither")
	}
	var roots *tlsfiles.Pool
	if f := c.String("tls-ca"); f != "" {
		if roots, err = tlsfiles.LoadPool(f); err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		tr.reload = append(tr.reload, roots)
	}
	var cert *tlsfiles.Certificate
	if c.String("tls-cert") != "" {
		if cert, err = tlsfiles.LoadCertificate(c.String("tls-cert"), c.String("tls-key")); err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		tr.reload = append(tr.reload, cert)
	}
	name := c.String("tls-server-name")
	if name == "" {
		name = host
	}
	tr.tls = tlsfiles.ClientConfig(name, roots, cert)
	return tr, nil
}

// token is --token or the content of --token-file.
func token(c *cli.Context, log *slog.Logger) (string, error) {
	path := c.String("token-file")
	tok, exposed, err := secretfile.Resolve(c.String("token"), path)
	switch {
	case errors.Is(err, secretfile.ErrBoth):
		return "", errors.New("--token and --token-file both give the token: keep one (--token-file keeps it out of ps)")
	case err != nil:
		return "", fmt.Errorf("--token-file: %w", err)
	case exposed:
		log.Warn("the token file can be read by other users; chmod 600 it", "path", path)
	}
	return tok, nil
}
