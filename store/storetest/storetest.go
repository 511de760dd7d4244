// Package storetest is the conformance suite every store backend must pass.
// It drives a backend through the vuln reconciler as the CLI and server do.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vuln"
)

// Backend is the store surface the suite exercises.
type Backend interface {
	vuln.Catalog
	IngestSBOM(ctx context.Context, in store.IngestInput) (store.IngestResult, error)
	ImportFeed(ctx context.Context, in store.FeedData) (store.FeedResult, error)
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	Counts(ctx context.Context) (store.Counts, error)
	SBOMs(ctx context.Context) ([]store.SBOM, error)
	Packages(ctx context.Context, sbomID int64) ([]sbom.Package, error)
	Document(ctx context.Context, digest string) ([]byte, error)
	Trajectory(ctx context.Context, sbomID int64) ([]store.TrajectoryPoint, error)
	FeedGeneration(ctx context.Context) (int64, error)
	RecordNewKEVEvents(ctx context.Context, at time.Time) ([]store.Event, error)
	ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error)
}

// Run runs the suite; open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("IngestStoresOnce", func(t *testing.T) { testIngest(t, open(t)) })
	t.Run("IngestIsAtomic", func(t *testing.T) { testIngestAtomic(t, open(t)) })
	t.Run("FeedDelta", func(t *testing.T) { testFeedDelta(t, open(t)) })
	t.Run("ReconcileLifecycle", func(t *testing.T) { testReconcile(t, open(t)) })
	t.Run("JoinsThroughAliases", func(t *testing.T) { testAliases(t, open(t)) })
	t.Run("KEVCatalogReplaced", func(t *testing.T) { testKEVReplace(t, open(t)) })
	t.Run("AliasGroups", func(t *testing.T) { testAliasGroups(t, open(t)) })
	t.Run("Trajectory", func(t *testing.T) { testTrajectory(t, open(t)) })
	t.Run("StaleReconcileRetried", func(t *testing.T) { testStaleReconcile(t, open(t)) })
	t.Run("ImageSBOMsByDigest", func(t *testing.T) { testImageSBOMs(t, open(t)) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func debDoc() *sbom.Document {
	return &sbom.Document{Format: sbom.FormatSyftJSON, FormatVersion: "16.0.0", Distro: &sbom.Distro{ID: "debian", VersionID: "12"},
		Packages: []sbom.Package{
			{PURL: "pkg:deb/debian/perl-base@5.36.0-7?distro=debian-12&upstream=perl", Type: "deb", Ecosystem: "Debian", Release: "12", Name: "perl-base", Version: "5.36.0-7", SourceName: "perl"},
			{PURL: "pkg:golang/golang.org/x/net@v0.7.0", Type: "golang", Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.7.0"},
		},
		Unidentified: []sbom.Unidentified{{Name: "app", Reason: "no purl"}},
	}
}

func rangeAdv(id, eco, name, fixed string, aliases ...string) advisory.Advisory {
	return advisory.Advisory{ID: id, Modified: t0, Aliases: aliases, Affected: []advisory.Affected{{
		Package: advisory.Package{Ecosystem: eco, Name: name},
		Ranges:  []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fixed}}}},
	}}}
}

// must unwraps a (value, error) pair; a failure panics, which fails the test
// with the error and its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testIngest(t *testing.T, s Backend) {
	ctx := context.Background()
	raw := []byte(`{"doc":1}`)
	r1 := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: raw, Source: "a.json", Image: "img:1", At: t0}))
	if r1.Existing || len(r1.PackageIDs) != 2 || r1.SBOM.Unidentified != 1 {
		t.Fatalf("first ingest: %+v", r1)
	}
	r2 := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: raw, Source: "a.json", Image: "img:1", At: t0}))
	if !r2.Existing || r2.SBOM.ID != r1.SBOM.ID {
		t.Fatalf("same document again must be found, got %+v", r2)
	}
	r3 := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: raw, Source: "a.json", Image: "img:2", At: t0}))
	if r3.Existing || r3.SBOM.ID == r1.SBOM.ID {
		t.Fatalf("same document for another image is a new SBOM, got %+v", r3)
	}
	c := must(s.Counts(ctx))
	if c.SBOMs != 2 || c.Packages != 2 {
		t.Fatalf("counts %+v: packages must be shared between SBOMs", c)
	}
	body := must(s.Document(ctx, r1.SBOM.Digest))
	if string(body) != string(raw) {
		t.Fatalf("document = %q", body)
	}
	pk := must(s.Packages(ctx, r1.SBOM.ID))
	if len(pk) != 2 || pk[0].SourceName != "perl" {
		t.Fatalf("packages = %+v", pk)
	}
}

