package baseimage

import (
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// Outdatedness says whether the tag a base carried when the image was built
// has since moved.
type Outdatedness struct {
	RebuildRecommended bool      `json:"rebuild_recommended"`
	Repository         string    `json:"repository"`
	Tag                string    `json:"tag"`
	BaseDigest         string    `json:"base_digest"`              // what the image was built on
	CurrentDigest      string    `json:"current_digest,omitempty"` // where the tag points now (often an index digest)
	Since              time.Time `json:"since,omitzero"`           // first seen pointing there
	// MovedTags are the other tags the base carried that now point elsewhere
	// (latest moving to a new major does not by itself call for a rebuild).
	MovedTags []string `json:"moved_tags,omitempty"`
	Note      string   `json:"note,omitempty"`
}

// Outdated checks a link against the tag history of its base repository
// (store TagHistory(ctx, link.Base.Repository, "")). A rebuild is
// recommended when the link's tag now points at a digest that is neither
// the base's manifest nor its index.
func Outdated(l Link, history []store.TagRecord) Outdatedness {
	o := Outdatedness{Repository: l.Base.Repository, Tag: l.Base.Tag, BaseDigest: l.Base.Digest}
	if l.Base.Tag == "" || l.Base.Digest == "" {
		o.Note = "the base's tag is not known"
		return o
	}
	current := map[string]store.TagRecord{}
	known := false
	for _, r := range history {
		if sameRepo(r.Repository, l.Base.Repository) {
			known = true
			if r.Current {
				current[r.Tag] = r
			}
		}
	}
	if !known {
		o.Note = "the base repository is not crawled: whether its tag moved is not known"
		return o
	}
	same := func(d string) bool {
		return d == l.Base.Digest || (l.Base.IndexDigest != "" && d == l.Base.IndexDigest)
	}
	for _, t := range l.Base.Tags {
		if r, ok := current[t]; ok && t != l.Base.Tag && !same(r.Digest) {
			o.MovedTags = append(o.MovedTags, t)
		}
	}
	r, ok := current[l.Base.Tag]
	switch {
	case !ok:
		o.Note = "the tag no longer exists"
	case same(r.Digest):
	default:
		o.RebuildRecommended, o.CurrentDigest, o.Since = true, r.Digest, r.FirstObserved
		o.Note = "rebuild recommended: " + l.Base.Repository + ":" + l.Base.Tag + " now points at " + r.Digest
	}
	return o
}

// PackageID is the identity used to tell base packages from the image's own.
type PackageID struct {
	Ecosystem, Name, Version string
}

// ID returns a package's identity.
func ID(p sbom.Package) PackageID {
	return PackageID{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version}
}

func idSet(pkgs []sbom.Package) map[PackageID]bool {
	m := make(map[PackageID]bool, len(pkgs))
	for _, p := range pkgs {
		m[ID(p)] = true
	}
	return m
}

// PackageOrigin is one package of an image and whether its base brought it.
type PackageOrigin struct {
	Package  sbom.Package `json:"package"`
	FromBase bool         `json:"from_base"`
}

// InBase tags each of the image's packages as coming from its base (the
// same ecosystem, name and version is in the base's SBOM) or from the
// image's own layers.
func InBase(imagePackages, basePackages []sbom.Package) []PackageOrigin {
	base := idSet(basePackages)
	out := make([]PackageOrigin, len(imagePackages))
	for i, p := range imagePackages {
		out[i] = PackageOrigin{Package: p, FromBase: base[ID(p)]}
	}
	return out
}

// Finding is a finding with where its package came from.
type Finding struct {
	store.Finding
	InBase bool `json:"in_base"`
}

// MarkFindings sets InBase on an image's findings given its base's packages.
func MarkFindings(findings []store.Finding, basePackages []sbom.Package) []Finding {
	base := idSet(basePackages)
	out := make([]Finding, len(findings))
	for i, f := range findings {
		out[i] = Finding{Finding: f, InBase: base[ID(f.Package)]}
	}
	return out
}

// RebuildRemoves returns the image's findings that a rebuild on the new
// base would remove: their package came from the old base and the new base
// no longer has it (at that version).
func RebuildRemoves(findings []store.Finding, oldBase, newBase []sbom.Package) []store.Finding {
	old, cur := idSet(oldBase), idSet(newBase)
	var out []store.Finding
	for _, f := range findings {
		id := ID(f.Package)
		if old[id] && !cur[id] {
			out = append(out, f)
		}
	}
	return out
}
