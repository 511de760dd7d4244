package baseimage

import (
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// Candidates builds catalogue candidates from stored images and the tag
// history of their repositories (store Images and TagHistory). An image is
// a candidate in its own repository and in every other repository where a
// tag pointed at it (directly or at its index): a byte-identical re-push
// has the same digest under another name. preferred says which
// repositories are configured base repositories (nil: none).
func Candidates(images []store.Image, history []store.TagRecord, preferred func(repository string) bool) []Candidate {
	type key struct{ digest, repo string }
	byDigest := map[string][]store.TagRecord{}
	for _, r := range history {
		byDigest[r.Digest] = append(byDigest[r.Digest], r)
	}
	var out []Candidate
	for _, img := range images {
		recs := append(append([]store.TagRecord(nil), byDigest[img.Digest]...), byDigest[img.IndexDigest]...)
		if img.IndexDigest == "" || img.IndexDigest == img.Digest {
			recs = byDigest[img.Digest]
		}
		cands := map[key]*Candidate{}
		var order []key
		get := func(repo string, seen time.Time) *Candidate {
			k := key{img.Digest, NormalizeRepository(repo)}
			c := cands[k]
			if c == nil {
				c = &Candidate{Digest: img.Digest, IndexDigest: img.IndexDigest, Repository: repo, DiffIDs: img.DiffIDs, Created: img.Created, FirstSeen: seen}
				if preferred != nil {
					c.Preferred = preferred(repo)
				}
				cands[k] = c
				order = append(order, k)
			}
			if !seen.IsZero() && (c.FirstSeen.IsZero() || seen.Before(c.FirstSeen)) {
				c.FirstSeen = seen
			}
			return c
		}
		get(img.Repository, img.FirstSeen)
		for _, r := range recs {
			c := get(r.Repository, r.FirstObserved)
			t := TagAt{Tag: r.Tag, From: r.FirstObserved}
			if !r.Current {
				t.To = r.LastObserved
			}
			c.Tags = append(c.Tags, t)
		}
		for _, k := range order {
			out = append(out, *cands[k])
		}
	}
	return out
}

// ToStore converts a chain for storage.
func ToStore(chain []Link, at time.Time) []store.BaseLink {
	out := make([]store.BaseLink, len(chain))
	for i, l := range chain {
		out[i] = store.BaseLink{
			Position: i, BaseRepository: l.Base.Repository, BaseDigest: l.Base.Digest, BaseIndexDigest: l.Base.IndexDigest,
			BaseTag: l.Base.Tag, BaseTags: l.Base.Tags, Method: l.Method, Confidence: l.Confidence, SharedLayers: l.SharedLayers,
			Identical: l.Identical, Alternatives: l.Alternatives, Note: l.Note, ComputedAt: at,
		}
	}
	return out
}

// FromStore converts a stored chain back.
func FromStore(links []store.BaseLink) []Link {
	out := make([]Link, len(links))
	for i, l := range links {
		out[i] = Link{
			Base:   Ref{Repository: l.BaseRepository, Digest: l.BaseDigest, IndexDigest: l.BaseIndexDigest, Tag: l.BaseTag, Tags: l.BaseTags},
			Method: l.Method, Confidence: l.Confidence, SharedLayers: l.SharedLayers, Identical: l.Identical,
			Alternatives: l.Alternatives, Note: l.Note,
		}
	}
	return out
}
