// Command ntp-collector is the long-running daemon: it receives sessions from
// ntp-worker processes over TCP or TLS, keeps the NTP client inventory in
// SQLite, supervises the workers of its host and serves the HTTP API and the
// dashboard.
//
// Subcommands: serve (the daemon: ingestion, HTTP API and dashboard, worker
// supervisor, run together by package collector), and clients and top
// (terminal views that read the HTTP API through package apiclient). The files here only turn flags into the configs of those packages:
// ingestflags.go and apiflags.go the two ports', httpaccess.go the tokens,
// hosts and HTTPS of the API.
package main
