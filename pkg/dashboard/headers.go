package dashboard

import "net/http"

// ContentSecurityPolicy is sent with the page and every file of it. The
// page runs only its own scripts (no inline script, no eval, no inline
// event handlers), applies only its own style sheets (it sets style
// properties from scripts, which a policy does not restrict), talks only
// to the collector that served it and may not be framed. It is strict
// enough to be enforced by a reverse proxy in front of the collector too.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'"

// secure sets the headers that keep the page from being framed,
// sniffed or leaking its address to anyone.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}
