package sender

import (
	"fmt"
	"strings"
)

// RejectedError is the collector's answer to a hello it refused, for example
// for a wrong token.
type RejectedError struct {
	Addr    string
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("collector at %s rejected the worker: %s", e.Addr, e.Message)
}

// Hint is what an operator should do about the rejection, from the
// collector's message (the collector's reasons are fixed sentences; an
// unknown one sends the operator to the collector's log).
func (e *RejectedError) Hint() string {
	for _, h := range rejectionHints {
		if strings.Contains(e.Message, h.match) {
			return h.hint
		}
	}
	return "see the collector's log for why"
}

var rejectionHints = [...]struct{ match, hint string }{
	{"token", "check that --token matches the collector's token"},
	{"too many connections", "the collector's --max-connections is reached; slots free up as silent workers reach its idle timeout"},
	{"bound to another", "another worker holds this --worker-id; give each worker its own (the default is a new random one)"},
	{"protocol version", "run a worker and a collector of the same release"},
	{"store unavailable", "the collector cannot write its database; see the collector's log"},
}