func testIngestAtomic(t *testing.T, s Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("x"), Source: "x"}); err == nil {
		t.Fatal("ingest with a cancelled context must fail")
	}
	c := must(s.Counts(context.Background()))
	if c.SBOMs != 0 || c.Packages != 0 {
		t.Fatalf("failed ingest left rows: %+v", c)
	}
	if _, err := s.ImportFeed(ctx, store.FeedData{Source: "f", Advisories: []advisory.Advisory{rangeAdv("GO-1", "Go", "x", "1.0.0")}}); err == nil {
		t.Fatal("import with a cancelled context must fail")
	}
	if c := must(s.Counts(context.Background())); c.Advisories != 0 {
		t.Fatalf("failed import left rows: %+v", c)
	}
}

func testFeedDelta(t *testing.T, s Backend) {
	ctx := context.Background()
	a := rangeAdv("GO-1", "Go", "golang.org/x/net", "0.8.0")
	r := must(s.ImportFeed(ctx, store.FeedData{Source: "f1", Advisories: []advisory.Advisory{a, rangeAdv("GO-2", "Go", "golang.org/x/text", "0.3.8")}, At: t0}))
	if r.Added != 2 || len(r.Keys) != 2 {
		t.Fatalf("first import %+v", r)
	}
	r = must(s.ImportFeed(ctx, store.FeedData{Source: "f1", Advisories: []advisory.Advisory{a}, At: t0}))
	if r.Unchanged != 1 || len(r.Keys) != 0 {
		t.Fatalf("re-import of the same record must change nothing: %+v", r)
	}
	b := a
	b.Affected = []advisory.Affected{{Package: advisory.Package{Ecosystem: "Go", Name: "golang.org/x/crypto"},
		Ranges: []advisory.Range{{Type: "SEMVER", Events: []advisory.Event{{Introduced: "0"}}}}}}
	r = must(s.ImportFeed(ctx, store.FeedData{Source: "f1", Advisories: []advisory.Advisory{b}, At: t0}))
	if r.Changed != 1 || len(r.Keys) != 2 {
		t.Fatalf("changed record must touch its old and new packages: %+v", r)
	}
}

