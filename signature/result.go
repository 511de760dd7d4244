package signature

import (
	"fmt"
	"strings"
	"time"
)

// Status is the verdict for one signature, or (from Summarize) for one image.
type Status string

const (
	// StatusUnsigned means no signature was found for the digest. Only
	// Summarize returns it: a single signature is never "unsigned".
	StatusUnsigned Status = "unsigned"
	// StatusSigned means a signer named in the trust policy signed this
	// exact digest and every check passed.
	StatusSigned Status = "signed"
	// StatusInvalid means the signature is broken, malformed, for another
	// digest, or cannot be checked with the policy's keys; Reason says which.
	StatusInvalid Status = "invalid"
	// StatusUntrusted means the signature is cryptographically valid and
	// names this digest, but its identity matches no signer of the policy.
	StatusUntrusted Status = "untrusted"
	// StatusNotation means a Notary Project signature was found. It is not
	// verified yet; it is reported as such rather than as "unsigned".
	StatusNotation Status = "notation"
)

// Result is the outcome of verifying one signature (a .sig layer, a bundle
// referrer, an attestation) against one digest.
type Result struct {
	Status Status `json:"status"`
	// Digest is the image digest this result is about.
	Digest string `json:"digest"`
	// Format is where the signature came from: "cosign" (.sig layer),
	// "bundle" (Sigstore bundle), "dsse" (plain DSSE envelope) or "notation".
	Format string `json:"format,omitempty"`
	// Signer is the name of the policy signer that matched (signed only).
	Signer string `json:"signer,omitempty"`
	// Issuer and Subject are the OIDC issuer and SAN of a keyless
	// certificate, filled whenever the certificate was verified (signed and
	// untrusted), so an operator can see who signed an untrusted image.
	Issuer  string `json:"issuer,omitempty"`
	Subject string `json:"subject,omitempty"`
	// KeyID is "sha256:<hex>" of the DER (PKIX) public key that verified
	// the signature: the policy key, or the certificate's key.
	KeyID string `json:"key_id,omitempty"`
	// LogIndex is the Rekor log index of the verified log entry, or -1 when
	// the signature had no verified log entry.
	LogIndex int64 `json:"log_index"`
	// IntegratedTime is when the transparency log recorded the signature
	// (zero without a signed entry timestamp).
	IntegratedTime time.Time `json:"integrated_time,omitzero"`
	// PredicateType is set for DSSE content (bundle or envelope).
	PredicateType string `json:"predicate_type,omitempty"`
	// CoveredVia is the index digest whose signature covers Digest, set by
	// CoversChild.
	CoveredVia string `json:"covered_via,omitempty"`
	// Reason explains invalid and untrusted results.
	Reason string `json:"reason,omitempty"`
}

func invalid(digest, format, reason string, args ...any) Result {
	if len(args) > 0 {
		reason = fmt.Sprintf(reason, args...)
	}
	return Result{Status: StatusInvalid, Digest: digest, Format: format, LogIndex: -1, Reason: reason}
}

// Summary is the image-level verdict with the evidence behind it.
type Summary struct {
	Status Status `json:"status"`
	// Signed holds the signed results when Status is signed (which signer,
	// identity, log index, time), the untrusted ones when it is untrusted.
	Evidence []Result `json:"evidence,omitempty"`
	// Reasons lists why results were invalid or untrusted, deduplicated.
	Reasons []string `json:"reasons,omitempty"`
}

// Summarize folds the results found for one image digest into its status:
// signed if any result is signed by a policy signer; else untrusted if any
// signature is valid but by a signer outside the policy; else notation if
// every result is a Notary Project signature; else invalid; unsigned if
// there are no results. An invalid signature next to a valid one does not
// spoil it: an attacker can always attach garbage to an image.
func Summarize(results []Result) Status {
	return Explain(results).Status
}

// Explain is Summarize with the evidence: which results decided the status
// and the reasons of the others.
func Explain(results []Result) Summary {
	if len(results) == 0 {
		return Summary{Status: StatusUnsigned}
	}
	var s Summary
	var signed, untrusted []Result
	notation := 0
	seen := map[string]bool{}
	for _, r := range results {
		switch r.Status {
		case StatusSigned:
			signed = append(signed, r)
			continue
		case StatusUntrusted:
			untrusted = append(untrusted, r)
		case StatusNotation:
			notation++
		}
		if r.Reason != "" && !seen[r.Reason] {
			seen[r.Reason] = true
			s.Reasons = append(s.Reasons, r.Reason)
		}
	}
	switch {
	case len(signed) > 0:
		s.Status, s.Evidence = StatusSigned, signed
	case len(untrusted) > 0:
		s.Status, s.Evidence = StatusUntrusted, untrusted
	case notation == len(results):
		s.Status = StatusNotation
	default:
		s.Status = StatusInvalid
	}
	return s
}

// CoversChild returns the results of an image index that carry over to one
// of its platform manifests. A signature over index digest I names I, and I
// names each child manifest by digest, so a valid signature over I vouches
// for every child I lists. Only the caller knows that childDigest is listed
// in indexDigest (it fetched the index); this function must only be called
// for such pairs. Signed and untrusted results are carried over with Digest
// set to the child and CoveredVia set to the index; invalid and notation
// results are not (they vouch for nothing). Results about another digest
// than indexDigest are ignored.
func CoversChild(indexDigest, childDigest string, indexResults []Result) []Result {
	var out []Result
	for _, r := range indexResults {
		if r.Digest != indexDigest {
			continue
		}
		if r.Status != StatusSigned && r.Status != StatusUntrusted {
			continue
		}
		r.Digest = childDigest
		r.CoveredVia = indexDigest
		out = append(out, r)
	}
	return out
}

// parseDigest validates "sha256:<64 lowercase hex>" and returns the hex part.
// Only sha256 is accepted: it is what registries and cosign use, and a
// looser check would let "sha256:ABC…" and "sha256:abc…" be two names for one
// image.
func parseDigest(d string) (string, error) {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok {
		return "", fmt.Errorf("digest %q is not a sha256 digest", d)
	}
	if len(hexPart) != 64 {
		return "", fmt.Errorf("digest %q: want 64 hex characters", d)
	}
	for _, c := range hexPart {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("digest %q: not lowercase hex", d)
		}
	}
	return hexPart, nil
}
