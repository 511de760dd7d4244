package policy

import (
	"time"

	"github.com/safeguard-dev/safeguard/imageref"
)

// Facts is what the policy knows about one image digest. The gate fills it
// from the store; policy tests write it by hand (JSON or YAML with these
// field names). CEL rules see the same fields under `image`.
type Facts struct {
	Digest      string    `json:"digest"`
	IndexDigest string    `json:"index_digest,omitempty"`
	Reference   Reference `json:"reference"`
	// Tags are the repository:tag names pointing at the digest now.
	Tags       []string          `json:"tags,omitempty"`
	Signature  Signature         `json:"signature"`
	Findings   []Finding         `json:"findings,omitempty"`
	SBOM       SBOM              `json:"sbom"`
	Base       []BaseLink        `json:"base,omitempty"` // nearest first; empty: unknown
	Provenance []Provenance      `json:"provenance,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Created    time.Time         `json:"created,omitzero"`
}

// Reference is the image reference as asked, parsed and normalised
// (docker.io/library/… for short names).
type Reference struct {
	Raw        string `json:"raw"`
	Registry   string `json:"registry,omitempty"`
	Repository string `json:"repository,omitempty"`
	Name       string `json:"name,omitempty"` // registry/repository
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
	// Pinned: the reference names a digest, so it is immutable whatever
	// its tag says.
	Pinned         bool `json:"pinned"`
	ImplicitLatest bool `json:"implicit_latest,omitempty"`
}

// ParseReference parses and normalises raw with imageref.
func ParseReference(raw string) (Reference, error) {
	r, err := imageref.Parse(raw)
	if err != nil {
		return Reference{Raw: raw}, err
	}
	return fromRef(r), nil
}

func fromRef(r imageref.Ref) Reference {
	return Reference{Raw: r.Raw, Registry: r.Registry, Repository: r.Repository, Name: r.Name(), Tag: r.Tag,
		Digest: r.Digest, Pinned: r.Pinned(), ImplicitLatest: r.ImplicitLatest}
}

// Signature is the image's signature status under the trust policy
// (sigstatus.Detail): status is signed, unsigned, invalid, untrusted or
// notation; empty when no trust policy was applied.
type Signature struct {
	Status  string   `json:"status"`
	Signer  string   `json:"signer,omitempty"`  // the trust-policy signer name
	Issuer  string   `json:"issuer,omitempty"`  // OIDC issuer (keyless)
	Subject string   `json:"subject,omitempty"` // certificate identity (keyless)
	KeyID   string   `json:"key_id,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// Finding is one open vulnerability finding of the image's SBOMs.
type Finding struct {
	ID        string    `json:"id"`
	Aliases   []string  `json:"aliases,omitempty"`
	Package   string    `json:"package"`
	Version   string    `json:"version,omitempty"`
	PURL      string    `json:"purl,omitempty"`
	Severity  string    `json:"severity"` // critical, high, medium, low, unknown
	CVSS      float64   `json:"cvss,omitempty"`
	KEV       bool      `json:"kev,omitempty"`
	EPSS      float64   `json:"epss,omitempty"`
	Fixed     []string  `json:"fixed,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	Published time.Time `json:"published,omitzero"`
	// State is open (default), not_affected (VEX) or fixed; only open
	// findings count.
	State  string `json:"state,omitempty"`
	InBase *bool  `json:"in_base,omitempty"`
}

// Open reports whether the finding counts: VEX not_affected and fixed
// findings do not.
func (f Finding) Open() bool { return f.State == "" || f.State == "open" }

// SBOM says whether the image was scanned and how much was understood.
type SBOM struct {
	Present bool `json:"present"`
	Count   int  `json:"count,omitempty"` // SBOM documents
	// Packages is the number of usable packages (with an identity the
	// matcher understands). Zero means nothing was analysed.
	Packages int `json:"packages"`
}

// BaseLink is one link of the base chain (store.BaseLink, plus outdated).
type BaseLink struct {
	Repository  string   `json:"repository,omitempty"`
	Tag         string   `json:"tag,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Digest      string   `json:"digest,omitempty"`
	IndexDigest string   `json:"index_digest,omitempty"`
	Method      string   `json:"method"`               // annotation, provenance, layers, none
	Confidence  string   `json:"confidence,omitempty"` // certain, high, ambiguous, guess, unknown
	Outdated    bool     `json:"outdated,omitempty"`   // the tag has since moved
}

// Provenance is a verified SLSA provenance statement.
type Provenance struct {
	BuilderID        string `json:"builder_id,omitempty"`
	BuildType        string `json:"build_type,omitempty"`
	SourceRepository string `json:"source_repository,omitempty"`
	SourceCommit     string `json:"source_commit,omitempty"`
}

// Deployment is where the image is asked to run (gate.Input).
type Deployment struct {
	Environment string            `json:"environment,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Cluster     string            `json:"cluster,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}
