package httpapi

import "net/http"

// ContentSecurityPolicy is the policy of every answer of the API: JSON,
// CSV and text are never to be run, styled or framed, whatever a browser
// makes of them. A handler that serves a page replaces it with the
// page's own policy by setting the header itself (Config.Page does: the
// dashboard's policy lets it load its own scripts, styles and images).
const ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// hstsMaxAge is the Strict-Transport-Security of answers over TLS: a year.
// Not includeSubDomains: the collector does not speak for its domain.
const hstsMaxAge = "max-age=31536000"

// securityHeaders sets, before anything answers, the headers every answer
// carries: no content sniffing (a JSON error is never taken for HTML), no
// framing, no Referer leaving with a link, the API's policy, and HSTS over
// TLS. It wraps the router rather than running inside it, so that what
// Gin answers on its own (a redirect to the path with a trailing slash)
// carries them too.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsMaxAge)
		}
		next.ServeHTTP(w, r)
	})
}
