package wire

import (
	"errors"
	"fmt"
)

// Errors of the protocol, wrapped with detail; test with errors.Is. A value
// that is missing, of the wrong type or out of range is reported as a
// *FieldError instead.
var (
	// ErrSyntax is wrapped by every error about a line that is not a flat
	// JSON object of the expected shape.
	ErrSyntax = errors.New("wire: malformed message")
	// ErrLineTooLong: a line is longer than MaxLine bytes, newline
	// included. LineReader skips it and reads on.
	ErrLineTooLong = fmt.Errorf("wire: line longer than %d bytes", MaxLine)
)

// FieldError names the field whose value is missing, of the wrong type or out
// of range.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("wire: field %q: %s", e.Field, e.Reason) }
