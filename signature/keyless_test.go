package signature

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/safeguard-dev/safeguard/signature/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// fakeSigstore is the in-process Sigstore (signature/sigstoretest): a
// Fulcio-like CA and a Rekor key, written out as a trusted_root.json so
// tests go through the same loading path as users.
type fakeSigstore struct{ *sigstoretest.Sigstore }

func newFakeSigstore(t testing.TB) *fakeSigstore {
	t.Helper()
	return &fakeSigstore{sigstoretest.New(t, t.TempDir())}
}

// leaf issues a ten-minute certificate from notBefore for subject/issuer.
func (f *fakeSigstore) leaf(t testing.TB, subject, issuer string, notBefore time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.GenerateLeafCert(subject, issuer, notBefore, priv, f.Inter, f.InterKey)
	if err != nil {
		t.Fatal(err)
	}
	return cert, priv
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// hashedrekord is the Rekor body logged for a signature over a sha256 digest.
func hashedrekord(digest, sig, verifierPEM []byte) []byte {
	body := map[string]any{
		"apiVersion": "0.0.1", "kind": "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(digest)}},
			"signature": map[string]any{"content": b64(sig), "publicKey": map[string]any{"content": b64(verifierPEM)}},
		},
	}
	b, _ := json.Marshal(body)
	return b
}

// set signs a Rekor entry promise (SET) for body at integrated time.
func (f *fakeSigstore) set(t testing.TB, body []byte, integrated time.Time, logIndex int64) []byte {
	t.Helper()
	sig, err := f.VS.RekorSignPayload(tlog.RekorPayload{Body: b64(body), IntegratedTime: integrated.Unix(), LogIndex: logIndex, LogID: f.LogID})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// cosignLayer signs a simple-signing payload for digest with a fresh
// certificate (valid from notBefore) and, unless integrated is zero, logs it.
func (f *fakeSigstore) cosignLayer(t testing.TB, subject, issuer, digest string, notBefore, integrated time.Time) ([]byte, map[string]string) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"registry.test/acme/app"},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, digest))
	cert, priv := f.leaf(t, subject, issuer, notBefore)
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{AnnotationSignature: b64(sig), AnnotationCertificate: string(certPEM(cert)), AnnotationChain: string(certPEM(f.Inter))}
	if !integrated.IsZero() {
		body := hashedrekord(sum[:], sig, certPEM(cert))
		b, _ := json.Marshal(map[string]any{
			"SignedEntryTimestamp": b64(f.set(t, body, integrated, 42)),
			"Payload":              map[string]any{"body": b64(body), "integratedTime": integrated.Unix(), "logIndex": 42, "logID": f.LogID},
		})
		ann[AnnotationBundle] = string(b)
	}
	return payload, ann
}

// bundleFor makes a v0.1 Sigstore bundle holding a message signature over
// digest, logged at integrated time.
func (f *fakeSigstore) bundleFor(t testing.TB, subject, issuer, digest string, integrated time.Time) []byte {
	t.Helper()
	d, _ := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	cert, priv := f.leaf(t, subject, issuer, integrated.Add(-time.Minute))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, d)
	if err != nil {
		t.Fatal(err)
	}
	body := hashedrekord(d, sig, certPEM(cert))
	logID, _ := hex.DecodeString(f.LogID)
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: cert.Raw}}}},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex: 7, LogId: &protocommon.LogId{KeyId: logID},
				KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
				IntegratedTime:    integrated.Unix(),
				InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: f.set(t, body, integrated, 7)},
				CanonicalizedBody: body,
			}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: d},
			Signature:     sig,
		}},
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

const (
	ghIssuer   = "https://token.actions.githubusercontent.com"
	releaseWF  = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
	imageA     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	imageB     = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	releaseRex = `^https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*$`
)

