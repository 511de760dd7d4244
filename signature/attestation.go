package signature

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// PredicateKind groups predicate types by what they tell about an image.
type PredicateKind string

const (
	KindProvenance PredicateKind = "provenance"
	KindSBOM       PredicateKind = "sbom"
	KindVuln       PredicateKind = "vuln"
	KindVEX        PredicateKind = "vex"
	// KindSignature is cosign's sign/v1 predicate: an image signature in
	// statement form, not an attestation about the image.
	KindSignature PredicateKind = "signature"
	KindOther     PredicateKind = "other"
)

// Attestation is a verified (or rejected) attestation about one digest.
type Attestation struct {
	Result
	// StatementType is the in-toto statement _type.
	StatementType string        `json:"statement_type,omitempty"`
	Kind          PredicateKind `json:"kind,omitempty"`
	// Provenance is set for SLSA provenance v0.1/v0.2/v1 whose signature
	// is valid (signed or untrusted).
	Provenance *Provenance `json:"provenance,omitempty"`
	// Predicate is the raw predicate (an SBOM, a VEX document, …), set only
	// when the signature is valid, so nobody ingests unverified content by
	// mistake.
	Predicate json.RawMessage `json:"-"`
}

// Provenance holds the fields of a SLSA provenance predicate the rest of
// Safeguard uses.
type Provenance struct {
	// SLSAVersion is "v0.1", "v0.2" or "v1".
	SLSAVersion      string     `json:"slsa_version"`
	BuilderID        string     `json:"builder_id,omitempty"`
	BuildType        string     `json:"build_type,omitempty"`
	SourceRepository string     `json:"source_repository,omitempty"`
	SourceRef        string     `json:"source_ref,omitempty"`
	SourceCommit     string     `json:"source_commit,omitempty"`
	Materials        []Material `json:"materials,omitempty"`
}

// Material is a build input: v0.2 materials, v1 resolvedDependencies.
type Material struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
	// Image is true when the URI names a container image (pkg:docker/,
	// pkg:oci/, docker://, oci://) pinned by sha256: a base image candidate.
	Image bool `json:"image,omitempty"`
}

// BaseImages returns the materials that are container images pinned by
// digest.
func (p *Provenance) BaseImages() []Material {
	var out []Material
	for _, m := range p.Materials {
		if m.Image {
			out = append(out, m)
		}
	}
	return out
}

// Statement is an in-toto statement as found in a DSSE payload.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is one artifact an in-toto statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// maxSubjects bounds statement subjects (sigstore-go allows 1024).
const maxSubjects = 1024

// parseStatement checks the DSSE payload type and decodes the statement.
func parseStatement(payloadType string, payload []byte) (*Statement, error) {
	if payloadType != InTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type is %q, want %q", payloadType, InTotoPayloadType)
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("DSSE payload is not an in-toto statement: %v", err)
	}
	switch st.Type {
	case "https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1":
	case "":
		return nil, errors.New("in-toto statement has no _type")
	default:
		return nil, fmt.Errorf("unknown in-toto statement type %q", st.Type)
	}
	if st.PredicateType == "" {
		return nil, errors.New("in-toto statement has no predicateType")
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("in-toto statement has no subject")
	}
	if len(st.Subject) > maxSubjects {
		return nil, fmt.Errorf("in-toto statement has %d subjects, more than %d", len(st.Subject), maxSubjects)
	}
	return &st, nil
}

// names reports whether the statement's subject lists digest.
func (st *Statement) names(digest string) error {
	want := strings.TrimPrefix(digest, "sha256:")
	first := ""
	for _, s := range st.Subject {
		got := s.Digest["sha256"]
		if got == want {
			return nil
		}
		if first == "" && got != "" {
			first = got
		}
	}
	if first == "" {
		return fmt.Errorf("statement subject has no sha256 digest, so it cannot be for %s", digest)
	}
	return fmt.Errorf("signature is for sha256:%s, not %s", first, digest)
}

// ParseEnvelope parses a DSSE envelope strictly: a payload type, a base64
// payload, and signatures whose values are base64. Exported for the fuzz
// target.
func ParseEnvelope(raw []byte) (*Envelope, error) {
	if len(raw) > MaxAttestationSize {
		return nil, fmt.Errorf("DSSE envelope is %d bytes, larger than the %d-byte limit", len(raw), MaxAttestationSize)
	}
	var e Envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("malformed DSSE envelope: %v", err)
	}
	if e.PayloadType == "" {
		return nil, errors.New("DSSE envelope has no payloadType")
	}
	if e.Payload == "" {
		return nil, errors.New("DSSE envelope has no payload")
	}
	p, err := decodeB64(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload is not base64: %v", err)
	}
	e.payload = p
	if len(e.Signatures) == 0 {
		return nil, errors.New("DSSE envelope has no signatures")
	}
	for i, s := range e.Signatures {
		if _, err := decodeB64(s.Sig); err != nil || s.Sig == "" {
			return nil, fmt.Errorf("DSSE signature %d is not base64", i)
		}
	}
	return &e, nil
}

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"`
	Signatures  []EnvelopeSignature `json:"signatures"`
	payload     []byte
}

