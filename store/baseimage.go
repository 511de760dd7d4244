package store

import "time"

// BaseLink is one link of an image's base chain as stored: position 0 is
// the image's own base, 1 that base's base, and so on. A chain whose only
// link has Method "none" records that attribution ran and found no base.
type BaseLink struct {
	Position        int       `json:"position"`
	BaseRepository  string    `json:"base_repository,omitempty"`
	BaseDigest      string    `json:"base_digest,omitempty"`
	BaseIndexDigest string    `json:"base_index_digest,omitempty"`
	BaseTag         string    `json:"base_tag,omitempty"`  // the tag it carried when the image was built
	BaseTags        []string  `json:"base_tags,omitempty"` // every tag it carried then
	Method          string    `json:"method"`              // annotation, provenance, layers, none
	Confidence      string    `json:"confidence"`          // certain, high, ambiguous, guess, unknown
	SharedLayers    int       `json:"shared_layers"`
	Identical       bool      `json:"identical,omitempty"` // same content: the image is a copy of this base
	Alternatives    []string  `json:"alternatives,omitempty"`
	Note            string    `json:"note,omitempty"`
	ComputedAt      time.Time `json:"computed_at"`
}
