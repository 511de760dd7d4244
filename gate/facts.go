package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vex"
)

// facts resolves ref and gathers what the store knows about its digest,
// fetching the image on the spot when the store has never seen it. at is
// when the facts were read from the store (now, or when the cached copy
// was).
func (g *Gate) facts(ctx context.Context, ref imageref.Ref, epoch uint64) (_ policy.Facts, at time.Time, _ error) {
	f := refFacts(ref)
	digest, err := g.resolve(ctx, ref)
	if err != nil {
		return f, at, err
	}
	f.Digest = digest
	if cached, at, ok := g.cachedFacts(digest); ok {
		cached.Reference = f.Reference
		return cached, at, nil
	}
	at = time.Now()
	f, err = g.gatherFacts(ctx, ref, f, at, epoch)
	return f, at, err
}

func (g *Gate) gatherFacts(ctx context.Context, ref imageref.Ref, f policy.Facts, at time.Time, epoch uint64) (policy.Facts, error) {
	digest := f.Digest
	images, index, err := g.images(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		if g.o.Source == nil {
			return f, &incomplete{reason: IncompleteNotFound, err: fmt.Errorf("%s is not in the store and no registry is configured", digest)}
		}
		pinned := ref
		pinned.Digest = digest
		if _, err := g.o.Source.Fetch(ctx, pinned); err != nil {
			return f, classify(ctx, err, sourceNotFound)
		}
		images, index, err = g.images(ctx, digest)
		if errors.Is(err, store.ErrNotFound) {
			return f, &incomplete{reason: IncompleteNotFound, err: fmt.Errorf("%s was fetched but is not an image the inventory records", digest)}
		}
	}
	if err != nil {
		return f, err
	}
	if ctx.Err() != nil {
		return f, &incomplete{reason: IncompleteBudget, err: ctx.Err()}
	}
	if index {
		f.IndexDigest = digest
	}
	if err := g.gather(ctx, &f, images, index); err != nil {
		if ctx.Err() != nil {
			return f, &incomplete{reason: IncompleteBudget, err: err}
		}
		return f, err
	}
	g.cacheFacts(digest, f, at, epoch)
	return f, nil
}

// cachedFacts returns the facts gathered for digest less than FactsTTL ago.
// The policy only reads facts, so one copy serves concurrent decisions.
func (g *Gate) cachedFacts(digest string) (policy.Facts, time.Time, bool) {
	if g.o.FactsTTL <= 0 {
		return policy.Facts{}, time.Time{}, false
	}
	g.mu.Lock()
	e, ok := g.gathered[digest]
	g.mu.Unlock()
	if !ok || time.Since(e.at) >= g.o.FactsTTL {
		return policy.Facts{}, time.Time{}, false
	}
	return e.facts, e.at, true
}

func (g *Gate) cacheFacts(digest string, f policy.Facts, at time.Time, epoch uint64) {
	if g.o.FactsTTL <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.epoch != epoch {
		return // read before an Invalidate: may be what it invalidated
	}
	if len(g.gathered) >= maxTagCache {
		clear(g.gathered) // bounded: digests come from outside
	}
	g.gathered[digest] = factsEntry{facts: f, at: at}
}

func refFacts(ref imageref.Ref) policy.Facts {
	return policy.Facts{Reference: policy.Reference{Raw: ref.Raw, Registry: ref.Registry, Repository: ref.Repository, Name: ref.Name(),
		Tag: ref.Tag, Digest: ref.Digest, Pinned: ref.Pinned(), ImplicitLatest: ref.ImplicitLatest}}
}

