package httpapi

// The handlers every request passes through first: panic recovery and the
// request log. The checks that follow them are in headers.go, hosts.go,
// crossorigin.go, body.go (requireJSON) and auth.go.

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// recovery turns a panic into a logged 500. http.ErrAbortHandler passes
// through: it is how a streaming handler aborts a response already started.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r)
			}
			s.log.ErrorContext(c.Request.Context(), "http handler panic", "panic", r,
				"method", c.Request.Method, "path", c.Request.URL.Path)
			if !c.Writer.Written() {
				fail(c, http.StatusInternalServerError, CodeInternal, "internal error; see the collector log")
			} else {
				c.Abort()
			}
		}()
		c.Next()
	}
}

// requestLog logs every request through slog once it is answered: at
// info, at error for a 5xx, and at debug for the successful requests that
// come by the thousand and say nothing (routine reads, below).
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status < 400 && routineRead(c.Request.URL.Path):
			level = slog.LevelDebug
		}
		s.log.Log(c.Request.Context(), level, "http request",
			"method", c.Request.Method,
			"path", c.Request.URL.Path,
			"query", c.Request.URL.RawQuery,
			"status", status,
			"bytes", c.Writer.Size(),
			"duration", time.Since(start),
			"client", c.ClientIP())
	}
}

// routineRead reports whether path is one that monitors and browsers fetch
// on their own, over and over: Prometheus scrapes /metrics every few
// seconds, process monitors poll /health, and the dashboard's page loads
// its static files (/, /ui/…) and the spec. Logged at info they would bury
// what an operator did.
func routineRead(path string) bool {
	switch path {
	case "/metrics", "/health", "/api/openapi.yaml", "/", "/ui":
		return true
	}
	return strings.HasPrefix(path, "/ui/")
}
