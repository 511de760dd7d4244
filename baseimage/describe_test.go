package baseimage_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/report"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

func goPkg(name, version string) sbom.Package {
	return sbom.Package{PURL: "pkg:golang/" + name + "@" + version, Type: "golang", Ecosystem: "Go", Name: name, Version: version}
}

func fixedIn(id, name, fixed string) advisory.Advisory {
	return advisory.Advisory{ID: id, Modified: date("2026-01-01"), Affected: []advisory.Affected{{
		Package: advisory.Package{Ecosystem: "Go", Name: name},
		Ranges:  []advisory.Range{{Type: advisory.RangeSemver, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fixed}}}},
	}}}
}

func digestOf(s string) string {
	return "sha256:" + s + "0000000000000000000000000000000000000000000000000000000000000000"[len(s):]
}

// Through the real store: a base rebuilt with a fixed x/net, an app built
// on the old one. The rebuild would remove the x/net finding and keep the
// x/text one (still vulnerable in the new base); the app's own library is
// not from the base.
func TestDescribeOutdatedAndInBase(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const repo = "registry.example/base/go-runtime"
	oldBase := store.Image{Digest: digestOf("0b"), Repository: repo, OS: "linux", Architecture: "amd64", DiffIDs: []string{digestOf("1a")}, Created: date("2026-02-01"), FirstSeen: date("2026-02-02")}
	newBase := store.Image{Digest: digestOf("1b"), Repository: repo, OS: "linux", Architecture: "amd64", DiffIDs: []string{digestOf("2a")}, Created: date("2026-05-01"), FirstSeen: date("2026-05-02")}
	app := store.Image{Digest: digestOf("ab"), Repository: "registry.example/apps/api", OS: "linux", Architecture: "amd64",
		DiffIDs: []string{digestOf("1a"), digestOf("3a")}, Created: date("2026-03-01"), FirstSeen: date("2026-03-02")}
	for _, img := range []store.Image{oldBase, newBase, app} {
		if err := st.RecordImage(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []store.TagObservation{
		{Repository: repo, Tag: "1", Digest: oldBase.Digest, At: date("2026-02-02")},
		{Repository: repo, Tag: "1", Digest: oldBase.Digest, At: date("2026-04-30")},
		{Repository: repo, Tag: "1", Digest: newBase.Digest, At: date("2026-05-02")},
		{Repository: app.Repository, Tag: "1", Digest: app.Digest, At: date("2026-03-02")},
	} {
		if _, err := st.RecordTag(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	ingest := func(digest string, pkgs ...sbom.Package) {
		doc := &sbom.Document{Format: sbom.FormatSyftJSON, FormatVersion: "16.0.0", Packages: pkgs}
		if _, err := st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: []byte(digest), Source: "attached", Image: repo + "@" + digest, At: date("2026-05-03")}); err != nil {
			t.Fatal(err)
		}
	}
	ingest(oldBase.Digest, goPkg("golang.org/x/net", "v0.7.0"), goPkg("golang.org/x/text", "v0.3.0"))
	ingest(newBase.Digest, goPkg("golang.org/x/net", "v0.9.0"), goPkg("golang.org/x/text", "v0.3.5"))
	ingest(app.Digest, goPkg("golang.org/x/net", "v0.7.0"), goPkg("golang.org/x/text", "v0.3.0"), goPkg("github.com/acme/lib", "v1.0.0"))
	if _, err := st.ImportFeed(ctx, store.FeedData{Source: "osv", At: date("2026-05-03"), Advisories: []advisory.Advisory{
		fixedIn("GO-1", "golang.org/x/net", "0.8.0"), fixedIn("GO-2", "golang.org/x/text", "0.3.8"), fixedIn("GO-3", "github.com/acme/lib", "1.1.0")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := vuln.Reconcile(ctx, st, store.Scope{Cause: store.CauseNewImage}, date("2026-05-03")); err != nil {
		t.Fatal(err)
	}
	if _, err := baseimage.Refresh(ctx, st, func(r string) bool { return r == repo }, date("2026-05-03")); err != nil {
		t.Fatal(err)
	}

	d, err := baseimage.Describe(ctx, st, app)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Attributed || len(d.Chain) != 1 || d.Chain[0].Base.Digest != oldBase.Digest || d.Chain[0].Base.Tag != "1" || !d.BaseSBOM {
		t.Fatalf("description = %+v", d)
	}
	o := d.Outdated
	if o == nil || !o.RebuildRecommended || o.CurrentDigest != newBase.Digest || !o.RemovesKnown || len(o.Removes) != 1 || o.Removes[0].Vulnerability != "GO-1" {
		t.Fatalf("outdated = %+v", o)
	}
	// in_base on the app's findings, computed from the base's SBOM.
	fs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fs {
		if f.Image != repo+"@"+app.Digest {
			continue
		}
		v := d.InBase(f.Package)
		if v == nil {
			t.Fatalf("in_base unknown for %s although the base has an SBOM", f.AdvisoryID)
		}
		got[f.AdvisoryID] = *v
	}
	if len(got) != 3 || !got["GO-1"] || !got["GO-2"] || got["GO-3"] {
		t.Errorf("in_base = %v", got)
	}
	// The base itself has no known base: in_base is unknown, not false.
	d, err = baseimage.Describe(ctx, st, oldBase)
	if err != nil {
		t.Fatal(err)
	}
	if d.InBase(goPkg("golang.org/x/net", "v0.7.0")) != nil || d.Outdated != nil || d.Chain[0].Method != baseimage.MethodNone {
		t.Errorf("base description = %+v", d)
	}
	rf := report.NewFinding(fs[0])
	if rf.InBase != nil {
		t.Error("a finding's in_base is absent until a base says otherwise")
	}
}
