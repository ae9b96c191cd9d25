// Package httpapi is the collector's operator-facing HTTP API, served with
// Gin: the client history (list, detail, search, export, cleanup), interface
// and service statistics, health, Prometheus metrics, and the REST face of
// the worker supervisor. api/openapi.yaml is its contract; the tests hold
// the responses to it.
//
// Client rows come from package store, read on its query-only pool; the
// ingestion snapshot and the supervisor come in through the [Ingest] and
// [Supervisor] interfaces. The one write the package makes to the database
// itself is store.Cleanup, and it never decodes the worker protocol.
//
// # Who may ask
//
// The API is safe to leave on a host where browsers run, by default.
// Every request passes, in order: the security headers ([ContentSecurityPolicy],
// nosniff, no framing, no referrer, HSTS over TLS); the Host check (421
// unless Host names the server: its listen address, a loopback name, or
// Config.AllowedHosts — against DNS rebinding); the cross-origin check (403
// for a state-changing request another origin's page sent, with
// net/http's CrossOriginProtection; CORS for reads only, when
// Config.CORSOrigin names an origin); the JSON check (415 for a POST that
// is not application/json, which no form or no-cors fetch can be); then the
// route's token. The mutating endpoints and export need Config.Token; [New]
// refuses a Config without one unless Config.NoAuth asks for an open API.
// With Config.ReadToken the reads need it (or the admin token); /health and
// /metrics stay open unless Config.ProtectMetrics. With Config.TLS the
// server speaks HTTPS, TLS 1.2 at least; package tlsfiles serves a
// certificate that renews without a restart.
//
// Every answer but export's stream is rendered whole before its status
// line (respond.go): one that fails to encode is a 500, never a 200 with
// an empty body.
//
// # Files
//
//   - server.go: [Config], [New], the routes, serving and shutdown.
//   - headers.go, hosts.go, crossorigin.go, auth.go: the checks above, in
//     their order.
//   - middleware.go: panic recovery, the request log.
//   - respond.go: answers rendered before the status line.
//   - clients.go, export.go, cleanup.go: the client history endpoints.
//   - render.go: client rows as JSON, NDJSON and CSV, built from the
//     store's column table (store.ClientColumns) so that a stored column
//     appears in every form under the same name; CSV text neutralised
//     against formula injection.
//   - counts.go: the cache of list totals.
//   - interface_stats.go, service_stats.go, health.go, metrics.go: what
//     the collector reports about itself; metrics_workers.go folds the
//     workers' counters into a bounded set of series per interface.
//   - interface_workers.go: the host's network interfaces and the capture
//     worker on each, through the supervisor.
//   - spec.go: the API's contract, api/openapi.yaml, served as compiled in.
//   - params.go, body.go, errors.go: query parameters, JSON bodies (and
//     the JSON check), and the error responses with their stable codes.
package httpapi
