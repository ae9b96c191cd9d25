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
// # Files
//
//   - server.go: [Config], [New], the routes, serving and shutdown.
//   - middleware.go: the bearer token, panic recovery, the request log.
//   - clients.go, export.go, cleanup.go: the client history endpoints.
//   - render.go: client rows as JSON, NDJSON and CSV, built from the
//     store's column table (store.ClientColumns) so that a stored column
//     appears in every form under the same name.
//   - counts.go: the cache of list totals.
//   - interface_stats.go, service_stats.go, health.go, metrics.go: what
//     the collector reports about itself.
//   - interface_workers.go: the host's network interfaces and the capture
//     worker on each, through the supervisor.
//   - spec.go: the API's contract, api/openapi.yaml, served as compiled in.
//   - params.go, body.go, errors.go: query parameters, JSON bodies, and the
//     error responses with their stable codes.
package httpapi
