package baseimage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// sha returns a realistic sha256 digest for a layer or manifest name.
func sha(name string) string {
	s := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(s[:])
}

func layers(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = sha("layer:" + n)
	}
	return out
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	debianRepo = "docker.io/library/debian"
	nodeRepo   = "docker.io/library/node"
)

// catalogue: debian:bookworm, node:20 on it (March build and its July
// rebuild on a refreshed debian), python on debian, alpine.
func fixture() []Candidate {
	return []Candidate{
		{Digest: sha("debian-march"), IndexDigest: sha("debian-march-index"), Repository: debianRepo, DiffIDs: layers("deb1"), Created: day("2026-02-20"), FirstSeen: day("2026-02-21"), Preferred: true,
			Tags: []TagAt{{Tag: "bookworm", From: day("2026-02-21"), To: day("2026-06-30")}, {Tag: "latest", From: day("2026-02-21"), To: day("2026-06-30")}}},
		{Digest: sha("debian-july"), Repository: debianRepo, DiffIDs: layers("deb2"), Created: day("2026-06-30"), FirstSeen: day("2026-07-01"), Preferred: true,
			Tags: []TagAt{{Tag: "bookworm", From: day("2026-07-01")}, {Tag: "latest", From: day("2026-07-01")}}},
		{Digest: sha("node-march"), IndexDigest: sha("node-march-index"), Repository: nodeRepo, DiffIDs: layers("deb1", "node-march-a", "node-march-b"), Created: day("2026-03-01"), FirstSeen: day("2026-03-02"), Preferred: true,
			Tags: []TagAt{{Tag: "20", From: day("2026-03-02"), To: day("2026-07-03")}, {Tag: "latest", From: day("2026-03-02"), To: day("2026-07-03")}}},
		{Digest: sha("node-july"), IndexDigest: sha("node-july-index"), Repository: nodeRepo, DiffIDs: layers("deb2", "node-july-a", "node-july-b"), Created: day("2026-07-02"), FirstSeen: day("2026-07-03"), Preferred: true,
			Tags: []TagAt{{Tag: "20", From: day("2026-07-03")}, {Tag: "latest", From: day("2026-07-03")}}},
		{Digest: sha("python-march"), Repository: "docker.io/library/python", DiffIDs: layers("deb1", "py-a", "py-b", "py-c"), Created: day("2026-03-05"), FirstSeen: day("2026-03-06"), Preferred: true,
			Tags: []TagAt{{Tag: "3.12", From: day("2026-03-06")}}},
		{Digest: sha("alpine"), Repository: "docker.io/library/alpine", DiffIDs: layers("alpine-3.19"), Created: day("2026-01-10"), FirstSeen: day("2026-01-11"), Preferred: true,
			Tags: []TagAt{{Tag: "3.19", From: day("2026-01-11")}}},
	}
}

func img(name string, created time.Time, diffIDs []string) store.Image {
	return store.Image{Digest: sha(name), Repository: "registry.corp.example/apps/" + name, Created: created, FirstSeen: created.Add(time.Hour), DiffIDs: diffIDs}
}

func TestImageOnBase(t *testing.T) {
	cat := NewCatalog(fixture())
	im := img("api", day("2026-04-10"), layers("deb1", "node-march-a", "node-march-b", "app-deps", "app-code"))
	chain := Attribute(im, nil, cat)
	if len(chain) != 2 {
		t.Fatalf("chain = %+v", chain)
	}
	l := chain[0]
	if l.Base.Digest != sha("node-march") || l.Base.Repository != nodeRepo || l.Method != MethodLayers || l.Confidence != High || l.SharedLayers != 3 {
		t.Errorf("link 0 = %+v", l)
	}
	// The most specific tag it carried then is shown; all of them are kept.
	if l.Base.Tag != "20" || len(l.Base.Tags) != 2 {
		t.Errorf("tags = %q %v", l.Base.Tag, l.Base.Tags)
	}
	if chain[1].Base.Digest != sha("debian-march") || chain[1].Base.Tag != "bookworm" || chain[1].SharedLayers != 1 {
		t.Errorf("link 1 = %+v", chain[1])
	}
}

