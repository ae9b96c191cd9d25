package httpapi

// Cross-origin requests. A web page of another origin must not be able to
// change anything here: the browser sends a form POST or a no-cors fetch
// without asking, so a request that changes state and says it comes from
// elsewhere (Sec-Fetch-Site cross-site or same-site, or an Origin that is
// not the Host it was sent to) is refused with 403, whatever token it
// carries. That check is net/http's CrossOriginProtection. Reads are not
// refused — the browser does not let the other page see the answer — and
// with Config.CORSOrigin one named origin may read them, with the
// Authorization header, and nothing else.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// corsMaxAge is how long a browser may cache a preflight answer, seconds.
const corsMaxAge = "600"

// parseOrigin checks a configured CORS origin: scheme://host[:port] and
// nothing else.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(s, "*") {
		return "", fmt.Errorf("httpapi: CORS origin %q: give one origin as scheme://host[:port], such as https://grafana.example.net", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// crossOrigin refuses state-changing requests from other origins, and
// answers CORS for reads when an origin is configured: its preflights here,
// the allow header on its GET and HEAD requests.
func (s *Server) crossOrigin() gin.HandlerFunc {
	csrf := http.NewCrossOriginProtection()
	return func(c *gin.Context) {
		r := c.Request
		if s.corsOrigin != "" {
			c.Writer.Header().Add("Vary", "Origin")
			if origin := r.Header.Get("Origin"); origin != "" && strings.EqualFold(origin, s.corsOrigin) {
				if s.cors(c) {
					return
				}
			}
		}
		if err := csrf.Check(r); err != nil {
			fail(c, http.StatusForbidden, CodeCrossOrigin, "cross-origin request refused: "+r.Method+
				" changes the collector and may come only from its own pages (a guard against cross-site request forgery)")
			return
		}
		c.Next()
	}
}

// cors handles a request from the configured origin. It reports whether
// it has answered the request (a preflight).
func (s *Server) cors(c *gin.Context) bool {
	r := c.Request
	h := c.Writer.Header()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.Set("Access-Control-Allow-Origin", s.corsOrigin)
		return false
	case http.MethodOptions:
		want := r.Header.Get("Access-Control-Request-Method")
		if want == "" {
			return false // not a preflight: 405 as for any OPTIONS
		}
		if want != http.MethodGet && want != http.MethodHead {
			fail(c, http.StatusForbidden, CodeCrossOrigin, "cross-origin requests may only read (GET, HEAD); "+want+" is refused")
			return true
		}
		h.Set("Access-Control-Allow-Origin", s.corsOrigin)
		h.Set("Access-Control-Allow-Methods", "GET, HEAD")
		h.Set("Access-Control-Allow-Headers", "Authorization")
		h.Set("Access-Control-Max-Age", corsMaxAge)
		c.AbortWithStatus(http.StatusNoContent)
		return true
	}
	return false
}
