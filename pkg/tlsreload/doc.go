// Package tlsreload serves a TLS certificate and its private key from two
// files and picks up new ones without a restart.
//
// A [Keypair] loads the pair once with [Load], which fails on files that
// are missing, unreadable, not PEM or do not belong together, so that a
// daemon refuses to start with a broken configuration. From then on a
// tls.Config asks it for the certificate through
// [Keypair.GetCertificate]; [Keypair.Run] reloads the pair when the process
// receives SIGHUP and when either file changes (polled every few seconds:
// a renewal tool replaces files or the links to them, and polling sees both
// without inotify, through any mount). A reload that fails — the new key
// does not match the new certificate yet, a file is half written — keeps
// the certificate in use, logs why and is tried again at the next change
// or signal: a running server never loses its certificate.
//
// Every listener that serves TLS has its own Keypair (the collector's HTTP
// API and its worker ingestion may use different certificates); each Run
// registers for SIGHUP on its own, so one signal reloads them all.
//
//	kp, err := tlsreload.Load(certFile, keyFile, tlsreload.Options{Logger: log})
//	if err != nil { … }
//	go kp.Run(ctx)
//	srv.TLSConfig = kp.TLSConfig(tls.VersionTLS12)
package tlsreload
