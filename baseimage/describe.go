package baseimage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/safeguard-dev/safeguard/report"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// Reader is what describing an image's base needs from the store.
type Reader interface {
	BaseChain(ctx context.Context, digest string) ([]store.BaseLink, error)
	TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error)
	Image(ctx context.Context, digest string) (store.Image, error)
	Images(ctx context.Context, repository string) ([]store.Image, error)
	ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error)
	Packages(ctx context.Context, sbomID int64) ([]sbom.Package, error)
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
}

// Description is an image's base as the CLI and the API show it: the
// stored chain, whether its own base is outdated, and what a rebuild on
// the base's current digest would remove.
type Description struct {
	// Attributed is false until a crawl has computed the chain.
	Attributed bool   `json:"attributed"`
	Chain      []Link `json:"chain"`
	// Outdated is about the image's own base (the first link).
	Outdated *Rebuild `json:"outdated,omitempty"`
	// BaseSBOM says whether the base's packages are known, so findings
	// can say whether the base brought them (in_base).
	BaseSBOM bool `json:"base_sbom"`

	basePkgs map[PackageID]bool
}

// Rebuild is Outdatedness with the findings a rebuild would remove.
type Rebuild struct {
	Outdatedness
	// RemovesKnown is true when both the old and the new base digests have
	// SBOMs, so Removes is a computed answer (possibly empty) and not a
	// lack of data.
	RemovesKnown bool `json:"removes_known"`
	// Removes are the old base's findings absent from the new base's.
	Removes []report.Finding `json:"removes"`
}

// Describe assembles an image's base description from the store.
func Describe(ctx context.Context, r Reader, img store.Image) (Description, error) {
	var d Description
	links, err := r.BaseChain(ctx, img.Digest)
	if err != nil {
		return d, fmt.Errorf("base chain of %s: %w", img.Digest, err)
	}
	d.Chain = FromStore(links)
	d.Attributed = links != nil
	if d.Chain == nil {
		d.Chain = []Link{}
	}
	if len(d.Chain) == 0 || d.Chain[0].Base.Digest == "" {
		return d, nil
	}
	l := d.Chain[0]
	basePkgs, ok, err := packagesOf(ctx, r, l.Base.Digest)
	if err != nil {
		return d, err
	}
	if ok {
		d.BaseSBOM, d.basePkgs = true, idSet(basePkgs)
	}
	if l.Base.Repository == "" || l.Base.Tag == "" {
		return d, nil
	}
	hist, err := r.TagHistory(ctx, l.Base.Repository, "")
	if err != nil {
		return d, fmt.Errorf("tag history of %s: %w", l.Base.Repository, err)
	}
	o := &Rebuild{Outdatedness: Outdated(l, hist), Removes: []report.Finding{}}
	d.Outdated = o
	if !o.RebuildRecommended {
		return d, nil
	}
	newBase, err := platformImage(ctx, r, o.CurrentDigest, l.Base.Digest)
	if err != nil || newBase == "" {
		return d, err
	}
	oldF, okOld, err := findingsOf(ctx, r, l.Base.Digest)
	if err != nil {
		return d, err
	}
	newF, okNew, err := findingsOf(ctx, r, newBase)
	if err != nil {
		return d, err
	}
	if !okOld || !okNew {
		o.Note = appendNote(o.Note, "the findings a rebuild would remove are not known: the old or the new base has no SBOM")
		return d, nil
	}
	o.RemovesKnown = true
	for _, f := range RemovedFindings(oldF, newF) {
		o.Removes = append(o.Removes, report.NewFinding(f))
	}
	return d, nil
}

// InBase says whether the base brought a package: nil when the base's
// packages are not known (no base, or no SBOM for it): not knowing is not
// "no".
func (d Description) InBase(p sbom.Package) *bool {
	if !d.BaseSBOM {
		return nil
	}
	v := d.basePkgs[ID(p)]
	return &v
}

// MarkInBase sets in_base on findings of the image.
func (d Description) MarkInBase(fs []report.Finding, stored []store.Finding) {
	for i := range fs {
		if i < len(stored) {
			fs[i].InBase = d.InBase(stored[i].Package)
		}
	}
}

