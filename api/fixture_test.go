package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// The fixture's clock: everything happens on one day in 2026.
var (
	t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // first feed import
	t1 = t0.Add(1 * time.Hour)                       // images crawled, SBOMs ingested
	t2 = t0.Add(2 * time.Hour)                       // second feed import: a new advisory
	t3 = t0.Add(3 * time.Hour)                       // latest moves to the new image
)

const (
	repo    = "registry.example.com/team/app"
	other   = "registry.example.com:5000/base/debian"
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	sigA    = "sha256:5151515151515151515151515151515151515151515151515151515151515151"
	sbomRef = "sha256:5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b"
	unknown = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
)

// sbomA is image A's SBOM: a Debian 12 image with openssl and a Node app.
const sbomA = `{
  "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "metadata": {"component": {"type": "container", "name": "registry.example.com/team/app"}},
  "components": [
    {"type": "operating-system", "name": "debian", "version": "12"},
    {"type": "library", "name": "openssl", "version": "3.0.11-1~deb12u1", "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"},
    {"type": "library", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
    {"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}
  ]
}`

// sbomB belongs to no crawled image: a Go binary.
const sbomB = `{
  "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "components": [
    {"type": "library", "name": "golang.org/x/net", "version": "v0.6.0", "purl": "pkg:golang/golang.org/x/net@v0.6.0"}
  ]
}`

// The OSV records of the first import, as files of a feed directory.
var osvFirst = map[string]string{
	"DSA-5532-1.json": `{"schema_version": "1.6.0", "id": "DSA-5532-1", "modified": "2026-02-01T00:00:00Z", "published": "2023-10-24T00:00:00Z",
		"aliases": ["CVE-2023-5363"], "summary": "openssl: incorrect cipher key and IV length processing",
		"affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}]}`,
	"GHSA-35jh-r3h4-6jhm.json": `{"schema_version": "1.6.0", "id": "GHSA-35jh-r3h4-6jhm", "modified": "2026-02-01T00:00:00Z", "published": "2021-02-15T00:00:00Z",
		"aliases": ["CVE-2021-23337"], "summary": "Command Injection in lodash",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
		"affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]}`,
	"GO-2023-1571.json": `{"schema_version": "1.6.0", "id": "GO-2023-1571", "modified": "2026-02-01T00:00:00Z", "published": "2023-02-16T00:00:00Z",
		"aliases": ["CVE-2022-41723"], "summary": "Denial of service via crafted HTTP/2 stream in golang.org/x/net",
		"affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/net"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.7.0"}]}]}]}`,
}

// The second import: a new lodash advisory and the KEV catalog listing the
// openssl CVE.
var osvSecond = map[string]string{
	"GHSA-29mw-wpgm-hmr9.json": `{"schema_version": "1.6.0", "id": "GHSA-29mw-wpgm-hmr9", "modified": "2026-03-01T10:00:00Z", "published": "2022-01-06T00:00:00Z",
		"aliases": ["CVE-2020-28500"], "summary": "Regular Expression Denial of Service (ReDoS) in lodash",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}],
		"affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]}]}]}`,
}

const kevCatalog = `[{"cveID": "CVE-2023-5363", "vendorProject": "OpenSSL", "product": "OpenSSL", "vulnerabilityName": "OpenSSL Key Length Handling",
	"dateAdded": "2026-02-20", "shortDescription": "Test entry.", "requiredAction": "Apply updates.", "dueDate": "2026-03-13",
	"knownRansomwareCampaignUse": "Unknown"}]`

// fixture is a store filled the way the crawler, the CLI and the
// scheduler fill it, through the store's own write methods.
type fixture struct {
	store        *sqlite.Store
	sbomA, sbomB int64
}

