package supervisor

import (
	"fmt"
	"math"
)

// Options are a worker's capture settings. A zero field means the worker's own
// default and is not passed on its command line.
type Options struct {
	Port       int     `json:"port,omitempty"`        // NTP server port to watch, 1–65535 (worker default 123)
	Timeout    float64 `json:"timeout,omitempty"`     // seconds before a request counts as unanswered, 0.001–3600
	Snaplen    int     `json:"snaplen,omitempty"`     // bytes captured per packet, 64–65535
	BufferSize int     `json:"buffer_size,omitempty"` // kernel capture buffer in bytes, 64 KiB – 1 GiB
}

// Limits on Options, wider than any sensible setting but narrow enough to
// catch a unit mistake (milliseconds for seconds, KiB for bytes).
const (
	minTimeout    = 0.001
	maxTimeout    = 3600.0
	minSnaplen    = 64
	maxSnaplen    = 65535
	minBufferSize = 64 << 10
	maxBufferSize = 1 << 30
)

// Validate checks the options; zero fields are valid (the worker's default).
// The error wraps ErrInvalid.
func (o Options) Validate() error {
	if o.Port != 0 && (o.Port < 1 || o.Port > 65535) {
		return fmt.Errorf("%w: port %d out of range 1–65535", ErrInvalid, o.Port)
	}
	if math.IsNaN(o.Timeout) || math.IsInf(o.Timeout, 0) || o.Timeout < 0 || (o.Timeout != 0 && o.Timeout < minTimeout) || o.Timeout > maxTimeout {
		return fmt.Errorf("%w: timeout %v s out of range %v–%v", ErrInvalid, o.Timeout, minTimeout, maxTimeout)
	}
	if o.Snaplen != 0 && (o.Snaplen < minSnaplen || o.Snaplen > maxSnaplen) {
		return fmt.Errorf("%w: snaplen %d out of range %d–%d", ErrInvalid, o.Snaplen, minSnaplen, maxSnaplen)
	}
	if o.BufferSize != 0 && (o.BufferSize < minBufferSize || o.BufferSize > maxBufferSize) {
		return fmt.Errorf("%w: buffer_size %d out of range %d–%d bytes", ErrInvalid, o.BufferSize, minBufferSize, maxBufferSize)
	}
	return nil
}