// EnvelopeSignature is one DSSE signature.
type EnvelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// DecodedPayload returns the base64-decoded payload.
func (e *Envelope) DecodedPayload() []byte { return e.payload }

// decodeB64 accepts standard base64 with or without padding and the URL
// alphabet, as DSSE implementations differ; whitespace is ignored.
func decodeB64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("illegal base64 data")
}

// VerifyAttestation verifies an attestation about digest: a plain DSSE
// envelope (a cosign .att layer; for keyless ones whose certificate is in the
// layer annotations use VerifyCosignAttestation) or a Sigstore bundle holding
// a DSSE envelope. The statement's subject must list digest. For valid
// signatures the predicate is classified and SLSA provenance parsed.
func (v *Verifier) VerifyAttestation(ctx context.Context, envelopeOrBundle []byte, digest string) Attestation {
	if _, err := parseDigest(digest); err != nil {
		return Attestation{Result: invalid(digest, "dsse", err.Error())}
	}
	if len(envelopeOrBundle) > MaxAttestationSize {
		return Attestation{Result: invalid(digest, "dsse", "attestation is %d bytes, larger than the %d-byte limit", len(envelopeOrBundle), MaxAttestationSize)}
	}
	isBundle, isEnvelope := probe(envelopeOrBundle)
	switch {
	case isBundle:
		return v.verifyBundleAttestation(ctx, envelopeOrBundle, digest)
	case isEnvelope:
		return v.VerifyCosignAttestation(ctx, envelopeOrBundle, nil, digest)
	default:
		return Attestation{Result: invalid(digest, "dsse", "neither a Sigstore bundle nor a DSSE envelope")}
	}
}

func (v *Verifier) verifyBundleAttestation(ctx context.Context, raw []byte, digest string) Attestation {
	b, err := ParseBundle(raw)
	if err != nil {
		return Attestation{Result: invalid(digest, "bundle", err.Error())}
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return Attestation{Result: invalid(digest, "bundle", "bundle holds a message signature, not an attestation")}
	}
	st, err := parseStatement(env.GetPayloadType(), env.GetPayload())
	if err != nil {
		return Attestation{Result: invalid(digest, "bundle", err.Error())}
	}
	a := Attestation{StatementType: st.Type, Kind: classify(st.PredicateType)}
	if err := st.names(digest); err != nil {
		a.Result = invalid(digest, "bundle", err.Error())
		a.PredicateType = st.PredicateType
		return a
	}
	d, _ := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	a.Result = v.verifyEntity(ctx, b, artifact{digest: d}, Result{Digest: digest, Format: "bundle", PredicateType: st.PredicateType})
	a.fill(st)
	return a
}

// fill adds the predicate and provenance once the signature is known good.
func (a *Attestation) fill(st *Statement) {
	a.PredicateType = st.PredicateType
	if a.Status != StatusSigned && a.Status != StatusUntrusted {
		return
	}
	a.Predicate = st.Predicate
	if a.Kind == KindProvenance {
		p, err := ParseProvenance(st.PredicateType, st.Predicate)
		if err != nil {
			a.Reason = "signature valid, provenance unreadable: " + err.Error()
			return
		}
		a.Provenance = p
	}
}

// classify maps a predicate type onto a kind. Prefix matches, because SPDX,
// CycloneDX and OpenVEX version their predicate URIs.
func classify(pt string) PredicateKind {
	switch {
	case pt == CosignSignPredicate:
		return KindSignature
	case strings.HasPrefix(pt, "https://slsa.dev/provenance/"):
		return KindProvenance
	case strings.HasPrefix(pt, "https://openvex.dev/ns"), strings.HasPrefix(pt, "https://cyclonedx.org/vex"),
		strings.HasPrefix(pt, "https://in-toto.io/attestation/vex"):
		return KindVEX
	case strings.HasPrefix(pt, "https://spdx.dev/Document"), strings.HasPrefix(pt, "https://cyclonedx.org/bom"),
		strings.HasPrefix(pt, "https://syft.dev/bom"), strings.HasPrefix(pt, "https://cosign.sigstore.dev/attestation/spdx"):
		return KindSBOM
	case strings.HasPrefix(pt, "https://cosign.sigstore.dev/attestation/vuln/"),
		strings.HasPrefix(pt, "https://in-toto.io/attestation/vulns"):
		return KindVuln
	}
	return KindOther
}

// ParseProvenance reads SLSA provenance v0.1, v0.2 or v1.
func ParseProvenance(predicateType string, predicate json.RawMessage) (*Provenance, error) {
	switch predicateType {
	case "https://slsa.dev/provenance/v0.1", "https://slsa.dev/provenance/v0.2":
		return parseProvenanceV02(predicateType, predicate)
	case "https://slsa.dev/provenance/v1":
		return parseProvenanceV1(predicate)
	}
	return nil, fmt.Errorf("unsupported provenance predicate %q", predicateType)
}

