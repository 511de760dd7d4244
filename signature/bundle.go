package signature

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// BundleMediaTypePrefix starts the media type (and OCI artifactType) of every
// Sigstore bundle version: application/vnd.dev.sigstore.bundle+json;version=0.1,
// …;version=0.2, …;version=0.3 and application/vnd.dev.sigstore.bundle.v0.3+json.
const BundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// CosignSignPredicate is the in-toto predicate type cosign uses when it signs
// an image into a Sigstore bundle (cosign v2.6 --new-bundle-format, cosign
// v3 by default): a DSSE envelope whose statement's subject is the manifest
// digest.
const CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// ParseBundle parses a Sigstore bundle (v0.1 to v0.3, message signature or
// DSSE envelope) with sigstore-go's validation (version rules, inclusion
// proof or promise requirements). Exported for the fuzz target and for
// callers that want to inspect a referrer before verifying it.
func ParseBundle(raw []byte) (b *bundle.Bundle, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("malformed bundle: %v", p)
		}
	}()
	if len(raw) > MaxAttestationSize {
		return nil, fmt.Errorf("bundle is %d bytes, larger than the %d-byte limit", len(raw), MaxAttestationSize)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("empty bundle")
	}
	b = &bundle.Bundle{}
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("malformed bundle: %w", err)
	}
	return b, nil
}

// VerifyBundle verifies a Sigstore bundle found as a referrer of the image
// digest. What is signed must bind that exact digest: a message signature
// over it, or a DSSE in-toto statement whose subject lists it (cosign's
// sign/v1 predicate, or any other; Result.PredicateType tells which). The
// crawler should send bundles whose predicate is an attestation (provenance,
// SBOM, …) to VerifyAttestation instead, to get the predicate parsed.
func (v *Verifier) VerifyBundle(ctx context.Context, raw []byte, digest string) Result {
	hexd, err := parseDigest(digest)
	if err != nil {
		return invalid(digest, "bundle", err.Error())
	}
	if len(raw) > MaxSignatureSize {
		return invalid(digest, "bundle", "bundle is %d bytes, larger than the %d-byte limit for image signatures", len(raw), MaxSignatureSize)
	}
	d, _ := hex.DecodeString(hexd)
	return v.verifyBundle(ctx, raw, digest, artifact{digest: d})
}

// VerifyBlob verifies a Sigstore bundle over arbitrary artifact bytes (a
// manifest fetched by the caller, a file). It is what the conformance suite
// exercises, and the only way to check Ed25519 message signatures, which
// cover the artifact itself rather than its digest.
func (v *Verifier) VerifyBlob(ctx context.Context, raw []byte, artifactBytes []byte) Result {
	sum := sha256.Sum256(artifactBytes)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if len(raw) > MaxAttestationSize {
		return invalid(digest, "bundle", "bundle is %d bytes, larger than the %d-byte limit", len(raw), MaxAttestationSize)
	}
	if artifactBytes == nil {
		artifactBytes = []byte{}
	}
	return v.verifyBundle(ctx, raw, digest, artifact{digest: sum[:], bytes: artifactBytes})
}

func (v *Verifier) verifyBundle(ctx context.Context, raw []byte, digest string, art artifact) Result {
	res := Result{Digest: digest, Format: "bundle", LogIndex: -1}
	b, err := ParseBundle(raw)
	if err != nil {
		return invalid(digest, "bundle", err.Error())
	}
	switch {
	case b.GetMessageSignature() != nil:
		ms := b.GetMessageSignature()
		md := ms.GetMessageDigest()
		if md == nil {
			return invalid(digest, "bundle", "message signature has no message digest")
		}
		if md.GetAlgorithm().String() != "SHA2_256" {
			return invalid(digest, "bundle", "message signature digest algorithm is %s, want SHA2_256", md.GetAlgorithm())
		}
		if !bytes.Equal(md.GetDigest(), art.digest) {
			return invalid(digest, "bundle", "signature is for sha256:%s, not %s", hex.EncodeToString(md.GetDigest()), digest)
		}
	case b.GetDsseEnvelope() != nil:
		env := b.GetDsseEnvelope()
		st, err := parseStatement(env.GetPayloadType(), env.GetPayload())
		if err != nil {
			return invalid(digest, "bundle", err.Error())
		}
		res.PredicateType = st.PredicateType
		if err := st.names(digest); err != nil {
			return invalid(digest, "bundle", err.Error())
		}
	default:
		return invalid(digest, "bundle", "bundle has neither a message signature nor a DSSE envelope")
	}
	return v.verifyEntity(ctx, b, art, res)
}

// probe tells a Sigstore bundle from a DSSE envelope without trusting either.
func probe(raw []byte) (isBundle, isEnvelope bool) {
	var p struct {
		MediaType   *string         `json:"mediaType"`
		PayloadType *string         `json:"payloadType"`
		Signatures  json.RawMessage `json:"signatures"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return false, false
	}
	return p.MediaType != nil, p.PayloadType != nil
}
