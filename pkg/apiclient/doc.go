// Package apiclient is a typed client of the ntp-collector HTTP API
// described in api/openapi.yaml: the client list and search, the interface
// and service statistics. It is what the terminal commands (`ntp-collector
// clients`, `ntp-collector top`) read, and what other tools can build on.
//
// A Client is made with New from the collector's base URL and, when the
// collector requires one, its API token:
//
//	c, err := apiclient.New("http://127.0.0.1:8000", apiclient.Token{Value: t, Source: "--api-token"})
//	page, err := c.ListClients(ctx, apiclient.ListQuery{SortBy: "session_count", PageSize: 10})
//
// Errors say what went wrong in terms an operator can act on. A collector
// that cannot be reached is ErrUnreachable; an error answer of the API is an
// *Error carrying its status and stable code, which also matches
// ErrUnauthorized (401: no token was presented) or ErrForbidden (403: the
// token presented is not the collector's) under errors.Is, and names the
// token's Source.
//
// Rows keep the JSON the API sent: Client.MarshalJSON returns it unchanged,
// so a tool that re-encodes rows passes through fields this package does not
// know yet.
//
// The collector writes its API token to a file in its state directory
// (TokenFileName); FindStateToken reads it so that a command run on the
// collector's host needs no token on its command line.
package apiclient
