// Package sigstoretest builds an in-process Sigstore for tests: a
// Fulcio-like CA with an intermediate (sigstore-go's test CA helpers) and a
// Rekor log key (sigstore-go's VirtualSigstore), written out as a
// trusted_root.json, so tests verify keyless signatures through the same
// loading path as users. The signature tests and the gate's test world
// share it.
package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// Sigstore is the CA, the log and the trusted root that trusts them.
type Sigstore struct {
	VS              *ca.VirtualSigstore
	Inter           *x509.Certificate // the Fulcio intermediate that issues leaves
	InterKey        *ecdsa.PrivateKey
	LogID           string // hex, as Rekor entries name it
	TrustedRootPath string
}

// New builds the CA and log and writes trusted_root.json into dir.
func New(t testing.TB, dir string) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	fca := &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{inter},
		URI: "https://fulcio.test", ValidityPeriodStart: time.Now().Add(-5 * time.Hour)}
	logID, err := vs.RekorLogID()
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string]*root.TransparencyLog{}
	for k, l := range vs.RekorLogs() {
		c := *l
		c.ID, _ = hex.DecodeString(k) // the trusted root stores raw key ids
		logs[k] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fca}, nil, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(path, js, 0o600); err != nil {
		t.Fatal(err)
	}
	return &Sigstore{VS: vs, Inter: inter, InterKey: interKey, LogID: logID, TrustedRootPath: path}
}