func TestChainOfThree(t *testing.T) {
	cands := fixture()
	// The company's own node base, on node:20 of March, is catalogued too.
	cands = append(cands, Candidate{Digest: sha("corp-node"), Repository: "registry.corp.example/base/node", DiffIDs: layers("deb1", "node-march-a", "node-march-b", "corp-ca"),
		Created: day("2026-03-10"), FirstSeen: day("2026-03-10"), Tags: []TagAt{{Tag: "20-corp", From: day("2026-03-10")}}})
	im := img("web", day("2026-05-01"), layers("deb1", "node-march-a", "node-march-b", "corp-ca", "web-deps", "web-code"))
	chain := Attribute(im, nil, NewCatalog(cands))
	want := []string{sha("corp-node"), sha("node-march"), sha("debian-march")}
	if len(chain) != len(want) {
		t.Fatalf("chain = %+v", chain)
	}
	for i, w := range want {
		if chain[i].Base.Digest != w || chain[i].Method != MethodLayers || chain[i].Confidence != High {
			t.Errorf("link %d = %+v, want %s", i, chain[i], w)
		}
	}
	if chain[0].SharedLayers != 4 || chain[1].SharedLayers != 3 || chain[2].SharedLayers != 1 {
		t.Errorf("shared layers %d %d %d", chain[0].SharedLayers, chain[1].SharedLayers, chain[2].SharedLayers)
	}
}

// node:latest of March is not node:latest of July: the old image keeps its
// old base and the tag it had then, and is told to rebuild.
func TestRebuiltBase(t *testing.T) {
	cat := NewCatalog(fixture())
	old := img("billing", day("2026-03-20"), layers("deb1", "node-march-a", "node-march-b", "billing"))
	cur := img("billing-new", day("2026-08-01"), layers("deb2", "node-july-a", "node-july-b", "billing"))
	oc, nc := Attribute(old, nil, cat), Attribute(cur, nil, cat)
	if oc[0].Base.Digest != sha("node-march") || !contains(oc[0].Base.Tags, "latest") {
		t.Errorf("old = %+v", oc[0])
	}
	if nc[0].Base.Digest != sha("node-july") || !contains(nc[0].Base.Tags, "latest") {
		t.Errorf("new = %+v", nc[0])
	}
	history := []store.TagRecord{
		{Repository: nodeRepo, Tag: "20", Digest: sha("node-march-index"), FirstObserved: day("2026-03-02"), LastObserved: day("2026-07-02")},
		{Repository: nodeRepo, Tag: "20", Digest: sha("node-july-index"), PreviousDigest: sha("node-march-index"), FirstObserved: day("2026-07-03"), LastObserved: day("2026-08-10"), Current: true},
		{Repository: nodeRepo, Tag: "latest", Digest: sha("node-march-index"), FirstObserved: day("2026-03-02"), LastObserved: day("2026-07-02")},
		{Repository: nodeRepo, Tag: "latest", Digest: sha("node-july-index"), FirstObserved: day("2026-07-03"), LastObserved: day("2026-08-10"), Current: true},
	}
	o := Outdated(oc[0], history)
	if !o.RebuildRecommended || o.CurrentDigest != sha("node-july-index") || o.Tag != "20" || len(o.MovedTags) != 1 || o.MovedTags[0] != "latest" {
		t.Errorf("outdated = %+v", o)
	}
	// The new image's base is current (the tag points at its index).
	if o := Outdated(nc[0], history); o.RebuildRecommended {
		t.Errorf("new image outdated: %+v", o)
	}
	// Without the base repository's history nothing is claimed either way.
	if o := Outdated(oc[0], nil); o.RebuildRecommended || o.Note == "" || o.Note == "the tag no longer exists" {
		t.Errorf("uncrawled base = %+v", o)
	}
	// A tag that was deleted is said so.
	gone := []store.TagRecord{{Repository: nodeRepo, Tag: "lts", Digest: sha("x"), Current: true}}
	if o := Outdated(oc[0], gone); o.RebuildRecommended || o.Note != "the tag no longer exists" {
		t.Errorf("deleted tag = %+v", o)
	}
}

