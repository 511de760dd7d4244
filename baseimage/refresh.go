package baseimage

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/store"
)

// Store is what re-attributing the inventory needs.
type Store interface {
	Repositories(ctx context.Context) ([]string, error)
	Images(ctx context.Context, repository string) ([]store.Image, error)
	TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error)
	SignatureMaterial(ctx context.Context, subjects ...string) ([]store.SignatureMaterial, error)
	BaseChains(ctx context.Context) (map[string][]store.BaseLink, error)
	PutBaseChains(ctx context.Context, chains map[string][]store.BaseLink) error
}

// Summary is what one re-attribution did.
type Summary struct {
	Images    int `json:"images"`    // images attributed
	Catalogue int `json:"catalogue"` // candidates in the catalogue
	Preferred int `json:"preferred"` // of which from configured base repositories
	New       int `json:"new"`       // images that had no chain
	Changed   int `json:"changed"`   // images whose chain changed
}

// materialBatch bounds the subjects of one SignatureMaterial query.
const materialBatch = 500

// Refresh builds the catalogue from every stored image (those of a
// repository for which preferred is true first in any tie) and its tag
// history, attributes every stored image, and stores the chains that are
// new or differ from the stored ones, in one transaction. Attribution is
// cheap and runs for every image, so an image whose answer changes because
// the catalogue grew (its base was crawled later, a tag moved, a copy
// appeared) is updated by the same pass that attributes new images; only
// the changes are written.
func Refresh(ctx context.Context, st Store, preferred func(repository string) bool, now time.Time) (Summary, error) {
	var sum Summary
	repos, err := st.Repositories(ctx)
	if err != nil {
		return sum, fmt.Errorf("base images: %w", err)
	}
	var history []store.TagRecord
	for _, r := range repos {
		h, err := st.TagHistory(ctx, r, "")
		if err != nil {
			return sum, fmt.Errorf("base images: tag history of %s: %w", r, err)
		}
		history = append(history, h...)
	}
	imgs, err := st.Images(ctx, "")
	if err != nil {
		return sum, fmt.Errorf("base images: %w", err)
	}
	cands := Candidates(imgs, history, preferred)
	for _, c := range cands {
		if c.Preferred {
			sum.Preferred++
		}
	}
	cat := NewCatalog(cands)
	sum.Catalogue, sum.Images = cat.Len(), len(imgs)
	mats, err := materials(ctx, st, imgs)
	if err != nil {
		return sum, err
	}
	stored, err := st.BaseChains(ctx)
	if err != nil {
		return sum, fmt.Errorf("base images: %w", err)
	}
	changed := map[string][]store.BaseLink{}
	for _, img := range imgs {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		img.Annotations = baseAnnotations(img)
		m := append(append([]Material(nil), mats[img.Digest]...), mats[img.IndexDigest]...)
		links := ToStore(Attribute(img, m, cat), now)
		old, ok := stored[img.Digest]
		switch {
		case !ok:
			sum.New++
		case sameChain(old, links):
			continue
		default:
			sum.Changed++
		}
		changed[img.Digest] = links
	}
	if err := st.PutBaseChains(ctx, changed); err != nil {
		return sum, fmt.Errorf("base images: %w", err)
	}
	return sum, nil
}

// baseAnnotations returns the manifest annotations, falling back to the
// config labels for the base keys (some builders write them as labels).
func baseAnnotations(img store.Image) map[string]string {
	if img.Annotations[AnnotationBaseDigest] != "" || img.Annotations[AnnotationBaseName] != "" {
		return img.Annotations
	}
	if img.Labels[AnnotationBaseDigest] == "" && img.Labels[AnnotationBaseName] == "" {
		return img.Annotations
	}
	out := map[string]string{}
	for k, v := range img.Annotations {
		out[k] = v
	}
	for _, k := range []string{AnnotationBaseDigest, AnnotationBaseName} {
		if v := img.Labels[k]; v != "" {
			out[k] = v
		}
	}
	return out
}

// materials reads the SLSA provenance stored for the images and their
// indexes and returns its materials pinned by sha256, by subject digest.
// Provenance is read without verifying its signature: a material is only
// "certain" about a base when the layers confirm it, and an unverifiable
// one says so in its note.
func materials(ctx context.Context, st Store, imgs []store.Image) (map[string][]Material, error) {
	seen := map[string]bool{}
	var subjects []string
	for _, img := range imgs {
		for _, d := range []string{img.Digest, img.IndexDigest} {
			if d != "" && !seen[d] {
				seen[d] = true
				subjects = append(subjects, d)
			}
		}
	}
	out := map[string][]Material{}
	for i := 0; i < len(subjects); i += materialBatch {
		batch := subjects[i:min(i+materialBatch, len(subjects))]
		ms, err := st.SignatureMaterial(ctx, batch...)
		if err != nil {
			return nil, fmt.Errorf("base images: provenance: %w", err)
		}
		for _, m := range ms {
			if m.Kind != store.KindAttestation {
				continue
			}
			p, err := signature.ReadProvenance(m.Body, m.Subject)
			if err != nil {
				continue // not provenance, or unreadable: no materials from it
			}
			for _, pm := range p.Materials {
				if d := pm.Digest["sha256"]; d != "" {
					out[m.Subject] = append(out[m.Subject], Material{URI: pm.URI, Digest: "sha256:" + d})
				}
			}
		}
	}
	return out, nil
}

// sameChain compares chains ignoring when they were computed.
func sameChain(a, b []store.BaseLink) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.ComputedAt, y.ComputedAt = time.Time{}, time.Time{}
		x.Position, y.Position = i, i
		if len(x.BaseTags) == 0 {
			x.BaseTags = nil
		}
		if len(y.BaseTags) == 0 {
			y.BaseTags = nil
		}
		if len(x.Alternatives) == 0 {
			x.Alternatives = nil
		}
		if len(y.Alternatives) == 0 {
			y.Alternatives = nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
