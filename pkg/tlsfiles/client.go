package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// ClientConfig is a TLS 1.3 client configuration for a connection to
// serverName. The server's certificate is verified for serverName against
// roots as they are at each handshake, so that a renewed CA bundle is used
// without a restart (the system's roots when roots is nil); cert, when set,
// is presented as the client certificate, also as it is at each handshake.
func ClientConfig(serverName string, roots *Pool, cert *Certificate) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: serverName}
	if cert != nil {
		cfg.GetClientCertificate = cert.GetClientCertificate
	}
	if roots != nil {
		// crypto/tls verifies against the fixed RootCAs of a Config; to
		// verify against the pool of the moment, its own verification is
		// replaced by the same one in VerifyConnection, which it calls on
		// every handshake, resumed ones included.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyServer(cs, serverName, roots.Current()) }
	}
	return cfg
}

// verifyServer is crypto/tls's verification of a server certificate.
func verifyServer(cs tls.ConnectionState, serverName string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName: serverName, Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}
