package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/safeguard-dev/safeguard/store"
)

// Media and artifact types the crawler recognises.
const (
	MediaTypeCycloneDXJSON    = "application/vnd.cyclonedx+json"
	MediaTypeCycloneDXXML     = "application/vnd.cyclonedx+xml"
	MediaTypeSPDXJSON         = "application/spdx+json"
	MediaTypeSPDXText         = "text/spdx"
	MediaTypeSyftJSON         = "application/vnd.syft+json"
	MediaTypeCosignSBOM       = "application/vnd.dev.cosign.artifact.sbom.v1+json"
	MediaTypeDSSE             = "application/vnd.dsse.envelope.v1+json"
	MediaTypeInToto           = "application/vnd.in-toto+json"
	MediaTypeSimpleSigning    = "application/vnd.dev.cosign.simplesigning.v1+json"
	MediaTypeSigstoreBundle   = "application/vnd.dev.sigstore.bundle" // prefix: …bundle.v0.3+json, …bundle+json
	MediaTypeNotarySignature  = "application/vnd.cncf.notary.signature"
	cosignSignPredicate       = "https://sigstore.dev/cosign/sign/v1"
	sigstoreBundlePredicateAn = "dev.sigstore.bundle.predicateType"
)

// sbomMediaTypes are documents the SBOM decoders read, under the names
// registries and tools give them.
var sbomMediaTypes = map[string]bool{
	MediaTypeCycloneDXJSON: true, MediaTypeCycloneDXXML: true, "application/vnd.cyclonedx": true,
	MediaTypeSPDXJSON: true, MediaTypeSPDXText: true, "text/spdx+json": true, "spdx+json": true,
	MediaTypeSyftJSON: true, MediaTypeCosignSBOM: true,
}

func isSBOMMediaType(mt string) bool {
	mt, _, _ = strings.Cut(mt, ";")
	return sbomMediaTypes[strings.ToLower(strings.TrimSpace(mt))]
}

// isSBOMPredicate: in-toto predicate types that carry a CycloneDX or SPDX
// document (versioned or not).
func isSBOMPredicate(pt string) bool {
	for _, p := range []string{"https://cyclonedx.org/bom", "https://spdx.dev/Document", "http://spdx.dev/Document", "https://spdx.org/Document"} {
		if pt == p || strings.HasPrefix(pt, p+"/") {
			return true
		}
	}
	return false
}

// sbomLayer is a blob that holds (or may hold) an SBOM, and how it is
// wrapped: "" raw, "dsse" an in-toto statement in a DSSE envelope,
// "statement" a bare in-toto statement, "bundle" a sigstore bundle.
type sbomLayer struct {
	desc v1.Descriptor
	wrap string
}

type classification struct {
	kind string
	// sbom are layers known to hold an SBOM; maybe are attestations whose
	// predicate type is only known once read.
	sbom, maybe []sbomLayer
}

func predicateType(ann map[string]string) string {
	for _, k := range []string{"predicateType", "in-toto.io/predicate-type", sigstoreBundlePredicateAn} {
		if v := ann[k]; v != "" {
			return v
		}
	}
	return ""
}

