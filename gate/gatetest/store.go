package gatetest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// FeedFiles are the bundled real feeds the tests match against (paths
// relative to the module root): GitHub advisories (Maven-heavy) and the
// CISA KEV catalog.
var FeedFiles = []string{"data/feeds/ghsa-osv-356-records-maven-heavy.json", "data/feeds/known_exploited_vulnerabilities.json"}

// Store opens a new SQLite store with the feeds imported; root is the
// module root (../.. from a package directory).
func Store(t testing.TB, root string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, f := range FeedFiles {
		Import(t, st, filepath.Join(root, f))
	}
	return st
}

// Import imports one feed file and re-matches what its delta touched, as
// `safeguard feed import` does.
func Import(t testing.TB, st *sqlite.Store, path string) {
	t.Helper()
	ctx := context.Background()
	b, err := feed.Load(path, feed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := store.FeedData{Source: path, Advisories: b.Advisories, KEV: b.KEV, KEVComplete: b.KEVComplete, EPSS: b.EPSS, At: Created,
		Scores: map[string]advisory.Scored{}, Hashes: map[string]string{}}
	for _, a := range b.Advisories {
		d.Scores[a.ID], d.Hashes[a.ID] = feed.Score(a), feed.ContentHash(a)
	}
	if _, err := st.ImportFeed(ctx, d); err != nil {
		t.Fatal(err)
	}
	scope, err := st.PendingRematch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(scope.Keys) > 0 {
		if _, err := vuln.Reconcile(ctx, st, scope, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := st.ClearPending(ctx, scope); err != nil {
			t.Fatal(err)
		}
	}
}

// Sink ingests SBOMs a crawl finds and matches them on arrival, as the
// CLI's crawl does.
type Sink struct{ St *sqlite.Store }

// IngestAttached implements registry.SBOMSink.
func (s Sink) IngestAttached(ctx context.Context, imageRef, subject string, raw []byte, source string) (int64, error) {
	doc, err := sbom.Decode(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", registry.ErrUnusableSBOM, source, err)
	}
	if len(doc.Packages) == 0 {
		return 0, fmt.Errorf("%w: %s: %w", registry.ErrUnusableSBOM, source, sbom.ErrNoPackages)
	}
	res, err := s.St.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: raw, Source: source, Image: imageRef, At: time.Now()})
	if err != nil {
		return 0, err
	}
	_, err = vuln.Reconcile(ctx, s.St, store.Scope{PackageIDs: res.PackageIDs, Cause: store.CauseNewImage}, time.Now())
	return res.SBOM.ID, err
}
