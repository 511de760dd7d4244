package signature

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotProvenance marks an attestation that is not SLSA provenance.
var ErrNotProvenance = errors.New("not SLSA provenance")

// ReadProvenance reads the SLSA provenance in one stored attestation layer
// (a DSSE envelope, a Sigstore bundle holding one, or a bare in-toto
// statement as BuildKit keeps in an image index) WITHOUT verifying its
// signature. It is for facts that layers can check on their own, such as
// which base image a build started from; trust decisions use
// VerifyAttestation. The statement's subject must name digest.
func ReadProvenance(body []byte, digest string) (*Provenance, error) {
	if len(body) > MaxAttestationSize {
		return nil, fmt.Errorf("attestation is %d bytes, larger than the %d-byte limit", len(body), MaxAttestationSize)
	}
	var st *Statement
	var err error
	isBundle, isEnvelope := probe(body)
	switch {
	case isBundle:
		b, berr := ParseBundle(body)
		if berr != nil {
			return nil, berr
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			return nil, errors.New("bundle holds a message signature, not an attestation")
		}
		st, err = parseStatement(env.GetPayloadType(), env.GetPayload())
	case isEnvelope:
		e, eerr := ParseEnvelope(body)
		if eerr != nil {
			return nil, eerr
		}
		st, err = parseStatement(e.PayloadType, e.DecodedPayload())
	default:
		st, err = parseStatement(InTotoPayloadType, body)
	}
	if err != nil {
		return nil, err
	}
	if err := st.names(digest); err != nil {
		return nil, err
	}
	if classify(st.PredicateType) != KindProvenance {
		return nil, fmt.Errorf("%w: predicate type %q", ErrNotProvenance, st.PredicateType)
	}
	return ParseProvenance(st.PredicateType, json.RawMessage(st.Predicate))
}