// A byte-identical re-push of node under another name (same manifest
// digest, and a mirror rebuilt with the same layers but a new manifest).
func TestRepushedCopy(t *testing.T) {
	cands := fixture()
	cands = append(cands,
		// Same digest, another repository: seen later, not a configured base.
		Candidate{Digest: sha("node-march"), Repository: "registry.corp.example/mirror/node", DiffIDs: layers("deb1", "node-march-a", "node-march-b"),
			FirstSeen: day("2026-03-15"), Tags: []TagAt{{Tag: "20", From: day("2026-03-15")}}},
		// Same layers, another manifest digest (re-pushed with another tool).
		Candidate{Digest: sha("node-march-copy"), Repository: "registry.corp.example/team-a/node", DiffIDs: layers("deb1", "node-march-a", "node-march-b"),
			FirstSeen: day("2026-03-16"), Tags: []TagAt{{Tag: "lts", From: day("2026-03-16")}}},
	)
	cat := NewCatalog(cands)
	im := img("api", day("2026-04-10"), layers("deb1", "node-march-a", "node-march-b", "app"))
	l := Attribute(im, nil, cat)[0]
	if l.Base.Repository != nodeRepo || l.Base.Digest != sha("node-march") || l.Confidence != High {
		t.Errorf("link = %+v", l)
	}
	if len(l.Alternatives) != 2 {
		t.Errorf("copies should be listed: %v", l.Alternatives)
	}
	// The copy itself is attributed to the original as identical content,
	// and its chain continues with the original's base.
	// The original is not based on its copies: its base is debian.
	orig := store.Image{Digest: sha("node-march"), Repository: "registry.corp.example/mirror/node", DiffIDs: layers("deb1", "node-march-a", "node-march-b"), Created: day("2026-03-01")}
	if c := Attribute(orig, nil, cat); len(c) != 1 || c[0].Identical || c[0].Base.Digest != sha("debian-march") {
		t.Errorf("original chain = %+v", c)
	}
	cp := store.Image{Digest: sha("node-march-copy"), Repository: "registry.corp.example/team-a/node", DiffIDs: layers("deb1", "node-march-a", "node-march-b"), Created: day("2026-03-01")}
	chain := Attribute(cp, nil, cat)
	if len(chain) != 2 || !chain[0].Identical || chain[0].Base.Digest != sha("node-march") || chain[0].Base.Repository != nodeRepo || chain[1].Base.Digest != sha("debian-march") {
		t.Errorf("copy chain = %+v", chain)
	}
}

// The same content under two names with nothing to tell the original.
func TestTieAmbiguous(t *testing.T) {
	seen := day("2026-03-01")
	cands := []Candidate{
		{Digest: sha("a"), Repository: "mirror-a.example/node", DiffIDs: layers("x", "y"), FirstSeen: seen, Preferred: true},
		{Digest: sha("b"), Repository: "mirror-b.example/node", DiffIDs: layers("x", "y"), FirstSeen: seen, Preferred: true},
	}
	l := Attribute(img("svc", day("2026-04-01"), layers("x", "y", "svc")), nil, NewCatalog(cands))[0]
	if l.Confidence != Ambiguous || len(l.Alternatives) != 1 || l.Base.Repository != "mirror-a.example/node" {
		t.Errorf("tie = %+v", l)
	}
	// First seen breaks it.
	cands[1].FirstSeen = seen.Add(-time.Hour)
	l = Attribute(img("svc", day("2026-04-01"), layers("x", "y", "svc")), nil, NewCatalog(cands))[0]
	if l.Confidence != High || l.Base.Repository != "mirror-b.example/node" || len(l.Alternatives) != 1 {
		t.Errorf("first seen = %+v", l)
	}
}

func TestSquashed(t *testing.T) {
	chain := Attribute(img("squashed", day("2026-04-01"), layers("everything")), nil, NewCatalog(fixture()))
	if len(chain) != 1 || chain[0].Method != MethodNone || chain[0].Confidence != Unknown || chain[0].Base.Digest != "" {
		t.Fatalf("chain = %+v", chain)
	}
	if got := chain[0].Note; len(got) < len(UnknownNote) || got[:len(UnknownNote)] != UnknownNote {
		t.Errorf("note = %q", got)
	}
	// An image identical to nothing and sharing no bottom layer: same answer.
	if c := Attribute(img("other", day("2026-04-01"), layers("a", "b")), nil, NewCatalog(fixture())); c[0].Method != MethodNone {
		t.Errorf("uncatalogued = %+v", c)
	}
	// A base image itself, catalogued, is not its own base.
	self := store.Image{Digest: sha("alpine"), Repository: "docker.io/library/alpine", DiffIDs: layers("alpine-3.19")}
	if c := Attribute(self, nil, NewCatalog(fixture())); c[0].Method != MethodNone {
		t.Errorf("self = %+v", c)
	}
}

