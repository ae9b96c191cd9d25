package main

// Who may use the HTTP API and how it is reached: tokens, allowed host
// names, CORS and HTTPS, from serve's flags.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/apitoken"
	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

func httpAccessFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api-token", EnvVars: []string{"NTP_API_TOKEN"},
			DefaultText: "the " + apitoken.FileName + " file beside the database, generated at the first start",
			Usage:       "admin bearer token: cleanup, export, worker start/stop, and every read; prefer --api-token-file: argv shows in ps"},
		&cli.StringFlag{Name: "api-token-file", EnvVars: []string{"NTP_API_TOKEN_FILE"},
			Usage: "file holding the admin token"},
		&cli.StringFlag{Name: "api-read-token", EnvVars: []string{"NTP_API_READ_TOKEN"}, DefaultText: "none: reads are open",
			Usage: "bearer token every read endpoint then needs (or the admin token); /health and /metrics stay open unless --protect-metrics"},
		&cli.StringFlag{Name: "api-read-token-file", EnvVars: []string{"NTP_API_READ_TOKEN_FILE"},
			Usage: "file holding the read token"},
		&cli.BoolFlag{Name: "no-auth", EnvVars: []string{"NTP_NO_AUTH"},
			Usage: "no token at all: cleanup, export and worker start/stop open to anyone who can connect (warned at every start)"},
		&cli.BoolFlag{Name: "protect-metrics", EnvVars: []string{"NTP_PROTECT_METRICS"},
			Usage: "/health and /metrics need the read token too (the admin token when there is no read token)"},
		&cli.StringSliceFlag{Name: "allowed-host", EnvVars: []string{"NTP_ALLOWED_HOST"},
			Usage: "a further name the API answers to, host or host:port (repeat, or commas in the variable): a reverse proxy's, or the one remote clients use; other Host headers get 421"},
		&cli.StringFlag{Name: "cors-origin", EnvVars: []string{"NTP_CORS_ORIGIN"}, DefaultText: "none: no CORS",
			Usage: "one origin (https://host[:port]) whose web pages may read the API (GET, with the Authorization header)"},
		&cli.StringFlag{Name: "http-tls-cert", EnvVars: []string{"NTP_HTTP_TLS_CERT"}, DefaultText: "none: plain HTTP",
			Usage: "PEM certificate (chain) for HTTPS on --http-listen; reloaded on SIGHUP and when the file changes"},
		&cli.StringFlag{Name: "http-tls-key", EnvVars: []string{"NTP_HTTP_TLS_KEY"},
			Usage: "PEM private key of --http-tls-cert"},
	}
}

// httpAccess is what the flags decided.
type httpAccess struct {
	token, readToken string
	noAuth           bool
	protectMetrics   bool
	allowedHosts     []string
	corsOrigin       string
	cert             *tlsfiles.Certificate // nil: plain HTTP
}

// apply sets the access fields of cfg.
func (a *httpAccess) apply(cfg *httpapi.Config) {
	cfg.Token, cfg.ReadToken, cfg.NoAuth = a.token, a.readToken, a.noAuth
	cfg.ProtectMetrics, cfg.AllowedHosts, cfg.CORSOrigin = a.protectMetrics, a.allowedHosts, a.corsOrigin
	if a.cert != nil {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: a.cert.GetCertificate}
	}
}

// resolveHTTPAccess reads the flags. stateDir is where the admin token file
// lives (the database's directory). Token values are never logged: only
// where they came from.
func resolveHTTPAccess(c *cli.Context, stateDir string, log *slog.Logger) (*httpAccess, error) {
	a := &httpAccess{noAuth: c.Bool("no-auth"), protectMetrics: c.Bool("protect-metrics"),
		allowedHosts: c.StringSlice("allowed-host"), corsOrigin: c.String("cors-origin")}
	var err error
	var readFrom string
	if a.readToken, readFrom, err = tokenFlag(c, "api-read-token", "NTP_API_READ_TOKEN"); err != nil {
		return nil, err
	}
	given, from, err := tokenFlag(c, "api-token", "NTP_API_TOKEN")
	if err != nil {
		return nil, err
	}
	if a.readToken != "" {
		log.Info("http api read token", "from", readFrom)
	}
	switch {
	case a.noAuth && (given != "" || a.readToken != ""):
		return nil, errors.New("--no-auth leaves the API open: it cannot go with --api-token, --api-read-token or their files")
	case a.noAuth:
		// httpapi warns at every start that the API is open.
	case given != "":
		a.token = given
		// The state directory's copy is what the terminal commands on this
		// host read.
		if path, err := apitoken.Keep(stateDir, given); err != nil {
			log.Warn("cannot keep a copy of the API token for the terminal commands", "path", path, "err", err)
		}
		log.Info("http api admin token", "from", from)
	default:
		st, err := apitoken.LoadOrCreate(stateDir)
		if err != nil {
			return nil, fmt.Errorf("API token in the state directory %s: %w (give one with --api-token-file, or --no-auth)", stateDir, err)
		}
		a.token = st.Token
		if st.Created {
			// Once, at the first start, and never the value: the journal is
			// read by more people than the token is meant for.
			log.Warn("generated the admin token of the http api: cleanup, export and worker start/stop need it",
				"path", st.Path, "read_it_with", "cat "+st.Path+" (as this service's user or root)")
		} else {
			log.Info("http api admin token", "from", st.Path)
		}
		if st.Mode&0o077 != 0 {
			log.Warn("the API token file is readable by other users: chmod 600 it", "path", st.Path, "mode", fmt.Sprintf("%04o", st.Mode))
		}
	}
	cert, key := c.String("http-tls-cert"), c.String("http-tls-key")
	if (cert == "") != (key == "") {
		return nil, errors.New("--http-tls-cert and --http-tls-key go together")
	}
	if cert != "" {
		if a.cert, err = tlsfiles.LoadCertificate(cert, key); err != nil {
			return nil, fmt.Errorf("--http-tls-cert: %w", err)
		}
	}
	return a, nil
}

// tokenFlag is the token of --name or of --name-file, which exclude each
// other, and where it came from.
func tokenFlag(c *cli.Context, name, env string) (tok, source string, err error) {
	v, file := c.String(name), c.String(name+"-file")
	switch {
	case v != "" && file != "":
		return "", "", fmt.Errorf("--%s and --%s-file: give one", name, name)
	case file != "":
		if tok, err = secretfile.Read(file); err != nil {
			return "", "", fmt.Errorf("--%s-file: %w", name, err)
		}
		return tok, file + " (" + givenBy(c, name+"-file", env+"_FILE") + ")", nil
	case v != "":
		return v, givenBy(c, name, env), nil
	}
	return "", "", nil
}
