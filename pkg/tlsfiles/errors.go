package tlsfiles

import "errors"

// Errors of loading TLS material, wrapped with the file and the cause; test
// with errors.Is.
var (
	// ErrNoCertificates: a CA bundle holds no PEM certificate.
	ErrNoCertificates = errors.New("no PEM certificate in the file")
	// ErrExpired: a certificate is outside its validity period (expired, or
	// not valid yet).
	ErrExpired = errors.New("certificate is outside its validity period")
)