// RemovedFindings returns the findings of the old base that the new base
// no longer has: the same advisory on the same package name is kept if
// the new base still has it (at any version).
func RemovedFindings(oldBase, newBase []store.Finding) []store.Finding {
	type key struct{ advisory, eco, name string }
	cur := map[key]bool{}
	for _, f := range newBase {
		cur[key{f.AdvisoryID, f.Package.Ecosystem, f.Package.Name}] = true
	}
	var out []store.Finding
	seen := map[key]bool{}
	for _, f := range oldBase {
		k := key{f.AdvisoryID, f.Package.Ecosystem, f.Package.Name}
		if !cur[k] && !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// platformImage resolves where a tag points now (a manifest or an index) to
// the platform image matching the old base's platform; "" when the new
// digest is not in the inventory.
func platformImage(ctx context.Context, r Reader, current, oldDigest string) (string, error) {
	if img, err := r.Image(ctx, current); err == nil {
		return img.Digest, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	old, err := r.Image(ctx, oldDigest)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	imgs, err := r.Images(ctx, "")
	if err != nil {
		return "", err
	}
	for _, img := range imgs {
		if img.IndexDigest == current && img.OS == old.OS && img.Architecture == old.Architecture && img.Variant == old.Variant {
			return img.Digest, nil
		}
	}
	return "", nil
}

// packagesOf returns the packages of an image's SBOMs; ok is false when it
// has none.
func packagesOf(ctx context.Context, r Reader, digest string) ([]sbom.Package, bool, error) {
	sboms, err := r.ImageSBOMs(ctx, digest)
	if err != nil || len(sboms) == 0 {
		return nil, false, err
	}
	var out []sbom.Package
	for _, s := range sboms {
		ps, err := r.Packages(ctx, s.ID)
		if err != nil {
			return nil, false, fmt.Errorf("packages of %s: %w", digest, err)
		}
		out = append(out, ps...)
	}
	return out, true, nil
}

func findingsOf(ctx context.Context, r Reader, digest string) ([]store.Finding, bool, error) {
	sboms, err := r.ImageSBOMs(ctx, digest)
	if err != nil || len(sboms) == 0 {
		return nil, false, err
	}
	ids := make([]int64, len(sboms))
	for i, s := range sboms {
		ids[i] = s.ID
	}
	fs, err := r.Findings(ctx, store.FindingFilter{SBOMIDs: ids})
	if err != nil {
		return nil, false, fmt.Errorf("findings of %s: %w", digest, err)
	}
	return fs, true, nil
}

// ParseBase reads a base reference as a user writes it: node:latest,
// docker.io/library/node:20, ghcr.io/acme/base@sha256:…. A name without a
// tag or digest means :latest, as in a Dockerfile FROM line. The
// repository is normalised (node → docker.io/library/node).
func ParseBase(ref string) (repository, tag, digest string, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.ContainsAny(ref, " \t\n") {
		return "", "", "", fmt.Errorf("base %q: want a reference such as node:latest or ghcr.io/acme/base:1", ref)
	}
	if i := strings.Index(ref, "@"); i >= 0 && normDigest(ref[i+1:]) == "" {
		return "", "", "", fmt.Errorf("base %q: the digest after @ is not sha256:<hex>", ref)
	}
	repository, tag, digest = splitRef(ref)
	if repository == "" || strings.HasSuffix(repository, "/") || strings.Contains(repository, "//") {
		return "", "", "", fmt.Errorf("base %q: no repository name", ref)
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	return repository, tag, digest, nil
}

// OnBase returns the digests of the images whose chain holds the base at
// any depth: by digest (manifest or index) when digest is set, else by the
// tag the base carried when the image (or the intermediate base) was built
// (the tag shown or any other it carried then). Repositories are compared
// normalised, so node, docker.io/library/node and index.docker.io/library/node
// are one.
func OnBase(chains map[string][]store.BaseLink, repository, tag, digest string) map[string]bool {
	repository = NormalizeRepository(repository)
	out := map[string]bool{}
	for d, c := range chains {
		for _, l := range c {
			if l.BaseRepository == "" || NormalizeRepository(l.BaseRepository) != repository {
				continue
			}
			switch {
			case digest != "":
				if l.BaseDigest == digest || l.BaseIndexDigest == digest {
					out[d] = true
				}
			case tag == "" || l.BaseTag == tag || contains(l.BaseTags, tag):
				out[d] = true
			}
		}
	}
	return out
}