func TestAnnotation(t *testing.T) {
	cat := NewCatalog(fixture())
	im := img("api", day("2026-04-10"), layers("deb1", "node-march-a", "node-march-b", "app"))
	// buildx writes the index digest and the name as written in FROM.
	im.Annotations = map[string]string{AnnotationBaseName: "node:latest", AnnotationBaseDigest: sha("node-march-index")}
	chain := Attribute(im, nil, cat)
	l := chain[0]
	if l.Method != MethodAnnotation || l.Confidence != Certain || l.Base.Digest != sha("node-march") || l.Base.Tag != "latest" || l.SharedLayers != 3 {
		t.Errorf("annotation = %+v", l)
	}
	if len(chain) != 2 || chain[1].Method != MethodLayers {
		t.Errorf("chain = %+v", chain)
	}
	// Not catalogued: reported as declared, high, not certain.
	im.Annotations = map[string]string{AnnotationBaseName: "ghcr.io/acme/base:1", AnnotationBaseDigest: sha("acme-base")}
	l = Attribute(im, nil, cat)[0]
	if l.Method != MethodAnnotation || l.Confidence != High || l.Base.Repository != "ghcr.io/acme/base" || l.Base.Tag != "1" {
		t.Errorf("uncatalogued annotation = %+v", l)
	}
	// Contradicted by the layers: a guess, with the layer match beside it.
	im.Annotations = map[string]string{AnnotationBaseDigest: sha("alpine")}
	l = Attribute(im, nil, cat)[0]
	if l.Confidence != Guess || len(l.Alternatives) != 1 {
		t.Errorf("contradicted annotation = %+v", l)
	}
	// Naming an ancestor further down (debian, under the node the image is
	// built on) is not the nearest base: the layers name node, and the
	// annotation is no certainty about it. Otherwise an image built on any
	// intermediate could claim an approved base beneath it.
	im.Annotations = map[string]string{AnnotationBaseName: "debian:bookworm", AnnotationBaseDigest: sha("debian-march")}
	chain = Attribute(im, nil, cat)
	if l := chain[0]; l.Base.Digest != sha("node-march") || l.Confidence == Certain || l.Method != MethodLayers {
		t.Errorf("annotation naming an ancestor = %+v", l)
	}
	if len(chain) != 2 || chain[1].Base.Digest != sha("debian-march") {
		t.Errorf("chain under an annotated ancestor = %+v", chain)
	}
	// A name without a digest resolves through the tag history at build time.
	im.Annotations = map[string]string{AnnotationBaseName: "docker.io/library/node:20"}
	l = Attribute(im, nil, cat)[0]
	if l.Method != MethodAnnotation || l.Base.Digest != sha("node-march") || l.Base.Tag != "20" {
		t.Errorf("name only = %+v", l)
	}
}

func TestProvenance(t *testing.T) {
	cat := NewCatalog(fixture())
	im := img("api", day("2026-04-10"), layers("deb1", "node-march-a", "node-march-b", "app"))
	mats := []Material{
		{URI: "git+https://github.com/acme/api@refs/heads/main", Digest: "sha1:0123456789abcdef0123456789abcdef01234567"},
		{URI: "pkg:docker/golang@1.22?platform=linux%2Famd64", Digest: sha("golang-builder")}, // build stage
		{URI: "pkg:docker/node@20?platform=linux%2Famd64", Digest: sha("node-march-index")},
	}
	l := Attribute(im, mats, cat)[0]
	if l.Method != MethodProvenance || l.Confidence != High || l.Base.Digest != sha("node-march") {
		t.Errorf("provenance = %+v", l)
	}
	// One pinned image material, not catalogued.
	l = Attribute(img("x", day("2026-04-10"), layers("q")), mats[1:2], cat)[0]
	if l.Method != MethodProvenance || l.Confidence != High || l.Base.Repository != "docker.io/library/golang" || l.Base.Tag != "1.22" {
		t.Errorf("single material = %+v", l)
	}
	// Two uncatalogued images and no layer match: ambiguous.
	two := []Material{mats[1], {URI: "pkg:docker/gcr.io/distroless/static@nonroot", Digest: sha("distroless")}}
	l = Attribute(img("x", day("2026-04-10"), layers("q")), two, cat)[0]
	if l.Confidence != Ambiguous || len(l.Alternatives) != 1 {
		t.Errorf("two materials = %+v", l)
	}
}

func TestTagAtTime(t *testing.T) {
	h := []TagAt{{Tag: "latest", From: day("2026-03-01"), To: day("2026-03-31")}, {Tag: "20", From: day("2026-03-01"), To: day("2026-04-30")}}
	if tag, _, note := TagAtTime(h, day("2026-04-15")); tag != "20" || note != "" {
		t.Errorf("inside = %q %q", tag, note)
	}
	if tag, tags, note := TagAtTime(h, day("2026-06-01")); tag != "20" || len(tags) != 1 || note == "" {
		t.Errorf("after = %q %v %q", tag, tags, note)
	}
	if tag, tags, note := TagAtTime(h, day("2026-01-01")); tag != "20" || len(tags) != 2 || note == "" {
		t.Errorf("before = %q %v %q", tag, tags, note)
	}
}

