package vuln

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// Catalog is what reconciling needs from a store.
type Catalog interface {
	MatchTargets(ctx context.Context, scope store.Scope) ([]store.MatchTarget, error)
	Candidates(ctx context.Context, keys []string) ([]Candidate, error)
	// ApplyMatches records matches computed at feed generation; it fails
	// with store.ErrStale when a feed import has changed it since.
	ApplyMatches(ctx context.Context, scope store.Scope, generation int64, evaluated []int64, rows []store.MatchRow, at time.Time) (store.MatchChanges, error)
	FeedGeneration(ctx context.Context) (int64, error)
}

// Summary reports one reconcile.
type Summary struct {
	Packages   int // distinct package versions evaluated
	Candidates int // affected entries considered
	Changes    store.MatchChanges
	Stats      Stats
}

// Reconcile re-matches the packages in scope against the advisories stored
// for their names and records the result. It works on distinct package
// versions; SBOMs share them, so the cost does not grow with image count.
func Reconcile(ctx context.Context, cat Catalog, scope store.Scope, at time.Time) (Summary, error) {
	// A feed import committing between our reads and our write would make
	// the result stale (and could resolve findings it just opened): start
	// over in that case. Imports are rare; a few attempts always suffice.
	for attempt := 1; ; attempt++ {
		sum, err := reconcileOnce(ctx, cat, scope, at)
		if errors.Is(err, store.ErrStale) && attempt < 10 {
			continue
		}
		return sum, err
	}
}

func reconcileOnce(ctx context.Context, cat Catalog, scope store.Scope, at time.Time) (Summary, error) {
	var sum Summary
	gen, err := cat.FeedGeneration(ctx)
	if err != nil {
		return sum, fmt.Errorf("reconcile: %w", err)
	}
	targets, err := cat.MatchTargets(ctx, scope)
	if err != nil {
		return sum, fmt.Errorf("reconcile: packages: %w", err)
	}
	sum.Packages = len(targets)
	if len(targets) == 0 {
		return sum, nil
	}
	keySet := map[string]bool{}
	for _, t := range targets {
		keySet[LookupKey(t.Ecosystem, t.Name)] = true
		if t.SourceName != "" {
			keySet[LookupKey(t.Ecosystem, t.SourceName)] = true
		}
	}
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	cands, err := cat.Candidates(ctx, keys)
	if err != nil {
		return sum, fmt.Errorf("reconcile: advisories: %w", err)
	}
	sum.Candidates = len(cands)
	ix := NewIndex()
	for _, c := range cands {
		ix.AddAffected(c.AdvisoryID, c.Affected)
	}
	var rows []store.MatchRow
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.ID
		res, st := ix.Match(Target{Ecosystem: t.Ecosystem, Release: t.Release, Name: t.Name, Version: t.Version,
			SourceName: t.SourceName, SourceVersion: t.SourceVersion})
		sum.Stats.Add(st)
		for _, r := range res {
			rows = append(rows, store.MatchRow{PackageID: t.ID, AdvisoryID: r.AdvisoryID, Fixed: r.Fixed, Via: r.Via})
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	sum.Changes, err = cat.ApplyMatches(ctx, scope, gen, ids, rows, at)
	if err != nil {
		return sum, fmt.Errorf("reconcile: record matches: %w", err)
	}
	return sum, nil
}