func testReconcile(t *testing.T, s Backend) {
	ctx := context.Background()
	in := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d"), Source: "d.json", At: t0}))
	must(s.ImportFeed(ctx, store.FeedData{Source: "f", At: t0, Advisories: []advisory.Advisory{
		rangeAdv("DSA-1", "Debian:12", "perl", "5.36.0-8"),
		rangeAdv("DSA-2", "Debian:11", "perl", "5.36.0-8"), // another release: never
		rangeAdv("GO-1", "Go", "golang.org/x/net", "0.8.0"),
	}}))
	t1 := t0.Add(time.Hour)
	sum := must(vuln.Reconcile(ctx, s, store.Scope{}, t1))
	if sum.Changes.Opened != 2 {
		t.Fatalf("reconcile %+v", sum)
	}
	fs := must(s.Findings(ctx, store.FindingFilter{}))
	if len(fs) != 2 {
		t.Fatalf("findings %+v", fs)
	}
	for _, f := range fs {
		if f.AdvisoryID == "DSA-1" && (f.Via != "source" || len(f.Fixed) != 1 || f.Fixed[0] != "5.36.0-8") {
			t.Errorf("DSA-1 finding %+v", f)
		}
		if !f.FirstSeen.Equal(t1) || f.Source != "d.json" {
			t.Errorf("finding %s first_seen %v source %q", f.AdvisoryID, f.FirstSeen, f.Source)
		}
	}
	// Withdraw GO-1: a delta reconcile resolves it.
	w := rangeAdv("GO-1", "Go", "golang.org/x/net", "0.8.0")
	wt := t1
	w.Withdrawn = &wt
	d := must(s.ImportFeed(ctx, store.FeedData{Source: "f", Advisories: []advisory.Advisory{w}, At: t1}))
	if d.Withdrawn != 1 || len(d.Keys) != 1 {
		t.Fatalf("withdraw delta %+v", d)
	}
	t2 := t1.Add(time.Hour)
	sum = must(vuln.Reconcile(ctx, s, store.Scope{Keys: d.Keys}, t2))
	if sum.Packages != 1 || sum.Changes.Resolved != 1 {
		t.Fatalf("delta reconcile %+v", sum)
	}
	if fs := must(s.Findings(ctx, store.FindingFilter{})); len(fs) != 1 || fs[0].AdvisoryID != "DSA-1" {
		t.Fatalf("open findings after withdraw: %+v", fs)
	}
	all := must(s.Findings(ctx, store.FindingFilter{IncludeResolved: true}))
	resolved := 0
	for _, f := range all {
		if f.ResolvedAt != nil && f.ResolvedAt.Equal(t2) {
			resolved++
		}
	}
	if resolved != 1 {
		t.Fatalf("resolved findings: %+v", all)
	}
	// A new SBOM holding the same package sees the match from its arrival.
	t3 := t2.Add(time.Hour)
	in2 := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d2"), Source: "d2.json", At: t3}))
	must(vuln.Reconcile(ctx, s, store.Scope{PackageIDs: in2.PackageIDs}, t3))
	fs = must(s.Findings(ctx, store.FindingFilter{SBOMIDs: []int64{in2.SBOM.ID}}))
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(t3) {
		t.Fatalf("findings of the second SBOM: %+v", fs)
	}
	_ = in
}

func testAliases(t *testing.T, s Backend) {
	ctx := context.Background()
	must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d"), Source: "d.json", At: t0}))
	goAdv := rangeAdv("GO-2023-1", "Go", "golang.org/x/net", "0.8.0", "CVE-2023-1", "GHSA-aaaa-bbbb-cccc")
	ghsa := rangeAdv("GHSA-aaaa-bbbb-cccc", "Maven", "unrelated:thing", "1.0", "CVE-2023-1")
	must(s.ImportFeed(ctx, store.FeedData{Source: "f", At: t0, Advisories: []advisory.Advisory{goAdv, ghsa},
		Scores: map[string]advisory.Scored{"GHSA-aaaa-bbbb-cccc": {Rating: advisory.RatingCritical, Score: 9.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "CVSS_V3"}},
		KEV:    []advisory.KEV{{CVE: "CVE-2023-1", DateAdded: "2023-05-01"}},
		EPSS:   []advisory.EPSS{{CVE: "CVE-2023-1", Score: 0.91, Percentile: 0.99}},
	}))
	must(vuln.Reconcile(ctx, s, store.Scope{}, t0))
	fs := must(s.Findings(ctx, store.FindingFilter{KEV: true, MinSeverity: advisory.RatingCritical}))
	if len(fs) != 1 {
		t.Fatalf("KEV critical findings: %+v", fs)
	}
	f := fs[0]
	if f.AdvisoryID != "GO-2023-1" || !f.KEV || f.KEVDateAdded != "2023-05-01" || f.Severity != advisory.RatingCritical ||
		f.SeverityFrom != "GHSA-aaaa-bbbb-cccc" || f.CVSSScore != 9.8 || f.EPSS == nil || *f.EPSS != 0.91 || len(f.Aliases) != 2 {
		t.Fatalf("finding %+v", f)
	}
	// A KEV finding is announced once.
	if evs := must(s.RecordNewKEVEvents(ctx, t0)); len(evs) != 1 || evs[0].Kind != store.EventNewKEV {
		t.Fatalf("new KEV events %+v", evs)
	}
	if evs := must(s.RecordNewKEVEvents(ctx, t0)); len(evs) != 0 {
		t.Fatalf("KEV finding announced twice: %+v", evs)
	}
}

