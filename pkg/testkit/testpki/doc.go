// Package testpki makes certificate authorities and the certificates they
// issue, with crypto/x509, for tests of TLS and mutual TLS: real keys, real
// signatures, PEM files in the test's temporary directory.
//
//	ca := testpki.NewCA(t, "test CA")
//	srv := ca.Server(t, "collector.test", "127.0.0.1")
//	certFile, keyFile := srv.Write(t, dir, "server")
//	cli := ca.Client(t, "worker-1")
//	expired := ca.Issue(t, testpki.Template{CommonName: "old", Client: true, NotAfter: time.Now().Add(-time.Hour)})
//
// Keys are ECDSA P-256: quick to make, and what a modern CA issues.
package testpki
