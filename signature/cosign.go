package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Annotations of cosign's .sig and .att layers.
const (
	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	AnnotationBundle      = "dev.sigstore.cosign/bundle"
)

// SimpleSigningType is critical.type of a cosign image signature payload.
const SimpleSigningType = "cosign container image signature"

// SimpleSigningMediaType is the layer media type of cosign .sig layers.
const SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"

// SimpleSigning is cosign's signed payload for an image.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// ParsePayload parses and checks a simple-signing payload: JSON of the right
// shape, critical.type "cosign container image signature", and a
// well-formed sha256 docker-manifest-digest.
func ParsePayload(payload []byte) (*SimpleSigning, error) {
	if len(payload) > MaxSignatureSize {
		return nil, fmt.Errorf("payload is %d bytes, larger than the %d-byte limit", len(payload), MaxSignatureSize)
	}
	var ss SimpleSigning
	if err := json.Unmarshal(payload, &ss); err != nil {
		return nil, fmt.Errorf("payload is not a cosign simple-signing document: %v", err)
	}
	if ss.Critical.Type != SimpleSigningType {
		return nil, fmt.Errorf("payload critical.type is %q, want %q", ss.Critical.Type, SimpleSigningType)
	}
	if _, err := parseDigest(ss.Critical.Image.DockerManifestDigest); err != nil {
		return nil, fmt.Errorf("payload critical.image.docker-manifest-digest: %v", err)
	}
	return &ss, nil
}

