package tlsfiles

import "crypto/x509"

// Identity names the holder of a certificate: its subject's common name,
// or else its first subject alternative name (DNS name, then IP address,
// URI, e-mail address); "" when it has none of them.
func Identity(c *x509.Certificate) string {
	switch {
	case c == nil:
		return ""
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	case len(c.URIs) > 0:
		return c.URIs[0].String()
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	}
	return ""
}

// ServerName is a name a client can verify c against as a server
// certificate: its first DNS name, else its first IP address, else its
// common name (which Go's verification ignores: such a certificate cannot
// be verified by name at all).
func ServerName(c *x509.Certificate) string {
	switch {
	case c == nil:
		return ""
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	}
	return c.Subject.CommonName
}
