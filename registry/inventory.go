package registry

import (
	"context"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// Inventory is what crawling needs from the store. store/sqlite implements it.
type Inventory interface {
	// CurrentTags returns tag → digest as last observed in a repository.
	CurrentTags(ctx context.Context, repository string) (map[string]string, error)
	// HasImage reports whether a manifest (or index) digest is already stored.
	HasImage(ctx context.Context, digest string) (bool, error)
	// RecordImage stores a platform image; storing it again is a no-op.
	RecordImage(ctx context.Context, img store.Image) error
	// RecordIndex notes that an index digest was fully expanded, with its children.
	RecordIndex(ctx context.Context, repository, digest, mediaType string, children []string) error
	// RecordTag appends to the tag's history. When the tag now points at a
	// different digest it returns the moved-tag event (also stored).
	RecordTag(ctx context.Context, obs store.TagObservation) (*store.Event, error)
	// RemoveTagsExcept marks tags no longer listed in a repository as deleted
	// and returns their events.
	RemoveTagsExcept(ctx context.Context, repository string, present []string, at time.Time) ([]store.Event, error)
	// RecordReferrer stores an attached artifact; storing it again is a no-op.
	RecordReferrer(ctx context.Context, r store.Referrer) error
	// HasReferrer reports whether an attached artifact is already stored.
	HasReferrer(ctx context.Context, subject, digest string) (bool, error)
	// RecordSignatureMaterial keeps the layers of signatures and
	// attestations so they can be verified offline, now and after every
	// trust-policy change.
	RecordSignatureMaterial(ctx context.Context, ms []store.SignatureMaterial) error
}

// SBOMSink ingests an SBOM found attached to an image and matches it;
// it returns the stored SBOM's id.
type SBOMSink interface {
	IngestAttached(ctx context.Context, imageRef string, subject string, raw []byte, source string) (int64, error)
}
