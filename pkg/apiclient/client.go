package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultURL is the collector's HTTP API when it runs with its defaults on
// this host.
const DefaultURL = "http://127.0.0.1:8000"

// DefaultTimeout bounds one request. Interface statistics on a database of a
// million clients take seconds to compute the first time; nothing the
// client asks for should take longer than this.
const DefaultTimeout = 30 * time.Second

// maxBody bounds a response body: a page of 1,000 clients is about 1.5 MB.
const maxBody = 64 << 20

// Token is an API token and where it came from, so that an error can say
// which token was refused.
type Token struct {
	Value string
	// Source names where the token was found, for messages: a flag, a
	// variable, a file.
	Source string
}

// Client talks to one collector. Its methods may be called concurrently.
type Client struct {
	base  *url.URL
	token Token
	http  *http.Client
}

// New returns a client of the collector whose API is at baseURL
// (http://host:port, optionally with a path prefix). The token, when not
// empty, is sent as a bearer token with every request.
func New(baseURL string, token Token) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = errors.New("no http:// or https:// scheme and host")
	}
	if err != nil {
		return nil, fmt.Errorf("API URL %q: want http://host:port or https://host:port (%w)", baseURL, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("API URL %q: a query or fragment has no place in the base URL", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, http: &http.Client{Timeout: DefaultTimeout}}, nil
}

// URL is the base URL the client talks to.
func (c *Client) URL() string { return c.base.String() }

// Token is the token the client sends.
func (c *Client) Token() Token { return c.token }

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, body, out)
}

// do sends a request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, u.String(), err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token.Value != "" {
		req.Header.Set("Authorization", "Bearer "+c.token.Value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled by the caller (Ctrl-C): not the collector's fault.
			return ctx.Err()
		}
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.String(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("%w at %s: reading the answer to %s %s: %w", ErrUnreachable, c.base.String(), method, u.Path, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("%s %s: answer larger than %d bytes", method, u.String(), maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(method, u.String(), resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the collector's JSON (%w); is %s an ntp-collector?", method, u.String(), err, c.base.String())
	}
	return nil
}

// apiError decodes an error answer; a body that is not the API's error
// object (a proxy's page, another server) is summarised.
func (c *Client) apiError(method, u string, status int, data []byte) error {
	e := &Error{Method: method, URL: u, Status: status}
	if c.token.Value != "" {
		e.TokenSource = c.token.Source
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Field = body.Error.Code, body.Error.Message, body.Error.Field
		return e
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	e.Message = text
	return e
}

// unwrapURLError drops *url.Error's "Get \"http://…\":" prefix: the message
// already names the collector.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
