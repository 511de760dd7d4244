package gatetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/safeguard-dev/safeguard/signature/sigstoretest"
)

// Sigstore is the in-process Sigstore for keyless signatures
// (signature/sigstoretest); its TrustedRootPath is what the trust policy
// names.
type Sigstore struct{ *sigstoretest.Sigstore }

// NewSigstore builds the CA and writes trusted_root.json into dir.
func NewSigstore(t testing.TB, dir string) *Sigstore {
	t.Helper()
	return &Sigstore{sigstoretest.New(t, dir)}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// SignKeyless pushes a keyless cosign signature of digest (a certificate
// for subject from issuer, logged in the fake Rekor) under cosign's tag
// scheme, as `cosign sign` in a CI job does.
func (s *Sigstore) SignKeyless(t testing.TB, repo name.Repository, digest v1.Hash, subject, issuer string) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo.String(), digest.String()))
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert, err := ca.GenerateLeafCert(subject, issuer, now.Add(-time.Minute), priv, s.Inter, s.InterKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "0.0.1", "kind": "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
			"signature": map[string]any{"content": b64(sig), "publicKey": map[string]any{"content": b64(certPEM(cert))}},
		},
	})
	set, err := s.VS.RekorSignPayload(tlog.RekorPayload{Body: b64(body), IntegratedTime: now.Unix(), LogIndex: 42, LogID: s.LogID})
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := json.Marshal(map[string]any{
		"SignedEntryTimestamp": b64(set),
		"Payload":              map[string]any{"body": b64(body), "integratedTime": now.Unix(), "logIndex": 42, "logID": s.LogID},
	})
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": b64(sig), "dev.sigstore.cosign/certificate": string(certPEM(cert)),
			"dev.sigstore.cosign/chain": string(certPEM(s.Inter)), "dev.sigstore.cosign/bundle": string(bundle)},
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, remote.Write(repo.Tag(fmt.Sprintf("%s-%s.sig", digest.Algorithm, digest.Hex)), img))
}

// PushKeyless pushes a new image at ref (host-relative, "acme/app:1") with
// a clean SBOM, signed keyless as subject/issuer; it returns the tag
// reference.
func (w *World) PushKeyless(t testing.TB, s *Sigstore, ref string, seed int64, subject, issuer string) string {
	t.Helper()
	img := w.image(t, seed)
	r := w.ref(t, ref)
	must(t, remote.Write(r, img))
	w.attach(t, r.Context().RepositoryStr(), img, []byte(Clean), "application/vnd.cyclonedx+json")
	d, _ := img.Digest()
	s.SignKeyless(t, r.Context(), d, subject, issuer)
	return r.String()
}
