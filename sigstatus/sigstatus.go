// Package sigstatus turns the signature material a crawl stored for an
// image (cosign .sig layers, Sigstore bundles, DSSE attestations, notation
// signatures) into the image's signature status under the current trust
// policy, and caches it per (digest, policy hash). Verification is offline:
// the material and the trusted root are local, so a policy decision never
// waits for the network.
package sigstatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/store"
)

// Store is what computing statuses needs.
type Store interface {
	SignatureMaterial(ctx context.Context, subjects ...string) ([]store.SignatureMaterial, error)
	PutSignatureStatus(ctx context.Context, st store.SignatureStatus) error
	SignatureStatus(ctx context.Context, digest, policyHash string) (store.SignatureStatus, error)
	Digests(ctx context.Context) (map[string]string, error)
}

// Detail is the full verdict for one image digest, stored as the status
// detail and shown by the CLI and API.
type Detail struct {
	Digest       string                  `json:"digest"`
	IndexDigest  string                  `json:"index_digest,omitempty"`
	Status       signature.Status        `json:"status"`
	Signer       string                  `json:"signer,omitempty"`
	Issuer       string                  `json:"issuer,omitempty"`
	Subject      string                  `json:"subject,omitempty"`
	KeyID        string                  `json:"key_id,omitempty"`
	LogIndex     int64                   `json:"log_index"`
	SignedAt     time.Time               `json:"signed_at,omitzero"`
	Reasons      []string                `json:"reasons,omitempty"`
	Results      []signature.Result      `json:"signatures"`
	Attestations []signature.Attestation `json:"attestations"`
	Provenance   []*signature.Provenance `json:"provenance,omitempty"`
	PolicyHash   string                  `json:"policy_hash"`
	VerifiedAt   time.Time               `json:"verified_at"`
}

// Checker computes and caches statuses with one verifier (one policy).
type Checker struct {
	Verifier *signature.Verifier
	Store    Store
	Now      func() time.Time

	// signed keeps "signed" verdicts in memory. Under one policy a signed
	// digest stays signed (material is only ever added, and a new policy is
	// a new Checker), so this cache never needs invalidating; other
	// verdicts can improve when a signature arrives and are read from the
	// store each time.
	signed sync.Map // digest → Detail
}

func (c *Checker) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Status returns the cached status of digest under the checker's policy,
// computing and storing it when there is none. indexDigest is the index the
// platform image was reached through ("" for none).
func (c *Checker) Status(ctx context.Context, digest, indexDigest string) (Detail, error) {
	if d, ok := c.signed.Load(digest); ok {
		return d.(Detail), nil
	}
	st, err := c.Store.SignatureStatus(ctx, digest, c.Verifier.PolicyHash())
	if err == nil {
		var d Detail
		if jerr := json.Unmarshal(st.Detail, &d); jerr == nil {
			c.remember(d)
			return d, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return Detail{}, err
	}
	return c.Refresh(ctx, digest, indexDigest)
}

func (c *Checker) remember(d Detail) {
	if d.Status == signature.StatusSigned {
		c.signed.Store(d.Digest, d)
	}
}

// Refresh verifies digest again and stores the result.
func (c *Checker) Refresh(ctx context.Context, digest, indexDigest string) (Detail, error) {
	d, err := c.Compute(ctx, digest, indexDigest)
	if err != nil {
		return d, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return d, err
	}
	c.remember(d)
	return d, c.Store.PutSignatureStatus(ctx, store.SignatureStatus{Digest: digest, PolicyHash: d.PolicyHash, Status: string(d.Status), Detail: raw, VerifiedAt: d.VerifiedAt})
}

// RefreshMissing computes the status of every stored digest that has none
// under the current policy — after a crawl, and after the trust policy or
// trusted root changed (its hash then differs). It returns how many it did.
func (c *Checker) RefreshMissing(ctx context.Context) (int, error) {
	all, err := c.Store.Digests(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for d, idx := range all {
		if _, err := c.Store.SignatureStatus(ctx, d, c.Verifier.PolicyHash()); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		if _, err := c.Refresh(ctx, d, idx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Compute verifies everything attached to digest (and to the index it
// belongs to, whose signatures cover its children) without caching.
func (c *Checker) Compute(ctx context.Context, digest, indexDigest string) (Detail, error) {
	subjects := []string{digest}
	if indexDigest != "" && indexDigest != digest {
		subjects = append(subjects, indexDigest)
	}
	ms, err := c.Store.SignatureMaterial(ctx, subjects...)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Digest: digest, IndexDigest: indexDigest, LogIndex: -1, PolicyHash: c.Verifier.PolicyHash(), VerifiedAt: c.now(),
		Results: []signature.Result{}, Attestations: []signature.Attestation{}}
	var own, ofIndex []signature.Result
	for _, m := range ms {
		rs, atts := c.verify(ctx, m)
		if m.Subject == digest {
			own = append(own, rs...)
		} else {
			ofIndex = append(ofIndex, rs...)
		}
		d.Attestations = append(d.Attestations, atts...)
	}
	results := append(own, signature.CoversChild(indexDigest, digest, ofIndex)...)
	sum := signature.Explain(results)
	d.Status, d.Reasons = sum.Status, sum.Reasons
	if len(sum.Evidence) > 0 {
		e := sum.Evidence[0]
		d.Signer, d.Issuer, d.Subject, d.KeyID, d.LogIndex, d.SignedAt = e.Signer, e.Issuer, e.Subject, e.KeyID, e.LogIndex, e.IntegratedTime
	}
	d.Results = append(d.Results, results...)
	for _, a := range d.Attestations {
		if a.Provenance != nil && (a.Status == signature.StatusSigned || a.Status == signature.StatusUntrusted) {
			d.Provenance = append(d.Provenance, a.Provenance)
		}
	}
	return d, nil
}

// verify dispatches one stored layer to the right verification.
func (c *Checker) verify(ctx context.Context, m store.SignatureMaterial) ([]signature.Result, []signature.Attestation) {
	v := c.Verifier
	switch {
	case m.Kind == store.KindNotation || signature.DetectNotation(m.ArtifactType) || signature.DetectNotation(m.MediaType):
		return []signature.Result{signature.NotationResult(m.Subject)}, nil
	case m.MediaType == signature.SimpleSigningMediaType:
		return []signature.Result{v.VerifyCosign(ctx, m.Body, m.Annotations, m.Subject)}, nil
	case m.MediaType == "application/vnd.dsse.envelope.v1+json":
		// A cosign .att layer: an attestation, not an image signature.
		return nil, []signature.Attestation{v.VerifyCosignAttestation(ctx, m.Body, m.Annotations, m.Subject)}
	case strings.HasPrefix(m.MediaType, "application/vnd.dev.sigstore.bundle") || strings.HasPrefix(m.ArtifactType, "application/vnd.dev.sigstore.bundle"):
		r := v.VerifyBundle(ctx, m.Body, m.Subject)
		if isAttestation(r.PredicateType) {
			return nil, []signature.Attestation{v.VerifyAttestation(ctx, m.Body, m.Subject)}
		}
		return []signature.Result{r}, nil
	}
	return nil, nil
}

// isAttestation tells a DSSE bundle that attests something (provenance, an
// SBOM, VEX) from one that signs the image (cosign's sign predicate).
func isAttestation(predicateType string) bool {
	return predicateType != "" && !strings.HasPrefix(predicateType, "https://sigstore.dev/cosign/sign/")
}
