package sender

import "fmt"

// RejectedError is the collector's answer to a hello it refused, for example
// for a wrong token.
type RejectedError struct {
	Addr    string
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("collector at %s rejected the worker: %s", e.Addr, e.Message)
}