// must unwraps a (value, error) pair; an error panics, which fails the
// test with the error and its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st := must(sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db")))
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st}

	importFeed(t, st, "osv-first", osvFirst, "", t0)

	ingest := func(doc, source, image string) int64 {
		d := must(sbom.Decode([]byte(doc)))
		r := must(st.IngestSBOM(ctx, store.IngestInput{Document: d, Raw: []byte(doc), Source: source, Image: image, At: t1}))
		must(vuln.Reconcile(ctx, st, store.Scope{PackageIDs: r.PackageIDs, Cause: store.CauseNewImage}, t1))
		return r.SBOM.ID
	}
	f.sbomA = ingest(sbomA, "app.cdx.json", repo+"@"+digestA)
	f.sbomB = ingest(sbomB, "netbin.cdx.json", "")

	imgA := store.Image{Digest: digestA, Repository: repo, MediaType: "application/vnd.oci.image.manifest.v1+json",
		ConfigDigest: "sha256:" + strings.Repeat("c0", 32), OS: "linux", Architecture: "arm64", Variant: "v8",
		Created: t0.Add(-24 * time.Hour), Labels: map[string]string{"org.opencontainers.image.source": "https://github.com/example/app"},
		Layers:  []string{"sha256:" + strings.Repeat("1a", 32), "sha256:" + strings.Repeat("2a", 32)},
		DiffIDs: []string{"sha256:" + strings.Repeat("1d", 32), "sha256:" + strings.Repeat("2d", 32)}, Size: 31337, FirstSeen: t1}
	imgB := imgA
	imgB.Digest, imgB.Layers, imgB.FirstSeen = digestB, imgA.Layers[:1], t3
	// C is the Debian base A and B were built on: its one layer is their
	// bottom layer.
	imgC := store.Image{Digest: digestC, Repository: other, MediaType: "application/vnd.oci.image.manifest.v1+json", OS: "linux",
		Architecture: "amd64", Layers: []string{"sha256:" + strings.Repeat("1a", 32)}, DiffIDs: []string{imgA.DiffIDs[0]},
		Created: t0.Add(-48 * time.Hour), FirstSeen: t1}
	for _, img := range []store.Image{imgA, imgC} {
		if err := st.RecordImage(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []store.Workload{
		{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"}, Environment: "production", At: t1,
			Containers: []store.DeployedContainer{{Name: "app", Path: "spec.template.spec.containers[0]", Image: repo + ":1.0@" + digestA, Digest: digestA}}},
		{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "dev", Kind: "CronJob", Name: "report"}, Environment: "dev", At: t1,
			Containers: []store.DeployedContainer{{Name: "job", Path: "spec.jobTemplate.spec.template.spec.containers[0]", Image: other + ":12@" + digestC, Digest: digestC}}},
	} {
		if err := st.PutWorkload(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []store.TagObservation{
		{Repository: repo, Tag: "latest", Digest: digestA, At: t1},
		{Repository: repo, Tag: "1.0", Digest: digestA, At: t1},
		{Repository: other, Tag: "12", Digest: digestC, At: t1},
	} {
		must(st.RecordTag(ctx, o))
	}
	for _, r := range []store.Referrer{
		{Repository: repo, Subject: digestA, Digest: sigA, ArtifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
			MediaType: "application/vnd.oci.image.manifest.v1+json", Kind: store.KindSignature, FoundVia: "referrers_api", Size: 512, At: t1},
		{Repository: repo, Subject: digestA, Digest: sbomRef, ArtifactType: "application/vnd.cyclonedx+json",
			MediaType: "application/vnd.oci.image.manifest.v1+json", Kind: store.KindSBOM, FoundVia: "tag_scheme", Size: 2048, SBOMID: f.sbomA, At: t1},
	} {
		if err := st.RecordReferrer(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	importFeed(t, st, "osv-second", osvSecond, kevCatalog, t2)
	must(st.RecordNewKEVEvents(ctx, t2))

	// The next crawl finds a new image and latest moved to it.
	if err := st.RecordImage(ctx, imgB); err != nil {
		t.Fatal(err)
	}
	must(st.RecordTag(ctx, store.TagObservation{Repository: repo, Tag: "1.0", Digest: digestA, At: t3}))
	must(st.RecordTag(ctx, store.TagObservation{Repository: repo, Tag: "latest", Digest: digestB, At: t3})) // moved: an event
	// The crawl's base attribution, base/debian a base repository.
	must(baseimage.Refresh(ctx, st, func(r string) bool { return r == other }, t3))
	return f
}

// importFeed writes OSV records (and a KEV catalog) to a directory, loads
// it as `safeguard feed import` does and re-matches the delta.
func importFeed(t testing.TB, st *sqlite.Store, source string, records map[string]string, kev string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for name, body := range records {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := must(feed.Load(dir, feed.Options{}))
	data := store.FeedData{Source: source, Advisories: b.Advisories, At: at,
		Scores: map[string]advisory.Scored{}, Hashes: map[string]string{}}
	for _, a := range b.Advisories {
		data.Scores[a.ID], data.Hashes[a.ID] = feed.Score(a), feed.ContentHash(a)
	}
	if kev != "" {
		path := filepath.Join(t.TempDir(), "kev.json")
		if err := os.WriteFile(path, []byte(kev), 0o644); err != nil {
			t.Fatal(err)
		}
		kb := must(feed.Load(path, feed.Options{}))
		data.KEV, data.KEVComplete = kb.KEV, kb.KEVComplete
	}
	res := must(st.ImportFeed(ctx, data))
	if len(res.Keys) > 0 {
		must(vuln.Reconcile(ctx, st, store.Scope{Keys: res.Keys, AdvisoryCauses: res.Causes}, at))
	}
}

func storeTag(repository, tag, digest string, at time.Time) store.TagObservation {
	return store.TagObservation{Repository: repository, Tag: tag, Digest: digest, At: at}
}