func testKEVReplace(t *testing.T, s Backend) {
	ctx := context.Background()
	r := must(s.ImportFeed(ctx, store.FeedData{Source: "kev", KEVComplete: true, KEV: []advisory.KEV{{CVE: "CVE-1"}, {CVE: "CVE-2"}}}))
	if r.KEVAdded != 2 {
		t.Fatalf("%+v", r)
	}
	r = must(s.ImportFeed(ctx, store.FeedData{Source: "kev", KEVComplete: true, KEV: []advisory.KEV{{CVE: "CVE-2"}, {CVE: "CVE-3"}}}))
	if r.KEVAdded != 1 || r.KEVRemoved != 1 {
		t.Fatalf("%+v", r)
	}
	if c := must(s.Counts(ctx)); c.KEV != 2 {
		t.Fatalf("kev count %d", c.KEV)
	}
}

func testAliasGroups(t *testing.T, s Backend) {
	ctx := context.Background()
	must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d"), Source: "d.json", At: t0}))
	// The same vulnerability from the Go database and from GitHub, plus an
	// unrelated one: two findings, not three.
	goAdv := rangeAdv("GO-2023-2102", "Go", "golang.org/x/net", "0.17.0", "CVE-2023-39325", "GHSA-4374-p667-p6c8")
	gh := rangeAdv("GHSA-4374-p667-p6c8", "Go", "golang.org/x/net", "0.17.0", "CVE-2023-39325")
	other := rangeAdv("GO-2024-2687", "Go", "golang.org/x/net", "0.23.0", "CVE-2023-45288")
	must(s.ImportFeed(ctx, store.FeedData{Source: "f", At: t0, Advisories: []advisory.Advisory{goAdv, gh, other},
		Scores: map[string]advisory.Scored{"GHSA-4374-p667-p6c8": {Rating: advisory.RatingHigh, Score: 7.5}}}))
	must(vuln.Reconcile(ctx, s, store.Scope{}, t0))
	fs := must(s.Findings(ctx, store.FindingFilter{}))
	if len(fs) != 2 {
		t.Fatalf("want 2 grouped findings, got %d: %+v", len(fs), fs)
	}
	var g store.Finding
	for _, f := range fs {
		if f.AdvisoryID == "GO-2023-2102" {
			g = f
		}
	}
	if g.Severity != advisory.RatingHigh || len(g.Aliases) != 2 || g.Aliases[0] != "CVE-2023-39325" || g.Aliases[1] != "GHSA-4374-p667-p6c8" {
		t.Fatalf("grouped finding %+v", g)
	}
	if fs := must(s.Findings(ctx, store.FindingFilter{MinSeverity: advisory.RatingHigh})); len(fs) != 1 {
		t.Fatalf("severity filter on groups: %+v", fs)
	}
}

// Inventory is the registry-inventory surface of a backend.
type Inventory interface {
	CurrentTags(ctx context.Context, repository string) (map[string]string, error)
	HasImage(ctx context.Context, digest string) (bool, error)
	RecordImage(ctx context.Context, img store.Image) error
	RecordTag(ctx context.Context, obs store.TagObservation) (*store.Event, error)
	RemoveTagsExcept(ctx context.Context, repository string, present []string, at time.Time) ([]store.Event, error)
	RecordReferrer(ctx context.Context, r store.Referrer) error
	HasReferrer(ctx context.Context, subject, digest string) (bool, error)
	TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error)
	Tags(ctx context.Context, digest string) ([]string, error)
}

// RunInventory runs the inventory part of the suite.
func RunInventory(t *testing.T, open func(t *testing.T) Inventory) {
	t.Run("TagHistoryAndMoves", func(t *testing.T) { testTagHistory(t, open(t)) })
	t.Run("ImagesAndReferrersOnce", func(t *testing.T) { testImagesOnce(t, open(t)) })
}

