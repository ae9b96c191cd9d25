package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// Bindings. A worker_id is bound to the identity that first used it, so
// that a peer which knows the id (GET /api/ntp/history/service/statistics
// lists them) and the shared token still cannot connect as that worker,
// kick it off and raise its high-water seq until its sessions are skipped.
// The identity is the client certificate's name under mutual TLS, otherwise
// the per-run secret of the worker's hello, kept as its SHA-256 digest. The
// binding is written with the worker's high-water seq in the store, so it
// outlives the collector process. A worker older than the secret presents
// neither and stays unbound, as every worker was before: it is logged as
// such at each hello.
const (
	bindX509   = "x509:"
	bindSecret = "secret:"
)

// The binding kinds as Snapshot and the API name them.
const (
	BindingCertificate = "certificate"
	BindingSecret      = "secret"
	BindingNone        = "none"
)

// errBound refuses a hello whose credentials are not those of the identity
// its worker_id is bound to.
var errBound = errors.New("worker_id is bound to another worker")

// credentials are what a hello proves about its sender.
type credentials struct {
	cert      string // the client certificate's identity, "" without one
	secretSum [sha256.Size]byte
	hasSecret bool
}

func newCredentials(certIdentity, secret string) credentials {
	cr := credentials{cert: certIdentity}
	if secret != "" {
		cr.secretSum, cr.hasSecret = sha256.Sum256([]byte(secret)), true
	}
	return cr
}

// binding is what a new worker with these credentials is bound to: its
// certificate when it has one, else its secret, else nothing.
func (cr credentials) binding() string {
	switch {
	case cr.cert != "":
		return bindX509 + cr.cert
	case cr.hasSecret:
		return bindSecret + hex.EncodeToString(cr.secretSum[:])
	}
	return ""
}

// matches reports whether the credentials prove the identity b names. A
// secret is compared by digest in constant time.
func (cr credentials) matches(b string) bool {
	switch {
	case strings.HasPrefix(b, bindX509):
		return cr.cert != "" && cr.cert == b[len(bindX509):]
	case strings.HasPrefix(b, bindSecret):
		want, err := hex.DecodeString(b[len(bindSecret):])
		return err == nil && cr.hasSecret && subtle.ConstantTimeCompare(cr.secretSum[:], want) == 1
	}
	return false
}

// bindingKind names the kind of binding b for Snapshot.
func bindingKind(b string) string {
	switch {
	case strings.HasPrefix(b, bindX509):
		return BindingCertificate
	case strings.HasPrefix(b, bindSecret):
		return BindingSecret
	}
	return BindingNone
}