// VerifyCosign verifies one layer of a cosign "sha256-<hex>.sig" image: the
// simple-signing payload (layer bytes) and its annotations. The payload must
// name digest; the signature must verify with a policy key, or with the
// certificate, which must chain to the trusted Fulcio roots, be valid at the
// Rekor integrated time, and belong to a policy identity; the Rekor SET must
// verify with a log key of the trusted root and its body must match the
// payload hash, signature and key or certificate.
func (v *Verifier) VerifyCosign(ctx context.Context, payload []byte, annotations map[string]string, digest string) Result {
	if _, err := parseDigest(digest); err != nil {
		return invalid(digest, "cosign", err.Error())
	}
	if n := annotationsSize(annotations); n > MaxSignatureSize {
		return invalid(digest, "cosign", "annotations are %d bytes, larger than the %d-byte limit", n, MaxSignatureSize)
	}
	ss, err := ParsePayload(payload)
	if err != nil {
		return invalid(digest, "cosign", err.Error())
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != digest {
		return invalid(digest, "cosign", "signature is for %s, not %s", got, digest)
	}
	sigB64 := annotations[AnnotationSignature]
	if strings.TrimSpace(sigB64) == "" {
		return invalid(digest, "cosign", "no %s annotation", AnnotationSignature)
	}
	sig, err := decodeB64(sigB64)
	if err != nil || len(sig) == 0 {
		return invalid(digest, "cosign", "%s annotation is not base64", AnnotationSignature)
	}
	ent, err := legacyMaterial(annotations)
	if err != nil {
		return invalid(digest, "cosign", err.Error())
	}
	sum := sha256.Sum256(payload)
	ent.sig = bundle.NewMessageSignature(sum[:], "sha256", sig)
	return v.verifyEntity(ctx, ent, artifact{digest: sum[:], bytes: payload}, Result{Digest: digest, Format: "cosign"})
}

// VerifyCosignAttestation verifies a cosign .att layer: a DSSE envelope (the
// layer bytes) with the layer annotations holding the certificate, chain and
// Rekor SET of keyless attestations. annotations may be nil for key-signed
// envelopes without a log entry.
func (v *Verifier) VerifyCosignAttestation(ctx context.Context, envelope []byte, annotations map[string]string, digest string) Attestation {
	if _, err := parseDigest(digest); err != nil {
		return Attestation{Result: invalid(digest, "dsse", err.Error())}
	}
	if n := annotationsSize(annotations); n > MaxSignatureSize {
		return Attestation{Result: invalid(digest, "dsse", "annotations are %d bytes, larger than the %d-byte limit", n, MaxSignatureSize)}
	}
	env, err := ParseEnvelope(envelope)
	if err != nil {
		return Attestation{Result: invalid(digest, "dsse", err.Error())}
	}
	if len(env.Signatures) != 1 {
		return Attestation{Result: invalid(digest, "dsse", "DSSE envelope has %d signatures; exactly one is supported", len(env.Signatures))}
	}
	st, err := parseStatement(env.PayloadType, env.payload)
	if err != nil {
		return Attestation{Result: invalid(digest, "dsse", err.Error())}
	}
	a := Attestation{StatementType: st.Type, Kind: classify(st.PredicateType)}
	if err := st.names(digest); err != nil {
		a.Result = invalid(digest, "dsse", err.Error())
		a.PredicateType = st.PredicateType
		return a
	}
	ent, err := legacyMaterial(annotations)
	if err != nil {
		a.Result = invalid(digest, "dsse", err.Error())
		return a
	}
	sigs := make([]dsse.Signature, len(env.Signatures))
	for i, s := range env.Signatures {
		// Re-encode canonically: the DSSE verifier decodes with StdEncoding.
		b, _ := decodeB64(s.Sig)
		sigs[i] = dsse.Signature{KeyID: s.KeyID, Sig: b64(b)}
	}
	ent.sig = &bundle.Envelope{Envelope: &dsse.Envelope{PayloadType: env.PayloadType, Payload: b64(env.payload), Signatures: sigs}}
	d, _ := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	a.Result = v.verifyEntity(ctx, ent, artifact{digest: d}, Result{Digest: digest, Format: "dsse", PredicateType: st.PredicateType})
	a.fill(st)
	return a
}

func annotationsSize(a map[string]string) int {
	n := 0
	for k, v := range a {
		n += len(k) + len(v)
	}
	return n
}

// legacyMaterial reads the certificate, chain and Rekor SET annotations into
// a signed entity (without its signature content, set by the caller).
func legacyMaterial(annotations map[string]string) (*legacyEntity, error) {
	ent := &legacyEntity{}
	if certPEM := annotations[AnnotationCertificate]; strings.TrimSpace(certPEM) != "" {
		certs, err := parseCertsPEM(certPEM)
		if err != nil {
			return nil, fmt.Errorf("%s annotation: %v", AnnotationCertificate, err)
		}
		if len(certs) != 1 {
			return nil, fmt.Errorf("%s annotation holds %d certificates, want 1", AnnotationCertificate, len(certs))
		}
		cc := &certContent{cert: certs[0]}
		if chainPEM := annotations[AnnotationChain]; strings.TrimSpace(chainPEM) != "" {
			chain, err := parseCertsPEM(chainPEM)
			if err != nil {
				return nil, fmt.Errorf("%s annotation: %v", AnnotationChain, err)
			}
			// Roots come only from the trusted root: self-signed
			// certificates in the chain are dropped, and so is anything
			// that is not a CA.
			for _, c := range chain {
				if c.IsCA && !isSelfSigned(c) {
					cc.intermediates = append(cc.intermediates, c)
				}
			}
		}
		ent.vc = cc
	} else if _, ok := annotations[AnnotationCertificate]; ok {
		return nil, fmt.Errorf("%s annotation is empty", AnnotationCertificate)
	} else {
		ent.vc = &keyContent{}
	}
	if set := annotations[AnnotationBundle]; strings.TrimSpace(set) != "" {
		e, err := parseRekorSET([]byte(set))
		if err != nil {
			return nil, fmt.Errorf("%s annotation: %v", AnnotationBundle, err)
		}
		ent.entries = []*tlog.Entry{e}
	}
	return ent, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func parseCertsPEM(s string) ([]*x509.Certificate, error) {
	rest := []byte(s)
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if len(out) > 10 {
			return nil, errors.New("more than 10 certificates")
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the PEM certificates")
	}
	return out, nil
}

// rekorSET is cosign's dev.sigstore.cosign/bundle annotation.
type rekorSET struct {
	SignedEntryTimestamp string `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

func parseRekorSET(raw []byte) (e *tlog.Entry, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("malformed log entry: %v", p)
		}
	}()
	var s rekorSET
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a Rekor bundle: %v", err)
	}
	set, err := decodeB64(s.SignedEntryTimestamp)
	if err != nil || len(set) == 0 {
		return nil, errors.New("SignedEntryTimestamp is missing or not base64")
	}
	body, err := decodeB64(s.Payload.Body)
	if err != nil || len(body) == 0 {
		return nil, errors.New("Payload.body is missing or not base64")
	}
	logID, err := hex.DecodeString(s.Payload.LogID)
	if err != nil || len(logID) == 0 {
		return nil, errors.New("Payload.logID is missing or not hex")
	}
	if s.Payload.LogIndex < 0 {
		return nil, errors.New("Payload.logIndex is negative")
	}
	if s.Payload.IntegratedTime <= 0 {
		return nil, errors.New("Payload.integratedTime is missing")
	}
	e, err = tlog.NewEntry(body, s.Payload.IntegratedTime, s.Payload.LogIndex, logID, set, nil) //nolint:staticcheck // the legacy layout is Rekor v1 only
	if err != nil {
		return nil, fmt.Errorf("log entry body: %v", err)
	}
	return e, nil
}

// legacyEntity adapts cosign's annotation layout to sigstore-go's
// SignedEntity, so both layouts go through the same verification code.
type legacyEntity struct {
	sig     verify.SignatureContent
	vc      verify.VerificationContent
	entries []*tlog.Entry
}

func (e *legacyEntity) HasInclusionPromise() bool { return len(e.entries) > 0 }
func (e *legacyEntity) HasInclusionProof() bool   { return false }
func (e *legacyEntity) SignatureContent() (verify.SignatureContent, error) {
	return e.sig, nil
}
func (e *legacyEntity) VerificationContent() (verify.VerificationContent, error) {
	return e.vc, nil
}
func (e *legacyEntity) Timestamps() ([][]byte, error)       { return nil, nil }
func (e *legacyEntity) TlogEntries() ([]*tlog.Entry, error) { return e.entries, nil }
func (e *legacyEntity) Version() (string, error)            { return "v0.1", nil }

// certContent is a certificate from annotations.
type certContent struct {
	cert          *x509.Certificate
	intermediates []*x509.Certificate
}

func (c *certContent) CompareKey(key any, _ root.TrustedMaterial) bool {
	k, ok := key.(*x509.Certificate)
	return ok && c.cert.Equal(k)
}
func (c *certContent) ValidAtTime(t time.Time, _ root.TrustedMaterial) bool {
	return !c.cert.NotAfter.Before(t) && !c.cert.NotBefore.After(t)
}
func (c *certContent) Certificate() *x509.Certificate      { return c.cert }
func (c *certContent) Intermediates() []*x509.Certificate  { return c.intermediates }
func (c *certContent) PublicKey() verify.PublicKeyProvider { return nil }

// keyContent stands for "a public key from the trust policy": the legacy
// layout carries no key hint, so the trusted material decides.
type keyContent struct{}

func (keyContent) Hint() string { return "" }
func (k *keyContent) CompareKey(key any, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	if err != nil {
		return false
	}
	pub, err := v.PublicKey()
	if err != nil {
		return false
	}
	eq, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}
func (k *keyContent) ValidAtTime(t time.Time, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	return err == nil && v.ValidAtTime(t)
}
func (k *keyContent) Certificate() *x509.Certificate      { return nil }
func (k *keyContent) Intermediates() []*x509.Certificate  { return nil }
func (k *keyContent) PublicKey() verify.PublicKeyProvider { return k }
