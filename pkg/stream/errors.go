package stream

import "errors"

// Errors.
var (
	// ErrTooMany is wrapped by Subscribe when Config.MaxSubscribers are
	// already subscribed.
	ErrTooMany = errors.New("stream: too many subscribers")
	// ErrClosed is returned by Subscribe after Close.
	ErrClosed = errors.New("stream: broadcaster closed")
)
