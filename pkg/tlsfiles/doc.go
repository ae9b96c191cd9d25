// Package tlsfiles keeps TLS material that lives in PEM files — a
// certificate with its key, a bundle of CA certificates — loaded in memory
// and replaced when the files change, so that a renewed certificate is used
// without a restart.
//
// LoadCertificate and LoadPool read the files once and fail when they are
// unusable; Watch then reloads them when their files change (it polls their
// size, modification time and inode, which also catches a file replaced by
// a rename or a symlink swap) and whenever a signal such as SIGHUP arrives.
// A reload that fails — a key that does not match its certificate, a half
// written file, a certificate that has expired — keeps what was loaded
// before and is logged; the next change tries again. Readers take the
// current value with Current, which is safe from any goroutine.
//
// ClientConfig is a client configuration that uses a Pool and a
// Certificate as they are at each handshake. Identity names the peer behind
// a certificate, and ServerName the name a client can verify a server
// certificate against.
//
// # Files
//
// certificate.go holds Certificate; pool.go Pool; client.go ClientConfig; watch.go the reloading;
// files.go what tells a file changed, and the reloading both share; identity.go the names read from a
// certificate; errors.go the exported errors.
package tlsfiles