func TestKeylessIdentities(t *testing.T) {
	f := newFakeSigstore(t)
	ctx := context.Background()
	exact := mustVerifier(t, f.TrustedRootPath, keylessSigner("ci", ghIssuer, releaseWF))
	regex := mustVerifier(t, f.TrustedRootPath, keylessRegexpSigner("ci", ghIssuer, releaseRex))
	// Written without anchors on purpose: the policy anchors it.
	unanchored := mustVerifier(t, f.TrustedRootPath, keylessRegexpSigner("ci", ghIssuer, `https://github.com/acme/app/.+`))
	now := time.Now()

	tests := []struct {
		name             string
		v                *Verifier
		subject, issuer  string
		digest, verifyAt string
		want             Status
		reason           string
	}{
		{"exact identity", exact, releaseWF, ghIssuer, imageA, imageA, StatusSigned, ""},
		{"anchored regexp", regex, releaseWF, ghIssuer, imageA, imageA, StatusSigned, ""},
		{"unanchored regexp, real repo", unanchored, releaseWF, ghIssuer, imageA, imageA, StatusSigned, ""},
		// C63: a fork's workflow looks like the release workflow.
		{"look-alike fork vs exact", exact, "https://github.com/acme/app-fork/.github/workflows/release.yml@refs/tags/v1.2.3", ghIssuer, imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		{"exact plus suffix", exact, releaseWF + "x", ghIssuer, imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		{"look-alike prefix vs regexp", regex, "https://evil.example/https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1", ghIssuer, imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		{"notacme vs unanchored regexp", unanchored, "https://github.com/notacme/app/.github/workflows/release.yml@refs/tags/v1", ghIssuer, imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		{"suffix vs unanchored regexp", unanchored, "https://github.com/acme/app/x\nhttps://evil", ghIssuer, imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		// C65: right subject, wrong issuer.
		{"wrong issuer", exact, releaseWF, "https://token.actions.githubusercontent.com.evil.example", imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		{"wrong issuer, regexp", regex, releaseWF, "https://gitlab.com", imageA, imageA, StatusUntrusted, "matches no keyless signer"},
		// C60: a valid signature for another digest.
		{"signature for another digest", exact, releaseWF, ghIssuer, imageB, imageA, StatusInvalid, "signature is for " + imageB + ", not " + imageA},
	}
	for _, tc := range tests {
		t.Run("bundle/"+tc.name, func(t *testing.T) {
			raw := f.bundleFor(t, tc.subject, tc.issuer, tc.digest, now)
			r := tc.v.VerifyBundle(ctx, raw, tc.verifyAt)
			check(t, r, tc.want, tc.reason)
			if r.Status == StatusSigned && (r.Signer != "ci" || r.Subject != tc.subject || r.Issuer != tc.issuer || r.LogIndex != 7 || r.IntegratedTime.Unix() != now.Unix()) {
				t.Fatalf("signed result lacks identity or log: %+v", r)
			}
			if r.Status == StatusUntrusted && (r.Subject != tc.subject || r.Issuer != tc.issuer) {
				t.Fatalf("untrusted result lacks the identity: %+v", r)
			}
		})
		t.Run("cosign/"+tc.name, func(t *testing.T) {
			payload, ann := f.cosignLayer(t, tc.subject, tc.issuer, tc.digest, now.Add(-time.Minute), now)
			r := tc.v.VerifyCosign(ctx, payload, ann, tc.verifyAt)
			check(t, r, tc.want, tc.reason)
			if r.Status == StatusSigned && (r.LogIndex != 42 || r.IntegratedTime.IsZero()) {
				t.Fatalf("signed result lacks log: %+v", r)
			}
		})
	}
}

func check(t testing.TB, r Result, want Status, reason string) {
	t.Helper()
	if r.Status != want || !strings.Contains(r.Reason, reason) {
		t.Fatalf("got %s %q; want %s with reason containing %q", r.Status, r.Reason, want, reason)
	}
}

// C62: certificates are checked at the time an observer vouches for, never
// at their own NotBefore and never "now".
func TestKeylessCertificateTime(t *testing.T) {
	f := newFakeSigstore(t)
	ctx := context.Background()
	v := mustVerifier(t, f.TrustedRootPath, keylessSigner("ci", ghIssuer, releaseWF))
	t0 := time.Now()
	// The test CA's intermediate is valid from t0-2m, so the expired
	// certificate lives [t0-11m, t0-1m] and was usable in [t0-2m, t0-1m].
	expiredFrom := t0.Add(-11 * time.Minute)

	payload, ann := f.cosignLayer(t, releaseWF, ghIssuer, imageA, expiredFrom, time.Time{})
	check(t, v.VerifyCosign(ctx, payload, ann, imageA), StatusInvalid, "")

	payload, ann = f.cosignLayer(t, releaseWF, ghIssuer, imageA, expiredFrom, t0.Add(-90*time.Second))
	if r := v.VerifyCosign(ctx, payload, ann, imageA); r.Status != StatusSigned {
		t.Fatalf("expired certificate logged while valid: %+v", r)
	}

	payload, ann = f.cosignLayer(t, releaseWF, ghIssuer, imageA, expiredFrom, t0.Add(-30*time.Second))
	check(t, v.VerifyCosign(ctx, payload, ann, imageA), StatusInvalid, "outside certificate validity")

	// A currently valid certificate without a log entry still fails: no
	// observer timestamp, and the current time is never used for keyless.
	payload, ann = f.cosignLayer(t, releaseWF, ghIssuer, imageA, t0.Add(-time.Minute), time.Time{})
	r := v.VerifyCosign(ctx, payload, ann, imageA)
	check(t, r, StatusInvalid, "")
	t.Log(r.Reason)
}

// A certificate from a CA that is not in the trusted root never verifies.
func TestKeylessForeignCA(t *testing.T) {
	f, other := newFakeSigstore(t), newFakeSigstore(t)
	v := mustVerifier(t, f.TrustedRootPath, keylessSigner("ci", ghIssuer, releaseWF))
	raw := other.bundleFor(t, releaseWF, ghIssuer, imageA, time.Now())
	check(t, v.VerifyBundle(context.Background(), raw, imageA), StatusInvalid, "")
}

func genKey(t testing.TB, alg string) (crypto.Signer, string) {
	t.Helper()
	var s crypto.Signer
	var err error
	switch alg {
	case "ecdsa-p256":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa-3072":
		s, err = rsa.GenerateKey(rand.Reader, 3072)
	case "ed25519":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), alg+".pub")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, path
}

func signWith(t testing.TB, s crypto.Signer, msg []byte) []byte {
	t.Helper()
	var sig []byte
	var err error
	if _, ok := s.(ed25519.PrivateKey); ok {
		sig, err = s.Sign(rand.Reader, msg, crypto.Hash(0))
	} else {
		sum := sha256.Sum256(msg)
		sig, err = s.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func simplePayload(digest string) []byte {
	return []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"registry.test/acme/app"},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":{"creator":"test"}}`, digest))
}

// dsseEnvelope signs an in-toto statement about digest with DSSE's
// pre-authentication encoding.
func dsseEnvelope(t testing.TB, s crypto.Signer, digest, predicateType, predicate string) []byte {
	t.Helper()
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.test/acme/app","digest":{"sha256":%q}}],"predicateType":%q,"predicate":%s}`,
		strings.TrimPrefix(digest, "sha256:"), predicateType, predicate)
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(InTotoPayloadType), InTotoPayloadType, len(stmt), stmt)
	sig := signWith(t, s, []byte(pae))
	b, _ := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": b64([]byte(stmt)),
		"signatures": []map[string]string{{"keyid": "", "sig": b64(sig)}}})
	return b
}

func TestKeySignatures(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{"ecdsa-p256", "rsa-3072", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			s, path := genKey(t, alg)
			_, otherPath := genKey(t, alg)
			v := mustVerifier(t, "", keySigner("release-key", path))
			wrong := mustVerifier(t, "", keySigner("other", otherPath))

			payload := simplePayload(imageA)
			ann := map[string]string{AnnotationSignature: b64(signWith(t, s, payload))}
			r := v.VerifyCosign(ctx, payload, ann, imageA)
			if r.Status != StatusSigned || r.Signer != "release-key" || !strings.HasPrefix(r.KeyID, "sha256:") || r.LogIndex != -1 {
				t.Fatalf("got %+v", r)
			}
			check(t, wrong.VerifyCosign(ctx, payload, ann, imageA), StatusInvalid, "no key of the trust policy verifies")
			check(t, v.VerifyCosign(ctx, payload, ann, imageB), StatusInvalid, "signature is for "+imageA+", not "+imageB)
			tampered := []byte(strings.Replace(string(payload), `"creator":"test"`, `"creator":"evil"`, 1))
			check(t, v.VerifyCosign(ctx, tampered, ann, imageA), StatusInvalid, "no key of the trust policy verifies")

			env := dsseEnvelope(t, s, imageA, "https://slsa.dev/provenance/v1", provenanceV1)
			a := v.VerifyAttestation(ctx, env, imageA)
			if a.Status != StatusSigned || a.Kind != KindProvenance || a.Provenance == nil {
				t.Fatalf("attestation: %+v", a)
			}
			check(t, v.VerifyAttestation(ctx, env, imageB).Result, StatusInvalid, "signature is for "+imageA)
			check(t, wrong.VerifyAttestation(ctx, env, imageA).Result, StatusInvalid, "no key of the trust policy verifies")
		})
	}
}

