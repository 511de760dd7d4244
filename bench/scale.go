package bench

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// Helpers for the at-scale runs (sgbench build / delta and
// BenchmarkCrawl1000x10): a feed delta of N changed Go advisories applied
// exactly as internal/cli/feed.go's applyFeed applies an import.

var plainSemver = regexp.MustCompile(`^(v?)(\d+)\.(\d+)\.(\d+)$`)

// bumpPatch returns v with its patch number raised by one ("1.2.3" →
// "1.2.4"), or "" when v is not a plain X.Y.Z version.
func bumpPatch(v string) string {
	m := plainSemver.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	p, err := strconv.Atoi(m[4])
	if err != nil {
		return ""
	}
	return m[1] + m[2] + "." + m[3] + "." + strconv.Itoa(p+1)
}

// DeltaInfo says what ChangeGoAdvisories changed.
type DeltaInfo struct {
	Changed        int `json:"advisories_changed"`
	TouchingStored int `json:"advisories_naming_stored_packages"`
	FixedBumped    int `json:"fixed_events_bumped"`
	LastAdded      int `json:"last_affected_added"`
}

// ChangeGoAdvisories returns a copy of the Go batch's advisories with n of
// them changed the way real feed updates change them: every plain X.Y.Z
// `fixed` event of a SEMVER range moves one patch release up (the fix
// turned out to land a release later: the old fixed version becomes
// affected), and a range with no fixed event gets a `last_affected` at its
// introduced version's next patch (a still-open advisory narrowed to the
// versions known affected). Modified moves one day on. Advisories naming a
// package in stored (lookup keys, see vuln.LookupKey) are chosen first, in
// id order, so the delta reaches stored packages; the rest are filled in id
// order.
func ChangeGoAdvisories(advs []advisory.Advisory, n int, stored map[string]bool) ([]advisory.Advisory, DeltaInfo) {
	var info DeltaInfo
	out := make([]advisory.Advisory, len(advs))
	copy(out, advs)
	type cand struct {
		i       int
		touches bool
	}
	var cands []cand
	for i, a := range advs {
		if a.Withdrawn != nil || !strings.HasPrefix(a.ID, "GO-") {
			continue
		}
		touches := false
		for _, aff := range a.Affected {
			eco := vuln.ParseEcosystem(aff.Package.Ecosystem)
			if stored[vuln.LookupKey(eco.Base, aff.Package.Name)] {
				touches = true
			}
		}
		cands = append(cands, cand{i, touches})
	}
	sort.SliceStable(cands, func(x, y int) bool {
		if cands[x].touches != cands[y].touches {
			return cands[x].touches
		}
		return advs[cands[x].i].ID < advs[cands[y].i].ID
	})
	for _, c := range cands {
		if info.Changed == n {
			break
		}
		a := advs[c.i] // shallow copy; everything changed below is copied
		a.Modified = a.Modified.Add(24 * time.Hour)
		a.Affected = append([]advisory.Affected(nil), a.Affected...)
		changed := false
		for ai := range a.Affected {
			aff := &a.Affected[ai]
			aff.Ranges = append([]advisory.Range(nil), aff.Ranges...)
			for ri := range aff.Ranges {
				r := &aff.Ranges[ri]
				if r.Type != advisory.RangeSemver {
					continue
				}
				r.Events = append([]advisory.Event(nil), r.Events...)
				hasFixed := false
				for ei := range r.Events {
					if r.Events[ei].Fixed != "" {
						hasFixed = true
						if nv := bumpPatch(r.Events[ei].Fixed); nv != "" {
							r.Events[ei].Fixed = nv
							info.FixedBumped++
							changed = true
						}
					}
				}
				if hasFixed {
					continue
				}
				for _, e := range r.Events {
					if e.LastAffected != "" || e.Limit != "" {
						hasFixed = true
					}
				}
				if hasFixed {
					continue
				}
				// An open range: introduced only.
				last := ""
				for _, e := range r.Events {
					if e.Introduced != "" {
						if e.Introduced == "0" {
							last = "0.0.1"
						} else {
							last = bumpPatch(e.Introduced)
						}
					}
				}
				if last != "" {
					r.Events = append(r.Events, advisory.Event{LastAffected: last})
					info.LastAdded++
					changed = true
				}
			}
		}
		if !changed {
			continue
		}
		if err := vuln.CheckAdvisory(a); err != nil {
			continue
		}
		out[c.i] = a
		info.Changed++
		if c.touches {
			info.TouchingStored++
		}
	}
	return out, info
}

// StoredLookupKeys returns the lookup keys (by name and by source name) of
// every stored package.
func StoredLookupKeys(ctx context.Context, st *sqlite.Store) (map[string]bool, error) {
	ts, err := st.MatchTargets(ctx, store.Scope{})
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, t := range ts {
		keys[vuln.LookupKey(t.Ecosystem, t.Name)] = true
		if t.SourceName != "" {
			keys[vuln.LookupKey(t.Ecosystem, t.SourceName)] = true
		}
	}
	return keys, nil
}

