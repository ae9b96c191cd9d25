package tlsfiles

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"
)

// Certificate is a certificate chain and its private key, loaded from two
// PEM files and replaced by Reload. The zero value is not usable; create
// one with LoadCertificate.
type Certificate struct {
	files             // Reload, ReloadIfChanged
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertificate reads certFile (the certificate, then any intermediates)
// and keyFile. It fails when either cannot be read, the key does not match
// the certificate, or the certificate is expired or not valid yet.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	c.files = files{paths: []string{certFile, keyFile}, load: c.load}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Current is the certificate in use; its Leaf is set.
func (c *Certificate) Current() *tls.Certificate { return c.cur.Load() }

// Files are the certificate and key files, for log messages.
func (c *Certificate) Files() (certFile, keyFile string) { return c.certFile, c.keyFile }

// GetCertificate returns Current; it has the signature of
// tls.Config.GetCertificate, so a server always presents the newest one.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// GetClientCertificate returns Current; it has the signature of
// tls.Config.GetClientCertificate. It is sent whatever CAs the server says
// it accepts: the server decides.
func (c *Certificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// load reads the files and puts the certificate in use when it is usable.
func (c *Certificate) load() error {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	if now := time.Now(); now.Before(kp.Leaf.NotBefore) || now.After(kp.Leaf.NotAfter) {
		return fmt.Errorf("TLS certificate %s (valid %s to %s): %w", c.certFile,
			kp.Leaf.NotBefore.UTC().Format(time.RFC3339), kp.Leaf.NotAfter.UTC().Format(time.RFC3339), ErrExpired)
	}
	c.cur.Store(&kp)
	return nil
}

// String names the files and the certificate in use, for log messages.
func (c *Certificate) String() string {
	leaf := c.Current().Leaf
	return fmt.Sprintf("%s (%s, valid until %s)", c.certFile, Identity(leaf), leaf.NotAfter.UTC().Format(time.RFC3339))
}