func testTagHistory(t *testing.T, s Inventory) {
	ctx := context.Background()
	repo := "registry.example/acme/app"
	obs := func(tag, digest string, at time.Time) *store.Event {
		return must(s.RecordTag(ctx, store.TagObservation{Repository: repo, Tag: tag, Digest: digest, At: at}))
	}
	if ev := obs("latest", "sha256:aaa", t0); ev != nil {
		t.Fatalf("first sighting is not a move: %+v", ev)
	}
	if ev := obs("latest", "sha256:aaa", t0.Add(time.Hour)); ev != nil {
		t.Fatalf("unchanged tag moved: %+v", ev)
	}
	ev := obs("latest", "sha256:bbb", t0.Add(2*time.Hour))
	if ev == nil || ev.Kind != store.EventTagMoved || ev.OldDigest != "sha256:aaa" || ev.Digest != "sha256:bbb" {
		t.Fatalf("moved tag event: %+v", ev)
	}
	obs("v1", "sha256:aaa", t0)
	cur := must(s.CurrentTags(ctx, repo))
	if len(cur) != 2 || cur["latest"] != "sha256:bbb" || cur["v1"] != "sha256:aaa" {
		t.Fatalf("current tags %v", cur)
	}
	hist := must(s.TagHistory(ctx, repo, "latest"))
	if len(hist) != 2 || !hist[0].Current || hist[0].Digest != "sha256:bbb" || hist[1].Current ||
		!hist[1].LastObserved.Equal(t0.Add(time.Hour)) {
		t.Fatalf("history %+v", hist)
	}
	gone := must(s.RemoveTagsExcept(ctx, repo, []string{"latest"}, t0.Add(3*time.Hour)))
	if len(gone) != 1 || gone[0].Tag != "v1" || gone[0].Kind != store.EventTagDeleted {
		t.Fatalf("deleted tags %+v", gone)
	}
	if cur := must(s.CurrentTags(ctx, repo)); len(cur) != 1 {
		t.Fatalf("after delete %v", cur)
	}
	// Re-created pointing elsewhere: that is a move too.
	if ev := obs("v1", "sha256:ccc", t0.Add(4*time.Hour)); ev == nil || ev.OldDigest != "sha256:aaa" {
		t.Fatalf("re-created tag: %+v", ev)
	}
}