func parseProvenanceV02(pt string, raw json.RawMessage) (*Provenance, error) {
	var p struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType string `json:"buildType"`
		Recipe    *struct {
			Type              string `json:"type"`
			DefinedInMaterial *int   `json:"definedInMaterial"`
		} `json:"recipe"` // v0.1
		Invocation struct {
			ConfigSource struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"configSource"`
		} `json:"invocation"`
		Materials []Material `json:"materials"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	out := &Provenance{SLSAVersion: strings.TrimPrefix(pt, "https://slsa.dev/provenance/"), BuilderID: p.Builder.ID, BuildType: p.BuildType}
	out.Materials = markImages(p.Materials)
	src, srcDigest := p.Invocation.ConfigSource.URI, p.Invocation.ConfigSource.Digest
	if p.Recipe != nil {
		out.BuildType = p.Recipe.Type
		if i := p.Recipe.DefinedInMaterial; src == "" && i != nil && *i >= 0 && *i < len(p.Materials) {
			src, srcDigest = p.Materials[*i].URI, p.Materials[*i].Digest
		}
	}
	if src == "" { // fall back to the first git material
		for _, m := range p.Materials {
			if strings.HasPrefix(m.URI, "git+") {
				src, srcDigest = m.URI, m.Digest
				break
			}
		}
	}
	out.SourceRepository, out.SourceRef = splitSource(src)
	out.SourceCommit = commitOf(srcDigest)
	return out, nil
}

func parseProvenanceV1(raw json.RawMessage) (*Provenance, error) {
	var p struct {
		BuildDefinition struct {
			BuildType            string                     `json:"buildType"`
			ExternalParameters   map[string]json.RawMessage `json:"externalParameters"`
			ResolvedDependencies []Material                 `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	bd := p.BuildDefinition
	out := &Provenance{SLSAVersion: "v1", BuilderID: p.RunDetails.Builder.ID, BuildType: bd.BuildType}
	out.Materials = markImages(bd.ResolvedDependencies)

	// The source is spelled differently per build type; try the common ones.
	var repo, ref string
	if w, ok := bd.ExternalParameters["workflow"]; ok { // GitHub Actions build type
		var wf struct {
			Repository string `json:"repository"`
			Ref        string `json:"ref"`
		}
		if json.Unmarshal(w, &wf) == nil {
			repo, ref = wf.Repository, wf.Ref
		}
	}
	if repo == "" {
		if s, ok := bd.ExternalParameters["source"]; ok {
			var str string
			var obj struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			}
			if json.Unmarshal(s, &str) == nil {
				repo, ref = splitSource(str)
			} else if json.Unmarshal(s, &obj) == nil {
				repo, ref = splitSource(obj.URI)
				out.SourceCommit = commitOf(obj.Digest)
			}
		}
	}
	// The commit is the resolved dependency of the source repository.
	for _, m := range bd.ResolvedDependencies {
		mrepo, mref := splitSource(m.URI)
		if repo == "" && strings.HasPrefix(m.URI, "git+") {
			repo, ref = mrepo, mref
		}
		if repo != "" && sameRepo(mrepo, repo) && out.SourceCommit == "" {
			out.SourceCommit = commitOf(m.Digest)
			if ref == "" {
				ref = mref
			}
		}
	}
	out.SourceRepository, out.SourceRef = repo, ref
	return out, nil
}

// splitSource turns "git+https://github.com/acme/app@refs/heads/main" into
// ("https://github.com/acme/app", "refs/heads/main").
func splitSource(uri string) (repo, ref string) {
	uri = strings.TrimPrefix(uri, "git+")
	pathStart := 0
	if i := strings.Index(uri, "://"); i >= 0 {
		pathStart = i + 3
		if j := strings.Index(uri[pathStart:], "/"); j >= 0 {
			pathStart += j // skip the host, which may hold user@
		} else {
			return uri, ""
		}
	}
	if at := strings.Index(uri[pathStart:], "@"); at >= 0 {
		return uri[:pathStart+at], uri[pathStart+at+1:]
	}
	return uri, ""
}

func sameRepo(a, b string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "/"), ".git") }
	return norm(a) == norm(b)
}

func commitOf(d map[string]string) string {
	for _, k := range []string{"gitCommit", "sha1", "sha256"} {
		if v := d[k]; v != "" {
			return v
		}
	}
	return ""
}

func markImages(ms []Material) []Material {
	for i := range ms {
		u := ms[i].URI
		img := strings.HasPrefix(u, "pkg:docker/") || strings.HasPrefix(u, "pkg:oci/") ||
			strings.HasPrefix(u, "docker://") || strings.HasPrefix(u, "oci://")
		ms[i].Image = img && ms[i].Digest["sha256"] != ""
	}
	return ms
}
