// Package api holds the contract of ntp-collector's HTTP API,
// openapi.yaml, and embeds it, so that the collector serves the very file
// its tests hold every response to (GET /api/openapi.yaml).
package api
