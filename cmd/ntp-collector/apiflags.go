package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// apiFlags are the flags of the commands that read the HTTP API.
func apiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api", Value: apiclient.DefaultURL, EnvVars: []string{"NTP_API"},
			Usage: "base URL of the collector's HTTP API"},
		&cli.StringFlag{Name: "api-token", EnvVars: []string{"NTP_API_TOKEN"},
			Usage: "bearer token for the API (default: the collector's own token file, see --state-dir)"},
		&cli.StringFlag{Name: "api-token-file", EnvVars: []string{"NTP_API_TOKEN_FILE"},
			Usage: "file holding the API token"},
		&cli.StringFlag{Name: "state-dir", EnvVars: []string{"NTP_STATE_DIR"},
			Usage: "state directory of the local collector, whose " + apiclient.TokenFileName + " is read when no token is given and --api is on this host (default: " +
				strings.Join(apiclient.DefaultStateDirs(), ", then ") + ")"},
	}
}

// apiConn is a client of the API and what an error message needs to say
// about how its token was chosen.
type apiConn struct {
	*apiclient.Client
	// stateDirs were searched for a token file; unreadable are the token
	// files found there that could not be read.
	stateDirs  []string
	unreadable []error
}

// dialAPI makes the API client from the flags. The token is, in order:
// --api-token (or NTP_API_TOKEN), the file --api-token-file names, or the
// token file in the state directory when --api is on this host.
func dialAPI(c *cli.Context) (*apiConn, error) {
	base := c.String("api")
	conn := &apiConn{}
	var tok apiclient.Token
	switch {
	case c.String("api-token") != "":
		tok = apiclient.Token{Value: c.String("api-token"), Source: givenBy(c, "api-token", "NTP_API_TOKEN")}
	case c.String("api-token-file") != "":
		path := c.String("api-token-file")
		v, err := apiclient.ReadTokenFile(path)
		if err != nil {
			return nil, fmt.Errorf("--api-token-file: %w", err)
		}
		tok = apiclient.Token{Value: v, Source: path + " (" + givenBy(c, "api-token-file", "NTP_API_TOKEN_FILE") + ")"}
	case apiclient.IsLocal(base):
		conn.stateDirs = apiclient.DefaultStateDirs()
		if d := c.String("state-dir"); d != "" {
			conn.stateDirs = []string{d}
		}
		tok, conn.unreadable = apiclient.FindStateToken(conn.stateDirs...)
	}
	api, err := apiclient.New(base, tok)
	if err != nil {
		return nil, fmt.Errorf("--api: %w", err)
	}
	conn.Client = api
	return conn, nil
}

// givenBy names the flag or the variable a value came from.
func givenBy(c *cli.Context, flag, env string) string {
	if v, ok := os.LookupEnv(env); ok && v == c.String(flag) {
		return env
	}
	return "--" + flag
}

// explain adds to an API error the hint an operator needs next: where to
// point --api, or how to give the token.
func (a *apiConn) explain(err error) error {
	switch {
	case errors.Is(err, apiclient.ErrUnreachable):
		return fmt.Errorf("%w; is `ntp-collector serve` running there? --api (NTP_API) selects another collector", err)
	case errors.Is(err, apiclient.ErrUnauthorized) && a.Token().Value == "":
		hint := "give it with --api-token (NTP_API_TOKEN) or --api-token-file (NTP_API_TOKEN_FILE)"
		if len(a.stateDirs) > 0 {
			hint += "; no readable " + apiclient.TokenFileName + " in " + strings.Join(a.stateDirs, " or ")
		}
		for _, u := range a.unreadable {
			hint += " (" + u.Error() + ")"
		}
		return fmt.Errorf("%w; %s", err, hint)
	case errors.Is(err, apiclient.ErrForbidden):
		return fmt.Errorf("%w; the collector's token is its --api-token (NTP_API_TOKEN) or the %s in its state directory", err, apiclient.TokenFileName)
	}
	return err
}