func testImagesOnce(t *testing.T, s Inventory) {
	ctx := context.Background()
	img := store.Image{Digest: "sha256:m1", Repository: "r.example/a", IndexDigest: "sha256:i1", MediaType: "application/vnd.oci.image.manifest.v1+json",
		OS: "linux", Architecture: "amd64", Created: t0, DiffIDs: []string{"sha256:l1", "sha256:l2"}, Labels: map[string]string{"a": "b"}, FirstSeen: t0}
	if err := s.RecordImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordImage(ctx, img); err != nil {
		t.Fatalf("recording again must be a no-op: %v", err)
	}
	if !must(s.HasImage(ctx, "sha256:m1")) || must(s.HasImage(ctx, "sha256:nope")) {
		t.Fatal("HasImage")
	}
	must(s.RecordTag(ctx, store.TagObservation{Repository: "r.example/a", Tag: "1.0", Digest: "sha256:i1", At: t0}))
	if tags := must(s.Tags(ctx, "sha256:m1")); len(tags) != 1 || tags[0] != "r.example/a:1.0" {
		t.Fatalf("a platform image is tagged through its index: %v", tags)
	}
	r := store.Referrer{Repository: "r.example/a", Subject: "sha256:m1", Digest: "sha256:s1", Kind: store.KindSBOM, FoundVia: "referrers-api", At: t0}
	for i := 0; i < 2; i++ {
		if err := s.RecordReferrer(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if !must(s.HasReferrer(ctx, "sha256:m1", "sha256:s1")) {
		t.Fatal("HasReferrer")
	}
}

// reconcileFeed imports a feed and re-matches its delta as the CLI does.
func reconcileFeed(t *testing.T, s Backend, at time.Time, advs ...advisory.Advisory) {
	ctx := context.Background()
	r := must(s.ImportFeed(ctx, store.FeedData{Source: "f", At: at, Advisories: advs}))
	must(vuln.Reconcile(ctx, s, store.Scope{Keys: r.Keys, AdvisoryCauses: r.Causes}, at))
}

func testTrajectory(t *testing.T, s Backend) {
	ctx := context.Background()
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	reconcileFeed(t, s, t0, rangeAdv("GO-1", "Go", "golang.org/x/net", "0.8.0"))
	in := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d"), Source: "d.json", At: t1}))
	must(vuln.Reconcile(ctx, s, store.Scope{PackageIDs: in.PackageIDs, Cause: store.CauseNewImage}, t1))
	reconcileFeed(t, s, t2, rangeAdv("DSA-1", "Debian:12", "perl", "5.36.0-8"))
	w := rangeAdv("GO-1", "Go", "golang.org/x/net", "0.8.0")
	w.Withdrawn = &t3
	reconcileFeed(t, s, t3, w)
	pts := must(s.Trajectory(ctx, in.SBOM.ID))
	if len(pts) != 3 {
		t.Fatalf("want 3 points (arrival, new advisory, withdrawal), got %+v", pts)
	}
	want := []struct {
		at    time.Time
		total int
		cause string
		delta int
	}{{t1, 1, store.CauseNewImage, 1}, {t2, 2, store.CauseNewAdvisory, 1}, {t3, 1, store.CauseAdvisoryWithdrawn, -1}}
	for i, w := range want {
		p := pts[i]
		if !p.At.Equal(w.at) || p.Total != w.total || p.Changes[w.cause] != w.delta {
			t.Errorf("point %d = %+v, want at %v total %d %s %+d", i, p, w.at, w.total, w.cause, w.delta)
		}
	}
}

// racingCatalog commits a feed import right after the reconcile has read
// its candidates, as a concurrent process would.
type racingCatalog struct {
	Backend
	t     *testing.T
	fired bool
	adv   advisory.Advisory
}

func (r *racingCatalog) Candidates(ctx context.Context, keys []string) ([]vuln.Candidate, error) {
	c, err := r.Backend.Candidates(ctx, keys)
	if !r.fired {
		r.fired = true
		must(r.Backend.ImportFeed(ctx, store.FeedData{Source: "racing", At: t0, Advisories: []advisory.Advisory{r.adv}}))
	}
	return c, err
}

func testStaleReconcile(t *testing.T, s Backend) {
	ctx := context.Background()
	in := must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("d"), Source: "d.json", At: t0}))
	rc := &racingCatalog{Backend: s, t: t, adv: rangeAdv("GO-9", "Go", "golang.org/x/net", "0.8.0")}
	must(vuln.Reconcile(ctx, rc, store.Scope{PackageIDs: in.PackageIDs}, t0))
	if !rc.fired {
		t.Fatal("the racing import did not happen")
	}
	if fs := must(s.Findings(ctx, store.FindingFilter{})); len(fs) != 1 || fs[0].AdvisoryID != "GO-9" {
		t.Fatalf("a reconcile that raced an import wrote a stale result: %+v", fs)
	}
}

// An image's SBOMs are found by the digest its reference names, whether it
// was stored as repo@digest or as the bare digest; tags and other digests
// (one a prefix of the other) do not match.
func testImageSBOMs(t *testing.T, s Backend) {
	ctx := context.Background()
	d1 := "sha256:" + strings.Repeat("1", 64)
	d2 := "sha256:" + strings.Repeat("2", 64)
	for i, image := range []string{"registry.example/app@" + d1, d1, "registry.example/app:1.0", "registry.example/other@" + d2, d1[:20]} {
		raw := []byte(fmt.Sprintf(`{"n":%d}`, i))
		must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: raw, Source: fmt.Sprintf("s%d.json", i), Image: image, At: t0}))
	}
	got := must(s.ImageSBOMs(ctx, d1))
	if len(got) != 2 || got[0].Image != "registry.example/app@"+d1 || got[1].Image != d1 {
		t.Errorf("SBOMs of %s: %+v", d1, got)
	}
	if got := must(s.ImageSBOMs(ctx, d2)); len(got) != 1 {
		t.Errorf("SBOMs of %s: %+v", d2, got)
	}
	if got := must(s.ImageSBOMs(ctx, "sha256:"+strings.Repeat("3", 64))); len(got) != 0 {
		t.Errorf("SBOMs of an unknown digest: %+v", got)
	}
}
