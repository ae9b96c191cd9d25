package tlsfiles

import (
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
)

// Pool is a bundle of CA certificates loaded from one PEM file and replaced
// by Reload. The zero value is not usable; create one with LoadPool.
type Pool struct {
	files // Reload, ReloadIfChanged
	file  string
	cur   atomic.Pointer[x509.CertPool]
}

// LoadPool reads the CA certificates in file. It fails when the file cannot
// be read or holds no certificate.
func LoadPool(file string) (*Pool, error) {
	p := &Pool{file: file}
	p.files = files{paths: []string{file}, load: p.load}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Current is the pool in use. It must not be modified.
func (p *Pool) Current() *x509.CertPool { return p.cur.Load() }

// File is the bundle's path, for log messages.
func (p *Pool) File() string { return p.file }

// load reads the bundle and puts it in use when it holds certificates.
func (p *Pool) load() error {
	b, err := os.ReadFile(p.file)
	if err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("CA certificates %s: %w", p.file, ErrNoCertificates)
	}
	p.cur.Store(pool)
	return nil
}

// String names the file, for log messages.
func (p *Pool) String() string { return p.file }
