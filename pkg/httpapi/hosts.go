package httpapi

// The Host check, against DNS rebinding: a web page on evil.example whose
// name its owner points at 127.0.0.1 after the page has loaded talks to
// the collector as "its own" origin, so the browser lets it read every
// answer and the Origin check passes. What gives it away is the Host
// header, which still says evil.example. Requests are therefore answered
// only when Host names the collector: an address it listens on, a loopback
// name (localhost, 127.0.0.1, [::1]), or a name the operator allowed (the
// name a reverse proxy or remote clients use). Anything else gets 421
// Misdirected Request.
//
// Loopback names are taken at any port: no DNS answer can make a browser
// send them for a site of someone else's, and a proxy or tunnel on this
// host (ssh -L, a reverse proxy under a path prefix) reaches the collector
// under its own port. Other addresses and names must match the port too,
// unless an allowed name is given without one.

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// hostGuard is the set of Host values the server answers to.
type hostGuard struct {
	tls bool // default port 443 instead of 80 when Host has none

	mu      sync.RWMutex
	exact   map[string]bool // "host:port", canonical
	anyPort map[string]bool // host names allowed with any port or none
}

func newHostGuard(addr string, allowed []string, tls bool) (*hostGuard, error) {
	g := &hostGuard{tls: tls, exact: map[string]bool{}, anyPort: map[string]bool{}}
	for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
		g.anyPort[n] = true
	}
	g.addListen(addr)
	for _, a := range allowed {
		if err := g.allow(a); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// allow adds an operator's allowed host: a name or address, with a port or
// without (then any port).
func (g *hostGuard) allow(s string) error {
	if strings.Contains(s, "/") || strings.Contains(s, "*") || strings.TrimSpace(s) != s || s == "" {
		return fmt.Errorf("httpapi: allowed host %q: give a host name or address, optionally with :port (not a URL or a pattern)", s)
	}
	host, port, ok := splitHost(s)
	if !ok {
		return fmt.Errorf("httpapi: allowed host %q: not host or host:port", s)
	}
	if port == "" {
		g.anyPort[host] = true
	} else {
		g.exact[net.JoinHostPort(host, port)] = true
	}
	return nil
}

// addListen adds an address the server listens on.
func (g *hostGuard) addListen(addr string) {
	host, port, ok := splitHost(addr)
	if !ok || port == "" {
		return
	}
	g.mu.Lock()
	g.exact[net.JoinHostPort(host, port)] = true
	g.mu.Unlock()
}

// allows reports whether a request's Host names this server.
func (g *hostGuard) allows(hostHeader string) bool {
	host, port, ok := splitHost(hostHeader)
	if !ok {
		return false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.anyPort[host] {
		return true
	}
	if port == "" {
		port = "80"
		if g.tls {
			port = "443"
		}
	}
	return g.exact[net.JoinHostPort(host, port)]
}

// splitHost splits "host", "host:port", "[v6]" or "[v6]:port" and makes the
// host canonical: lower case, no trailing dot, an address in its shortest
// form. ok is false for anything else.
func splitHost(s string) (host, port string, ok bool) {
	host = s
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", "", false
		}
	} else if strings.Count(s, ":") == 1 && !strings.HasPrefix(s, "[") {
		return "", "", false // "host:" or a bad port
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().WithZone("").String(), port, true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || strings.ContainsAny(host, "[]:@ ") {
		return "", "", false
	}
	return host, port, true
}

// checkHost answers 421 to a request whose Host is not one of the server's.
func (s *Server) checkHost() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.hosts.allows(c.Request.Host) {
			c.Next()
			return
		}
		fail(c, http.StatusMisdirectedRequest, CodeMisdirected, fmt.Sprintf(
			"this collector does not answer to the name %q (a guard against DNS rebinding); "+
				"to reach it under that name, add it to the allowed hosts (ntp-collector serve --allowed-host)", c.Request.Host))
	}
}