// classify decides what an attached artifact is from its artifact type,
// config and layer media types and annotations. hint is the cosign tag
// suffix (sig, att, sbom) when it was found through one.
func classify(artifactType string, m *v1.Manifest, ann map[string]string, hint string) classification {
	at := strings.ToLower(artifactType)
	cfg := strings.ToLower(string(m.Config.MediaType))
	layerHas := func(pred func(string) bool) bool {
		for _, l := range m.Layers {
			if pred(strings.ToLower(string(l.MediaType))) {
				return true
			}
		}
		return false
	}
	is := func(t string) func(string) bool { return func(s string) bool { return s == t } }
	isBundle := func(s string) bool { return strings.HasPrefix(s, MediaTypeSigstoreBundle) }

	switch {
	case at == MediaTypeNotarySignature || cfg == MediaTypeNotarySignature:
		return classification{kind: store.KindNotation}
	case isBundle(at) || layerHas(isBundle):
		pt := ann[sigstoreBundlePredicateAn]
		switch {
		case isSBOMPredicate(pt):
			var c classification
			c.kind = store.KindSBOM
			for _, l := range m.Layers {
				c.sbom = append(c.sbom, sbomLayer{l, "bundle"})
			}
			return c
		case pt != "" && pt != cosignSignPredicate:
			return classification{kind: store.KindAttestation}
		}
		return classification{kind: store.KindSignature}
	case at == MediaTypeSimpleSigning || layerHas(is(MediaTypeSimpleSigning)):
		return classification{kind: store.KindSignature}
	}

	var c classification
	attestation := strings.HasPrefix(at, "application/vnd.in-toto") || at == MediaTypeDSSE
	for _, l := range m.Layers {
		lmt := strings.ToLower(string(l.MediaType))
		switch {
		case isSBOMMediaType(lmt):
			c.sbom = append(c.sbom, sbomLayer{l, ""})
		case lmt == MediaTypeDSSE || strings.HasPrefix(lmt, MediaTypeInToto):
			attestation = true
			wrap := "dsse"
			if lmt != MediaTypeDSSE {
				wrap = "statement"
			}
			pt := predicateType(l.Annotations)
			switch {
			case isSBOMPredicate(pt):
				c.sbom = append(c.sbom, sbomLayer{l, wrap})
			case pt == "":
				c.maybe = append(c.maybe, sbomLayer{l, wrap})
			}
		}
	}
	declaredSBOM := isSBOMMediaType(at) || isSBOMMediaType(cfg) || (hint == "sbom" && !attestation)
	if declaredSBOM && len(c.sbom) == 0 {
		// The artifact says SBOM; its layers use a generic media type.
		for _, l := range m.Layers {
			c.sbom = append(c.sbom, sbomLayer{l, ""})
		}
	}
	switch {
	case len(c.sbom) > 0:
		c.kind = store.KindSBOM
	case attestation || hint == "att":
		c.kind = store.KindAttestation
	case hint == "sig":
		c.kind = store.KindSignature
	default:
		c.kind = store.KindOther
	}
	return c
}

type dsseEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
}

type inTotoStatement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// extractSBOM unwraps a blob to the SBOM document it carries. ok is false
// for an attestation whose predicate is not an SBOM.
func extractSBOM(wrap string, blob []byte) (doc []byte, ok bool, err error) {
	switch wrap {
	case "":
		return blob, true, nil
	case "bundle":
		var b struct {
			DSSEEnvelope *dsseEnvelope `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(blob, &b); err != nil {
			return nil, false, fmt.Errorf("sigstore bundle: %w", err)
		}
		if b.DSSEEnvelope == nil {
			return nil, false, nil // a message signature, no attestation
		}
		return fromEnvelope(*b.DSSEEnvelope)
	case "dsse":
		var env dsseEnvelope
		if err := json.Unmarshal(blob, &env); err != nil {
			return nil, false, fmt.Errorf("DSSE envelope: %w", err)
		}
		return fromEnvelope(env)
	case "statement":
		return fromStatement(blob)
	}
	return nil, false, fmt.Errorf("unknown wrapping %q", wrap)
}

func fromEnvelope(env dsseEnvelope) ([]byte, bool, error) {
	if env.Payload == "" {
		return nil, false, errors.New("DSSE envelope: empty payload")
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		if payload, err = base64.URLEncoding.DecodeString(env.Payload); err != nil {
			return nil, false, fmt.Errorf("DSSE envelope: payload is not base64: %w", err)
		}
	}
	return fromStatement(payload)
}

func fromStatement(b []byte) ([]byte, bool, error) {
	var st inTotoStatement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("in-toto statement: %w", err)
	}
	if !isSBOMPredicate(st.PredicateType) {
		return nil, false, nil
	}
	p := bytes.TrimSpace(st.Predicate)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return nil, false, errors.New("in-toto statement: SBOM predicate is empty")
	}
	// A non-JSON SBOM (SPDX tag-value, CycloneDX XML) travels as a JSON
	// string, or in cosign's {"Data": "..."} wrapper.
	if p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, false, fmt.Errorf("in-toto statement: %w", err)
		}
		return []byte(s), true, nil
	}
	var wrapped map[string]json.RawMessage
	if json.Unmarshal(p, &wrapped) == nil && len(wrapped) <= 2 {
		if raw, ok := wrapped["Data"]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return []byte(s), true, nil
			}
			return raw, true, nil
		}
	}
	return p, true, nil
}