// DeltaTiming is one feed import with its re-match, as applyFeed does it.
type DeltaTiming struct {
	HashSeconds    float64            `json:"score_and_hash_seconds"`
	ImportSeconds  float64            `json:"import_feed_seconds"`
	RematchSeconds float64            `json:"rematch_seconds"` // PendingRematch + Reconcile + ClearPending
	TotalSeconds   float64            `json:"total_seconds"`
	Result         store.FeedResult   `json:"-"`
	Added          int                `json:"added"`
	ChangedAdv     int                `json:"changed"`
	Unchanged      int                `json:"unchanged"`
	PendingKeys    int                `json:"pending_keys"`
	Rematched      int                `json:"package_versions_rematched"`
	Changes        store.MatchChanges `json:"match_changes"`
}

// ApplyFeed is internal/cli/feed.go's applyFeed (scores and content hashes,
// ImportFeed, then the pending delta: PendingRematch, vuln.Reconcile over
// it, ClearPending), timed step by step.
func ApplyFeed(ctx context.Context, st *sqlite.Store, advs []advisory.Advisory, source string, now time.Time) (DeltaTiming, error) {
	var t DeltaTiming
	t0 := time.Now()
	data := store.FeedData{Source: source, Advisories: advs, At: now,
		Scores: make(map[string]advisory.Scored, len(advs)), Hashes: make(map[string]string, len(advs))}
	for _, a := range advs {
		data.Scores[a.ID] = feed.Score(a)
		data.Hashes[a.ID] = feed.ContentHash(a)
	}
	t1 := time.Now()
	res, err := st.ImportFeed(ctx, data)
	if err != nil {
		return t, err
	}
	t2 := time.Now()
	scope, err := st.PendingRematch(ctx)
	if err != nil {
		return t, err
	}
	if len(scope.Keys) > 0 {
		sum, err := vuln.Reconcile(ctx, st, scope, now)
		if err != nil {
			return t, err
		}
		if err := st.ClearPending(ctx, scope); err != nil {
			return t, err
		}
		t.Rematched, t.Changes = sum.Packages, sum.Changes
	}
	t3 := time.Now()
	t.HashSeconds, t.ImportSeconds, t.RematchSeconds, t.TotalSeconds =
		t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds(), t3.Sub(t0).Seconds()
	t.Result, t.Added, t.ChangedAdv, t.Unchanged, t.PendingKeys = res, res.Added, res.Changed, res.Unchanged, len(scope.Keys)
	return t, nil
}

// IngestProgress is IngestN for SBOMs start..n-1 (so a store can be
// extended), with a callback every `every` SBOMs.
func IngestProgress(ctx context.Context, st *sqlite.Store, docs []Doc, start, n, every int, at time.Time, progress func(done int)) (packages int, err error) {
	for i := start; i < n; i++ {
		d := docs[i%len(docs)]
		image := fmt.Sprintf("registry.example/bench/%s:%06d", lastElem(d.Path), i)
		r, err := st.IngestSBOM(ctx, store.IngestInput{Document: d.Doc, Raw: d.Raw, Source: d.Path, Image: image, At: at})
		if err != nil {
			return packages, err
		}
		if r.Existing {
			return packages, fmt.Errorf("sbom %d (%s) was already stored", i, image)
		}
		packages += len(d.Doc.Packages)
		if progress != nil && every > 0 && (i+1)%every == 0 {
			progress(i + 1)
		}
	}
	return packages, nil
}

func lastElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// TrimToFindings returns copies of docs holding only the packages that have
// a finding in a matched store built from the same documents (findings are
// keyed by the SBOM's source, which is the document's path). The cheaper
// fixture for the 100k run: every image keeps exactly the findings of the
// real document while its SBOM row links far fewer packages. Raw is left
// as the original bytes (so the stored document is the real one).
func TrimToFindings(ctx context.Context, matched *sqlite.Store, docs []Doc) ([]Doc, error) {
	fs, err := matched.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return nil, err
	}
	keep := map[string]map[string]bool{} // source → package ident
	for _, f := range fs {
		if keep[f.Source] == nil {
			keep[f.Source] = map[string]bool{}
		}
		keep[f.Source][f.Package.Key()+"\x00"+f.Package.PURL] = true
	}
	out := make([]Doc, len(docs))
	for i, d := range docs {
		doc := *d.Doc
		doc.Packages = nil
		doc.Unidentified = nil
		for _, p := range d.Doc.Packages {
			if keep[d.Path][p.Key()+"\x00"+p.PURL] {
				doc.Packages = append(doc.Packages, p)
			}
		}
		out[i] = Doc{Path: d.Path, Doc: &doc, Raw: d.Raw}
	}
	return out, nil
}
