package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// serverTLS is the listener's TLS configuration: TLS 1.3 only, the
// certificate as it is now (tlsfiles reloads it), and with client CAs a
// client certificate that verifies against them.
func serverTLS(cert *tlsfiles.Certificate, clientCAs *tlsfiles.Pool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: cert.GetCertificate,
		// Workers connect once and stay: resumption would save nothing
		// worth having, and without it every connection is checked
		// against the CAs as they are now.
		SessionTicketsDisabled: true,
	}
	if clientCAs != nil {
		// The certificate is checked in VerifyConnection rather than by
		// crypto/tls, so that the collector's own certificate is taken
		// too: the workers it starts itself present it.
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyClient(cs, cert, clientCAs, time.Now())
		}
	}
	return cfg
}

// verifyClient accepts a client certificate that chains to one of the
// client CAs for client authentication, or the server's own certificate.
func verifyClient(cs tls.ConnectionState, own *tlsfiles.Certificate, cas *tlsfiles.Pool, now time.Time) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	leaf := cs.PeerCertificates[0]
	if mine := own.Current().Leaf; bytes.Equal(leaf.Raw, mine.Raw) {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: cas.Current(), Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate %q: %w", tlsfiles.Identity(leaf), err)
	}
	return nil
}

// handshake runs the TLS handshake of a TLS connection, within the hello's
// deadline, and records the peer's certificate identity. It reports whether
// the connection goes on; a failed handshake is counted and logged here, and
// the connection is closed without a word: a plaintext peer gets nothing
// readable, and a TLS peer has had the alert crypto/tls sends.
func (c *conn) handshake(deadline time.Time) bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	s := c.srv
	c.nc.SetWriteDeadline(deadline)
	ctx, cancel := context.WithDeadline(s.stopCtx, deadline)
	err := tc.HandshakeContext(ctx)
	cancel()
	c.nc.SetWriteDeadline(time.Time{})
	if err == nil {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			c.identity = tlsfiles.Identity(certs[0])
		}
		return true
	}
	var rhe tls.RecordHeaderError
	switch {
	case s.stopping.Load():
	case errors.As(err, &rhe) && rhe.Conn != nil:
		s.count(kPlaintext)
		s.logBad("peer spoke plaintext to the TLS ingestion port; closed without an answer", "remote", c.remote,
			"first_bytes", fmt.Sprintf("%q", rhe.RecordHeader[:]))
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		s.count(kHelloTimeout)
		s.logBad("peer did not finish its TLS handshake in time; closing", "remote", c.remote, "hello_timeout", s.cfg.HelloTimeout)
	case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET):
		// Connected and left, or closed to make room: nothing to count.
	default:
		s.count(kTLS)
		s.logBad("TLS handshake with peer failed; closing", "remote", c.remote, logging.KeyErr, err)
	}
	return false
}
