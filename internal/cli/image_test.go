package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

func fixedDigest(s string) string {
	return "sha256:" + s + strings.Repeat("0", 64-len(s))
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// baseStore builds a store as crawls would leave it: debian, node:20 of
// March and of July on it, an API image built on the March node, a
// squashed image, SBOMs for node and the API, and a Go feed.
func baseStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const node, debian = "docker.io/library/node", "docker.io/library/debian"
	l := func(n string) string { return fixedDigest("1a" + n) }
	imgs := []store.Image{
		{Digest: fixedDigest("de"), Repository: debian, DiffIDs: []string{l("1")}, Created: day("2026-02-20"), FirstSeen: day("2026-02-21")},
		{Digest: fixedDigest("0a"), Repository: node, DiffIDs: []string{l("1"), l("2"), l("3")}, Created: day("2026-03-01"), FirstSeen: day("2026-03-02")},
		{Digest: fixedDigest("0b"), Repository: node, DiffIDs: []string{l("1"), l("4"), l("5")}, Created: day("2026-07-02"), FirstSeen: day("2026-07-03")},
		{Digest: fixedDigest("ab"), Repository: "registry.example/apps/api", DiffIDs: []string{l("1"), l("2"), l("3"), l("6")}, Created: day("2026-04-10"), FirstSeen: day("2026-04-11")},
		{Digest: fixedDigest("5a"), Repository: "registry.example/apps/squashed", DiffIDs: []string{l("7")}, Created: day("2026-04-10"), FirstSeen: day("2026-04-11")},
	}
	for i := range imgs {
		imgs[i].OS, imgs[i].Architecture = "linux", "amd64"
		if err := st.RecordImage(ctx, imgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []store.TagObservation{
		{Repository: debian, Tag: "bookworm", Digest: imgs[0].Digest, At: day("2026-02-21")},
		{Repository: node, Tag: "20", Digest: imgs[1].Digest, At: day("2026-03-02")},
		{Repository: node, Tag: "latest", Digest: imgs[1].Digest, At: day("2026-03-02")},
		{Repository: node, Tag: "20", Digest: imgs[1].Digest, At: day("2026-07-01")},
		{Repository: node, Tag: "latest", Digest: imgs[1].Digest, At: day("2026-07-01")},
		{Repository: node, Tag: "20", Digest: imgs[2].Digest, At: day("2026-07-03")},
		{Repository: node, Tag: "latest", Digest: imgs[2].Digest, At: day("2026-07-03")},
		{Repository: imgs[3].Repository, Tag: "1", Digest: imgs[3].Digest, At: day("2026-04-11")},
		{Repository: imgs[4].Repository, Tag: "1", Digest: imgs[4].Digest, At: day("2026-04-11")},
	} {
		if _, err := st.RecordTag(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	pkg := func(name, version string) sbom.Package {
		return sbom.Package{PURL: "pkg:golang/" + name + "@" + version, Type: "golang", Ecosystem: "Go", Name: name, Version: version}
	}
	for _, in := range []struct {
		img  store.Image
		pkgs []sbom.Package
	}{
		{imgs[1], []sbom.Package{pkg("golang.org/x/net", "v0.7.0"), pkg("golang.org/x/text", "v0.3.0")}},
		{imgs[2], []sbom.Package{pkg("golang.org/x/net", "v0.9.0"), pkg("golang.org/x/text", "v0.3.5")}},
		{imgs[3], []sbom.Package{pkg("golang.org/x/net", "v0.7.0"), pkg("golang.org/x/text", "v0.3.0"), pkg("github.com/acme/lib", "v1.0.0")}},
	} {
		doc := &sbom.Document{Format: sbom.FormatSyftJSON, FormatVersion: "16.0.0", Packages: in.pkgs}
		if _, err := st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: []byte(in.img.Digest), Source: "attached", Image: in.img.Repository + "@" + in.img.Digest, At: day("2026-07-04")}); err != nil {
			t.Fatal(err)
		}
	}
	adv := func(id, name, fixed, severity string) advisory.Advisory {
		return advisory.Advisory{ID: id, Modified: day("2026-01-01"), Summary: "test advisory " + id,
			Affected: []advisory.Affected{{Package: advisory.Package{Ecosystem: "Go", Name: name},
				Ranges: []advisory.Range{{Type: advisory.RangeSemver, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fixed}}}}}}}
	}
	if _, err := st.ImportFeed(ctx, store.FeedData{Source: "osv", At: day("2026-07-04"), Advisories: []advisory.Advisory{
		adv("GO-2026-0001", "golang.org/x/net", "0.8.0", ""), adv("GO-2026-0002", "golang.org/x/text", "0.3.8", ""), adv("GO-2026-0003", "github.com/acme/lib", "1.1.0", "")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := vuln.Reconcile(ctx, st, store.Scope{Cause: store.CauseNewImage}, day("2026-07-04")); err != nil {
		t.Fatal(err)
	}
	if _, err := baseimage.Refresh(ctx, st, func(r string) bool { return strings.HasPrefix(r, "docker.io/library/") }, day("2026-07-04")); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestImageShow(t *testing.T) {
	db := baseStore(t)
	for _, format := range []string{"table", "json"} {
		code, out, errOut := run(t, "image", "show", "registry.example/apps/api:1", "--db", db, "--format", format)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		golden(t, "image-show-api."+format, out)
	}
	// The JSON carries the computed answers, not just the layout.
	_, out, _ := run(t, "image", "show", fixedDigest("ab"), "--db", db, "--format", "json")
	var v struct {
		Base struct {
			Chain    []baseimage.Link `json:"chain"`
			Outdated struct {
				RebuildRecommended bool `json:"rebuild_recommended"`
				Removes            []struct {
					Vulnerability string `json:"vulnerability"`
				} `json:"removes"`
			} `json:"outdated"`
		} `json:"base"`
		Findings []struct {
			Vulnerability string `json:"vulnerability"`
			InBase        *bool  `json:"in_base"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Base.Chain) != 2 || v.Base.Chain[0].Base.Tag != "20" || v.Base.Chain[1].Base.Tag != "bookworm" || !v.Base.Outdated.RebuildRecommended ||
		len(v.Base.Outdated.Removes) != 1 || v.Base.Outdated.Removes[0].Vulnerability != "GO-2026-0001" {
		t.Errorf("base = %+v", v.Base)
	}
	in := map[string]bool{}
	for _, f := range v.Findings {
		if f.InBase == nil {
			t.Fatalf("%s: in_base missing although the base has an SBOM", f.Vulnerability)
		}
		in[f.Vulnerability] = *f.InBase
	}
	if len(in) != 3 || !in["GO-2026-0001"] || !in["GO-2026-0002"] || in["GO-2026-0003"] {
		t.Errorf("in_base = %v", in)
	}
	// The short digest the images table prints names the same image.
	if code, short, errOut := run(t, "image", "show", fixedDigest("ab")[:19], "--db", db, "--format", "json"); code != ExitOK || short != out {
		t.Errorf("short digest: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "image", "show", "sha256:", "--db", db); code != ExitError || !strings.Contains(errOut, "give more of it") {
		t.Errorf("ambiguous short digest: exit %d %s", code, errOut)
	}
	// A squashed image: no base, said so; in_base unknown, not false.
	code, out, _ := run(t, "image", "show", "registry.example/apps/squashed:1", "--db", db)
	if code != ExitOK || !strings.Contains(out, baseimage.UnknownNote) {
		t.Errorf("squashed: %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"image", "show", "registry.example/apps/none:1"},
		{"image", "show", "sha256:" + strings.Repeat("f", 64)},
		{"image", "show", "bad ref"},
		{"image", "show", "registry.example/apps/api:1", "--format", "xml"},
	} {
		if code, _, errOut := run(t, append(args, "--db", db)...); code != ExitError || errOut == "" {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}

func TestImagesByBase(t *testing.T) {
	db := baseStore(t)
	code, out, errOut := run(t, "images", "--base", "node:latest", "--db", db)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "images-base-node-latest.table", out)
	count := func(args ...string) int {
		t.Helper()
		code, out, errOut := run(t, append([]string{"images", "--format", "json", "--db", db}, args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var v struct {
			Images []struct {
				Digest string `json:"digest"`
			} `json:"images"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return len(v.Images)
	}
	// node:latest then: the API image (built on March's node) — not the
	// July node, which is node:latest now but whose base is debian.
	if n := count("--base", "node:latest"); n != 1 {
		t.Errorf("--base node:latest: %d images", n)
	}
	if n := count("--base", "docker.io/library/node:20"); n != 1 {
		t.Errorf("--base docker.io/library/node:20: %d images", n)
	}
	// debian at any depth: node (both builds) and the API image.
	if n := count("--base", "debian:bookworm"); n != 3 {
		t.Errorf("--base debian:bookworm: %d images", n)
	}
	if n := count("--base", "node:21"); n != 0 {
		t.Errorf("--base node:21: %d images", n)
	}
	if n := count("--base", "node@"+fixedDigest("0a")); n != 1 {
		t.Errorf("--base by digest: %d images", n)
	}
	if n := count(); n != 5 {
		t.Errorf("no filter: %d images", n)
	}
	if code, _, errOut := run(t, "images", "--base", "node@sha256:xyz", "--db", db); code != ExitError || !strings.Contains(errOut, "--base") {
		t.Errorf("bad --base: %d %s", code, errOut)
	}
}
