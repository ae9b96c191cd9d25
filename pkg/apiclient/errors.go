package apiclient

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors a Client returns, matched with errors.Is.
var (
	// ErrUnreachable: no HTTP answer came (connection refused, no route,
	// timeout, a TLS or protocol failure). The wrapped error says which.
	ErrUnreachable = errors.New("cannot reach the collector")
	// ErrUnauthorized: the API answered 401, the request needs a token and
	// none was presented.
	ErrUnauthorized = errors.New("the API needs a token")
	// ErrForbidden: the API answered 403, the token presented is not the
	// collector's.
	ErrForbidden = errors.New("the API refused the token")
	// ErrNoToken: a token file is empty.
	ErrNoToken = errors.New("no token in the file")
)

// Error is an error answer of the API: {"error":{"code","message","field"}}
// or, from something that is not the collector, whatever the status says.
type Error struct {
	Method string
	URL    string
	Status int
	// Code is the API's stable error code (invalid_parameter, unauthorized,
	// …), empty when the body was not an API error.
	Code    string
	Message string
	Field   string
	// TokenSource is the Source of the token the request carried, empty
	// when it carried none.
	TokenSource string
}

func (e *Error) Error() string {
	what := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized:
		if e.TokenSource == "" {
			return what + ": this request needs the collector's API token and none was given"
		}
		return what + ": the token from " + e.TokenSource + " was not accepted as a bearer token"
	case http.StatusForbidden:
		if e.TokenSource != "" {
			return what + ": the collector refused the API token from " + e.TokenSource + " (it is not the collector's token)"
		}
	}
	if e.Message != "" {
		return what + ": " + e.Message
	}
	return what
}

// Is makes a 401 match ErrUnauthorized and a 403 ErrForbidden.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	}
	return false
}