// images returns the platform images a digest stands for: itself, or the
// children of an index.
func (g *Gate) images(ctx context.Context, digest string) ([]store.Image, bool, error) {
	img, err := g.image(ctx, digest)
	if err == nil {
		return []store.Image{img}, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	children, err := g.o.Store.IndexChildren(ctx, digest)
	if err != nil {
		return nil, false, err
	}
	var out []store.Image
	for _, c := range children {
		img, err := g.image(ctx, c)
		if err != nil {
			return nil, true, fmt.Errorf("index %s: child %s: %w", digest, c, err)
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, true, fmt.Errorf("index %s has no platform images", digest)
	}
	return out, true, nil
}

// image reads a stored image. A manifest digest names its content, and
// the store records an image once, so what was read stays true: it is
// cached (bounded).
func (g *Gate) image(ctx context.Context, digest string) (store.Image, error) {
	g.mu.Lock()
	img, ok := g.imgs[digest]
	g.mu.Unlock()
	if ok {
		return img, nil
	}
	img, err := g.o.Store.Image(ctx, digest)
	if err != nil {
		return img, err
	}
	g.mu.Lock()
	if len(g.imgs) >= maxTagCache {
		clear(g.imgs)
	}
	g.imgs[digest] = img
	g.mu.Unlock()
	return img, nil
}

// gather fills the facts from the store. For an index, the facts are those
// of all its platform images together: every child must carry an SBOM, the
// findings are their union, and the signature is the index's own (a
// signature over an index covers its children by digest).
func (g *Gate) gather(ctx context.Context, f *policy.Facts, images []store.Image, index bool) error {
	first := images[0]
	f.Labels, f.Created = first.Labels, first.Created
	if g.o.Policy.UsesTags() {
		tags, err := g.o.Store.Tags(ctx, f.Digest)
		if err != nil {
			return err
		}
		if index {
			if more, err := g.o.Store.Tags(ctx, first.Digest); err == nil {
				tags = append(tags, more...)
			}
		}
		f.Tags = tags
	}
	var sbomIDs []int64
	own, err := g.sboms(ctx, f.Digest)
	if err != nil {
		return err
	}
	f.SBOM = policy.SBOM{Present: true, Packages: -1}
	for _, img := range images {
		s := own
		if index {
			child, err := g.sboms(ctx, img.Digest)
			if err != nil {
				return err
			}
			s = mergeSBOM(own, child)
		}
		sbomIDs = append(sbomIDs, s.ids...)
		f.SBOM.Present = f.SBOM.Present && s.present
		f.SBOM.Count += s.count
		if f.SBOM.Packages < 0 || s.packages < f.SBOM.Packages {
			f.SBOM.Packages = s.packages
		}
	}
	if f.SBOM.Packages < 0 {
		f.SBOM.Packages = 0
	}
	if len(sbomIDs) > 0 && g.o.Policy.UsesFindings() {
		if f.Findings, err = g.findings(ctx, sbomIDs); err != nil {
			return err
		}
	}
	if err := g.base(ctx, f, first.Digest); err != nil {
		return err
	}
	if g.o.Signatures != nil {
		sigDigest, sigIndex := first.Digest, first.IndexDigest
		if index {
			sigDigest, sigIndex = f.Digest, ""
		}
		st, err := g.o.Signatures.Status(ctx, sigDigest, sigIndex)
		if err != nil {
			return fmt.Errorf("signature status of %s: %w", sigDigest, err)
		}
		f.Signature = policy.Signature{Status: string(st.Status), Signer: st.Signer, Issuer: st.Issuer, Subject: st.Subject, KeyID: st.KeyID, Reasons: st.Reasons}
		for _, p := range st.Provenance {
			if p != nil {
				f.Provenance = append(f.Provenance, policy.Provenance{BuilderID: p.BuilderID, BuildType: p.BuildType, SourceRepository: p.SourceRepository, SourceCommit: p.SourceCommit})
			}
		}
	}
	return nil
}

type sbomFacts struct {
	present         bool
	count, packages int
	ids             []int64
}

func mergeSBOM(a, b sbomFacts) sbomFacts {
	return sbomFacts{present: a.present || b.present, count: a.count + b.count, packages: a.packages + b.packages, ids: append(slices.Clone(a.ids), b.ids...)}
}

// sboms reads the SBOMs stored for one digest. An SBOM attached in the
// registry that could not be used (not an SBOM, no package understood) is
// present with 0 usable packages, so the rules fail closed on it (C48).
func (g *Gate) sboms(ctx context.Context, digest string) (sbomFacts, error) {
	var s sbomFacts
	list, err := g.o.Store.ImageSBOMs(ctx, digest)
	if err != nil {
		return s, err
	}
	for _, sb := range list {
		s.present = true
		s.count++
		s.packages += sb.Packages
		s.ids = append(s.ids, sb.ID)
	}
	if len(list) == 0 {
		refs, err := g.o.Store.Referrers(ctx, digest)
		if err != nil {
			return s, err
		}
		for _, r := range refs {
			if r.Kind == store.KindSBOM {
				s.present = true
				s.count++
			}
		}
	}
	return s, nil
}

// findings reads the open findings of some SBOMs, with the state VEX
// statements give them, from the cache when neither the feeds nor the VEX
// statements have changed since.
func (g *Gate) findings(ctx context.Context, ids []int64) ([]policy.Finding, error) {
	gen, err := g.o.Store.FeedGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if gen == 0 {
		// Fail closed: with no feed ever imported every image would look
		// clean (a webhook started on an empty store, before its first sync).
		return nil, &incomplete{reason: IncompleteNoFeeds, err: errors.New("the store has never imported a vulnerability feed, so an image's findings cannot be known")}
	}
	vexGen, err := g.o.Store.VEXGeneration(ctx)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	key := fmt.Sprint(sorted)
	g.mu.Lock()
	e, ok := g.found[key]
	g.mu.Unlock()
	if ok && e.generation == gen && e.vexGeneration == vexGen {
		return e.findings, nil
	}
	fs, err := g.o.Store.Findings(ctx, store.FindingFilter{SBOMIDs: ids})
	if err != nil {
		return nil, err
	}
	var states map[int]string
	if vexGen > 0 {
		if states, err = g.o.Store.VEXStates(ctx, fs); err != nil {
			return nil, err
		}
	}
	out := findings(fs, states)
	// When each advisory was disclosed, for "fix within N days of disclosure".
	seen := map[string]bool{}
	var advIDs []string
	for _, f := range out {
		if !seen[f.ID] {
			seen[f.ID] = true
			advIDs = append(advIDs, f.ID)
		}
	}
	published, err := g.o.Store.AdvisoriesPublished(ctx, advIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Published = published[out[i].ID]
	}
	g.mu.Lock()
	if len(g.found) >= maxTagCache {
		clear(g.found)
	}
	g.found[key] = foundEntry{generation: gen, vexGeneration: vexGen, findings: out}
	g.mu.Unlock()
	return out, nil
}

// findings turns stored findings into policy findings, one per
// (advisory, package). states holds the VEX status by index into fs; a
// finding is not_affected only when every copy of it (one per SBOM of an
// index's platform images) is, since a statement may be scoped to one image.
func findings(fs []store.Finding, states map[int]string) []policy.Finding {
	type key struct{ id, purl string }
	seen := map[key]int{}
	out := make([]policy.Finding, 0, len(fs))
	for i, x := range fs {
		if x.ResolvedAt != nil {
			continue
		}
		state := ""
		if states[i] == vex.NotAffected {
			state = vex.NotAffected
		}
		k := key{x.AdvisoryID, x.Package.PURL}
		if j, ok := seen[k]; ok {
			if state == "" {
				out[j].State = ""
			}
			continue
		}
		seen[k] = len(out)
		sev := strings.ToLower(string(x.Severity))
		if sev == "" {
			sev = "unknown"
		}
		pf := policy.Finding{ID: x.AdvisoryID, Aliases: x.Aliases, Package: x.Package.Name, Version: x.Package.Version, PURL: x.Package.PURL,
			Severity: sev, CVSS: x.CVSSScore, KEV: x.KEV, Fixed: x.Fixed, FirstSeen: x.FirstSeen, State: state}
		if x.EPSS != nil {
			pf.EPSS = *x.EPSS
		}
		out = append(out, pf)
	}
	return out
}

// base reads the base chain and marks links whose tag has moved since the
// image was built. No stored chain means the base is unknown.
func (g *Gate) base(ctx context.Context, f *policy.Facts, digest string) error {
	chain, err := g.o.Store.BaseChain(ctx, digest)
	if err != nil {
		return err
	}
	for _, l := range chain {
		b := policy.BaseLink{Repository: l.BaseRepository, Tag: l.BaseTag, Tags: l.BaseTags, Digest: l.BaseDigest, IndexDigest: l.BaseIndexDigest,
			Method: l.Method, Confidence: l.Confidence}
		if l.BaseTag != "" && l.BaseDigest != "" {
			hist, err := g.o.Store.TagHistory(ctx, l.BaseRepository, l.BaseTag)
			if err != nil {
				return err
			}
			for _, r := range hist {
				if r.Current && r.Digest != l.BaseDigest && r.Digest != l.BaseIndexDigest {
					b.Outdated = true
				}
			}
		}
		f.Base = append(f.Base, b)
	}
	return nil
}
