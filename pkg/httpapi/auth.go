package httpapi

// Bearer tokens. The admin token (Config.Token) guards what changes the
// collector or hands out the whole inventory: cleanup, export, worker start
// and stop. The read token (Config.ReadToken), when one is set, guards
// every read; the admin token reads too. /health and /metrics stay open
// for monitors unless Config.ProtectMetrics.

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// access is what an endpoint asks of a request.
type access int

const (
	// accessRead: the read token or the admin token, when a read token
	// is set; open otherwise.
	accessRead access = iota
	// accessMonitor: /health and /metrics. Open, unless
	// Config.ProtectMetrics: then as accessRead, and with no read token
	// the admin token.
	accessMonitor
	// accessAdmin: the admin token, unless Config.NoAuth.
	accessAdmin
)

// digest is the SHA-256 of a token: comparing fixed-size digests in
// constant time does not reveal a token's length either.
type digest = [sha256.Size]byte

// tokens holds the digests of the configured tokens.
type tokens struct {
	admin, read       digest
	hasAdmin, hasRead bool
	protectMonitor    bool
}

func newTokens(cfg Config) tokens {
	t := tokens{hasAdmin: cfg.Token != "", hasRead: cfg.ReadToken != "", protectMonitor: cfg.ProtectMetrics}
	if t.hasAdmin {
		t.admin = sha256.Sum256([]byte(cfg.Token))
	}
	if t.hasRead {
		t.read = sha256.Sum256([]byte(cfg.ReadToken))
	}
	return t
}

// accepts reports which tokens an endpoint of level a takes; both false
// means it is open.
func (t tokens) accepts(a access) (admin, read bool) {
	switch a {
	case accessAdmin:
		return t.hasAdmin, false
	case accessMonitor:
		if !t.protectMonitor {
			return false, false
		}
	}
	if !t.hasRead && a == accessRead {
		return false, false
	}
	return t.hasAdmin, t.hasRead
}

// equal compares two digests in constant time.
func equal(a, b *digest) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// require checks the bearer token an endpoint of level a needs.
//
// 401 (with WWW-Authenticate) means no credentials were presented, or the
// Authorization header is not a bearer token at all: the client should
// authenticate. 403 means a bearer token was presented and it is not one
// that opens this endpoint — a wrong token, or the read token on an
// endpoint that needs the admin token: authenticating again with the same
// token will not help. Tokens are never logged; the request log does not
// record headers.
func (s *Server) require(a access) gin.HandlerFunc {
	admin, read := s.tokens.accepts(a)
	if !admin && !read {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			msg := "this endpoint needs Authorization: Bearer <token>"
			challenge := `Bearer realm="ntp-monitor"`
			if h != "" {
				msg = "the Authorization header is not a bearer token; " + msg
				challenge += `, error="invalid_request"`
			}
			c.Header("WWW-Authenticate", challenge)
			fail(c, http.StatusUnauthorized, CodeUnauthorized, msg)
			return
		}
		sum := sha256.Sum256([]byte(tok))
		// Both comparisons always run: which token matched is not told by
		// the time taken either.
		isAdmin := s.tokens.hasAdmin && equal(&sum, &s.tokens.admin)
		isRead := s.tokens.hasRead && equal(&sum, &s.tokens.read)
		switch {
		case admin && isAdmin, read && isRead:
			c.Next()
		case isRead:
			fail(c, http.StatusForbidden, CodeForbidden, "this endpoint needs the admin token; the read token only reads")
		default:
			fail(c, http.StatusForbidden, CodeForbidden, "the bearer token is not valid")
		}
	}
}
