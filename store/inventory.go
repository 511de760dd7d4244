package store

import "time"

// Image is one platform image: a manifest digest with what its config says.
// An image reached through a multi-arch index records the index digest.
type Image struct {
	Digest       string            `json:"digest"`
	Repository   string            `json:"repository"` // host/path where it was first seen
	IndexDigest  string            `json:"index_digest,omitempty"`
	MediaType    string            `json:"media_type"`
	ConfigDigest string            `json:"config_digest"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
	Variant      string            `json:"variant,omitempty"`
	Created      time.Time         `json:"created"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Layers       []string          `json:"layers"`   // layer (blob) digests, bottom first
	DiffIDs      []string          `json:"diff_ids"` // uncompressed layer digests from the config, bottom first
	Size         int64             `json:"size"`     // manifest + config + layers, bytes
	FirstSeen    time.Time         `json:"first_seen"`
}

// TagObservation is one crawl's view of a tag.
type TagObservation struct {
	Repository string    // host/path
	Tag        string    //
	Digest     string    // what the tag resolved to (an index or a manifest)
	MediaType  string    //
	At         time.Time //
}

// TagRecord is one stretch of a tag's history: the tag pointed at Digest
// from FirstObserved to LastObserved. A tag that moves starts a new record.
type TagRecord struct {
	Repository     string    `json:"repository"`
	Tag            string    `json:"tag"`
	Digest         string    `json:"digest"`
	PreviousDigest string    `json:"previous_digest,omitempty"`
	FirstObserved  time.Time `json:"first_observed"`
	LastObserved   time.Time `json:"last_observed"`
	Current        bool      `json:"current"`
}

// Referrer is an artifact attached to an image: an SBOM, a signature, an
// attestation, found through the OCI 1.1 referrers API or the
// sha256-<hex>.sig|.att|.sbom tag scheme.
type Referrer struct {
	Repository   string            `json:"repository"`
	Subject      string            `json:"subject"` // digest of the image it refers to
	Digest       string            `json:"digest"`
	ArtifactType string            `json:"artifact_type"`
	MediaType    string            `json:"media_type"`
	Kind         string            `json:"kind"` // sbom, signature, attestation, notation, other
	FoundVia     string            `json:"found_via"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Size         int64             `json:"size"`
	SBOMID       int64             `json:"sbom_id,omitempty"` // set when its SBOM was ingested
	At           time.Time         `json:"at"`
}

// Referrer kinds.
const (
	KindSBOM        = "sbom"
	KindSignature   = "signature"
	KindAttestation = "attestation"
	KindNotation    = "notation"
	KindOther       = "other"
)

// Event is something worth telling a person: a moved tag, a new KEV finding.
type Event struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Repository string    `json:"repository,omitempty"`
	Tag        string    `json:"tag,omitempty"`
	Digest     string    `json:"digest,omitempty"`
	OldDigest  string    `json:"old_digest,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	At         time.Time `json:"at"`
}

// Event kinds.
const (
	EventTagMoved   = "tag_moved"
	EventTagDeleted = "tag_deleted"
	EventNewImage   = "new_image"
	EventNewKEV     = "new_kev_finding"
)

// SignatureMaterial is one layer of a signature or attestation attached to
// an image: a cosign simple-signing payload with its annotations, a Sigstore
// bundle, a DSSE envelope, a notation signature.
type SignatureMaterial struct {
	Subject      string            `json:"subject"`  // the digest it is attached to
	Referrer     string            `json:"referrer"` // the manifest holding it
	Index        int               `json:"index"`    // layer index in that manifest
	Kind         string            `json:"kind"`     // signature, attestation, notation
	ArtifactType string            `json:"artifact_type"`
	MediaType    string            `json:"media_type"` // the layer's media type
	Annotations  map[string]string `json:"annotations,omitempty"`
	Body         []byte            `json:"-"`
}

// SignatureStatus is the verdict on one image digest under one trust
// policy. Detail is the verifier's full result (signer, identity, log
// index, time, reason, attestations, provenance) as JSON.
type SignatureStatus struct {
	Digest     string    `json:"digest"`
	PolicyHash string    `json:"policy_hash"`
	Status     string    `json:"status"`
	Detail     []byte    `json:"-"`
	VerifiedAt time.Time `json:"verified_at"`
}
