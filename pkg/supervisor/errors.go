package supervisor

import "errors"

// Errors returned by the supervisor, wrapped with detail; test with errors.Is.
var (
	// ErrInvalid: the interface name or an option is not acceptable.
	ErrInvalid = errors.New("invalid request")
	// ErrNoSuchInterface: the host has no interface of that name.
	ErrNoSuchInterface = errors.New("no such interface")
	// ErrAlreadyRunning: a worker is already supervised on that interface.
	ErrAlreadyRunning = errors.New("worker already running")
	// ErrNotRunning: no worker is supervised on that interface.
	ErrNotRunning = errors.New("worker not running")
	// ErrWorkerBinary: the worker executable is missing or not executable.
	ErrWorkerBinary = errors.New("worker binary unavailable")
	// ErrClosed: the supervisor has been shut down.
	ErrClosed = errors.New("supervisor shut down")
)
