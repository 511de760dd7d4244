package admission

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// CertFiles serves the TLS certificate from a certificate and key file and
// reloads them when they change, so cert-manager (or anyone) can rotate
// them under a running webhook. A rotation caught half-written (a new
// certificate with the old key) keeps the previous pair until both match.
type CertFiles struct {
	certFile, keyFile string
	log               *slog.Logger
	mu                sync.Mutex
	cur               *tls.Certificate
	stamp             [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path) // follows the symlinks a Secret volume swaps
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// LoadCertFiles loads the pair once; it must be valid now.
func LoadCertFiles(certFile, keyFile string, log *slog.Logger) (*CertFiles, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CertFiles{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertFiles) reload() error {
	cs, err := stampOf(c.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	ks, err := stampOf(c.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur, c.stamp = &pair, [2]fileStamp{cs, ks}
	return nil
}

// GetCertificate is tls.Config.GetCertificate: it checks the files'
// modification time and size on each handshake (two stat calls; keep-alive
// connections handshake rarely) and reloads when either changed.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err1 := stampOf(c.certFile)
	ks, err2 := stampOf(c.keyFile)
	if err1 == nil && err2 == nil && (cs != c.stamp[0] || ks != c.stamp[1]) {
		prev := c.stamp
		if err := c.reload(); err != nil {
			c.log.Warn("admission: tls reload failed, serving the previous certificate", "err", err)
			c.stamp = prev
		} else {
			c.log.Info("admission: tls certificate reloaded", "cert", c.certFile)
		}
	}
	return c.cur, nil
}

// TLSConfig is a server configuration serving these files (TLS 1.2+).
func (c *CertFiles) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// SelfSigned is a development CA and a serving certificate it signed, as
// PEM. Kubernetes must be given CA as the webhook's caBundle.
type SelfSigned struct {
	CA, Cert, Key []byte
}

// ServiceNames are the DNS names the API server may use for a Service.
func ServiceNames(service, namespace string) []string {
	return []string{service, service + "." + namespace, service + "." + namespace + ".svc", service + "." + namespace + ".svc.cluster.local"}
}

// NewSelfSigned makes a CA and a serving certificate for the Service's
// DNS names, localhost and the loopback addresses, valid from now for
// validity. For development: production uses cert-manager or a real CA.
func NewSelfSigned(service, namespace string, now time.Time, validity time.Duration) (SelfSigned, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SelfSigned{}, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		return n
	}
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "safeguard webhook development CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(validity),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("self-signed CA: %w", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SelfSigned{}, err
	}
	names := ServiceNames(service, namespace)
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: names[2]},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: append(names, "localhost"), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return SelfSigned{}, err
	}
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	return SelfSigned{CA: enc("CERTIFICATE", caDER), Cert: enc("CERTIFICATE", der), Key: enc("EC PRIVATE KEY", keyDER)}, nil
}

// Write stores ca.crt, tls.crt and tls.key (0600) in dir, the names of a
// kubernetes.io/tls Secret, and returns the certificate and key paths.
// Each file is written to a temporary name and renamed, so a webhook
// reading them never sees half a file.
func (s SelfSigned) Write(dir string) (certFile, keyFile string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"ca.crt", s.CA, 0o644}, {"tls.key", s.Key, 0o600}, {"tls.crt", s.Cert, 0o644}} {
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			return "", "", err
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			return "", "", err
		}
	}
	return filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil
}

// certsExist reports whether dir already holds a pair to serve.
func certsExist(dir string) bool {
	for _, n := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// LoadOrCreateSelfSigned returns the development CA in dir, creating the
// CA and serving pair first when dir has none.
func LoadOrCreateSelfSigned(dir, service, namespace string, now time.Time) (ca []byte, certFile, keyFile string, err error) {
	if certsExist(dir) {
		ca, err = os.ReadFile(filepath.Join(dir, "ca.crt"))
		return bytes.TrimSpace(ca), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), err
	}
	s, err := NewSelfSigned(service, namespace, now, 365*24*time.Hour)
	if err != nil {
		return nil, "", "", err
	}
	certFile, keyFile, err = s.Write(dir)
	return bytes.TrimSpace(s.CA), certFile, keyFile, err
}