func TestNormalizeRepository(t *testing.T) {
	for in, want := range map[string]string{
		"node":                         "docker.io/library/node",
		"bitnami/redis":                "docker.io/bitnami/redis",
		"index.docker.io/library/node": "docker.io/library/node",
		"gcr.io/distroless/static":     "gcr.io/distroless/static",
		"localhost:5000/base":          "localhost:5000/base",
	} {
		if got := NormalizeRepository(in); got != want {
			t.Errorf("%s = %s, want %s", in, got, want)
		}
	}
}

func pkg(eco, name, ver string) sbom.Package {
	return sbom.Package{Ecosystem: eco, Name: name, Version: ver}
}

func TestInBaseAndRebuildRemoves(t *testing.T) {
	base := []sbom.Package{pkg("Debian", "openssl", "3.0.11-1~deb12u1"), pkg("Debian", "zlib1g", "1:1.2.13.dfsg-1")}
	newBase := []sbom.Package{pkg("Debian", "openssl", "3.0.13-1~deb12u1"), pkg("Debian", "zlib1g", "1:1.2.13.dfsg-1")}
	own := pkg("npm", "express", "4.18.2")
	origins := InBase(append(append([]sbom.Package(nil), base...), own), base)
	if !origins[0].FromBase || !origins[1].FromBase || origins[2].FromBase {
		t.Errorf("origins = %+v", origins)
	}
	findings := []store.Finding{
		{AdvisoryID: "DSA-5532-1", Package: base[0]},
		{AdvisoryID: "DLA-0000-1", Package: base[1]},
		{AdvisoryID: "GHSA-rv95-896h-c2vc", Package: own},
	}
	marked := MarkFindings(findings, base)
	if !marked[0].InBase || !marked[1].InBase || marked[2].InBase {
		t.Errorf("marked = %+v", marked)
	}
	rm := RebuildRemoves(findings, base, newBase)
	if len(rm) != 1 || rm[0].AdvisoryID != "DSA-5532-1" {
		t.Errorf("removable = %+v", rm)
	}
}

func TestCandidatesFromInventory(t *testing.T) {
	node := store.Image{Digest: sha("node-march"), IndexDigest: sha("node-march-index"), Repository: nodeRepo, DiffIDs: layers("deb1", "n"), FirstSeen: day("2026-03-02")}
	hist := []store.TagRecord{
		{Repository: nodeRepo, Tag: "20", Digest: sha("node-march-index"), FirstObserved: day("2026-03-02"), LastObserved: day("2026-07-02")},
		{Repository: "registry.corp.example/mirror/node", Tag: "20", Digest: sha("node-march-index"), FirstObserved: day("2026-03-15"), LastObserved: day("2026-08-01"), Current: true},
	}
	cs := Candidates([]store.Image{node}, hist, func(r string) bool { return r == nodeRepo })
	if len(cs) != 2 {
		t.Fatalf("candidates = %+v", cs)
	}
	if !cs[0].Preferred || cs[0].Tags[0].To != day("2026-07-02") || cs[1].Preferred || !cs[1].Tags[0].To.IsZero() || cs[1].FirstSeen != day("2026-03-15") {
		t.Errorf("candidates = %+v", cs)
	}
}

func BenchmarkAttribute10000(b *testing.B) {
	// 10,000 bases over 50 distro roots (200 bases share each bottom
	// layer, as node/python/ruby variants on one debian do), 2–8 layers.
	cands := make([]Candidate, 0, 10000)
	for i := 0; i < 10000; i++ {
		root := i % 50
		n := 2 + i%7
		ids := make([]string, n)
		ids[0] = sha(fmt.Sprint("root", root))
		for j := 1; j < n; j++ {
			ids[j] = sha(fmt.Sprint("base", i, "layer", j))
		}
		cands = append(cands, Candidate{Digest: sha(fmt.Sprint("base", i)), Repository: fmt.Sprintf("mirror.example/base%d", i%300), DiffIDs: ids,
			Created: day("2026-01-01"), FirstSeen: day("2026-01-02"), Preferred: true, Tags: []TagAt{{Tag: "latest", From: day("2026-01-02")}}})
	}
	// Chain the first root's bases so attribution recurses: base 50 is on base 0.
	cands[50].DiffIDs = append(append([]string(nil), cands[0].DiffIDs...), sha("on-top"))
	cat := NewCatalog(cands)
	im := store.Image{Digest: sha("app"), Repository: "registry.example/app", Created: day("2026-03-01"),
		DiffIDs: append(append([]string(nil), cands[50].DiffIDs...), sha("app1"), sha("app2"))}
	if c := Attribute(im, nil, cat); len(c) != 2 || c[0].Base.Digest != cands[50].Digest {
		b.Fatalf("chain = %+v", c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Attribute(im, nil, cat)
	}
}
