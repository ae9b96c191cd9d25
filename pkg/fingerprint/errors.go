package fingerprint

import "errors"

// Errors returned by this package, wrapped with context; test with
// errors.Is.
var (
	// ErrUnknownImplementation means a name (or number) that is not one of
	// the Implementation values.
	ErrUnknownImplementation = errors.New("fingerprint: unknown implementation")
	// ErrEncoding means a Features or Sequence encoding that is not one
	// this package wrote: wrong length, or bits no value sets.
	ErrEncoding = errors.New("fingerprint: malformed encoding")
)