const provenanceV1 = `{
 "buildDefinition": {
  "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
  "externalParameters": {"workflow": {"ref": "refs/tags/v1.2.3", "repository": "https://github.com/acme/app", "path": ".github/workflows/release.yml"}},
  "resolvedDependencies": [
   {"uri": "git+https://github.com/acme/app@refs/tags/v1.2.3", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}},
   {"uri": "pkg:docker/library/alpine@3.20?platform=linux%2Famd64", "digest": {"sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
  ]
 },
 "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}}
}`

const provenanceV02 = `{
 "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"},
 "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
 "invocation": {"configSource": {"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "89abcdef0123456789abcdef0123456789abcdef"}, "entryPoint": ".github/workflows/build.yml"}},
 "materials": [
  {"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "89abcdef0123456789abcdef0123456789abcdef"}},
  {"uri": "docker://golang@sha256:bbbb", "digest": {"sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}
 ]
}`

func TestProvenanceFields(t *testing.T) {
	p, err := ParseProvenance("https://slsa.dev/provenance/v1", json.RawMessage(provenanceV1))
	if err != nil {
		t.Fatal(err)
	}
	if p.BuilderID != "https://github.com/actions/runner/github-hosted" || p.SourceRepository != "https://github.com/acme/app" ||
		p.SourceRef != "refs/tags/v1.2.3" || p.SourceCommit != "0123456789abcdef0123456789abcdef01234567" ||
		len(p.BaseImages()) != 1 || p.BaseImages()[0].Digest["sha256"][:4] != "aaaa" {
		t.Fatalf("v1: %+v", p)
	}
	p, err = ParseProvenance("https://slsa.dev/provenance/v0.2", json.RawMessage(provenanceV02))
	if err != nil {
		t.Fatal(err)
	}
	if p.SLSAVersion != "v0.2" || p.SourceRepository != "https://github.com/acme/app" || p.SourceRef != "refs/heads/main" ||
		p.SourceCommit != "89abcdef0123456789abcdef0123456789abcdef" || p.BuildType != "https://github.com/slsa-framework/slsa-github-generator/container@v1" ||
		len(p.BaseImages()) != 1 {
		t.Fatalf("v0.2: %+v", p)
	}
	for pt, kind := range map[string]PredicateKind{
		"https://spdx.dev/Document/v2.3": KindSBOM, "https://cyclonedx.org/bom": KindSBOM, "https://openvex.dev/ns/v0.2.0": KindVEX,
		"https://cosign.sigstore.dev/attestation/vuln/v1": KindVuln, CosignSignPredicate: KindSignature, "https://example.com/x": KindOther,
		"https://slsa.dev/provenance/v0.2": KindProvenance,
	} {
		if classify(pt) != kind {
			t.Errorf("classify(%s) = %s, want %s", pt, classify(pt), kind)
		}
	}
}
