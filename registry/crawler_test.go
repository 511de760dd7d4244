package registry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func freshTransport() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone()
}

func TestCrawlInMemoryRegistry(t *testing.T) {
	host, _ := inMemoryRegistry(t)
	runCrawlScenario(t, host)
}

// TestCrawlDistributionRegistry runs the same scenario against the CNCF
// distribution registry that scripts/test.sh starts.
func TestCrawlDistributionRegistry(t *testing.T) {
	host := os.Getenv("SAFEGUARD_TEST_DISTRIBUTION")
	if host == "" {
		t.Skip("SAFEGUARD_TEST_DISTRIBUTION is unset: run scripts/test.sh, which starts a distribution registry, to include this test")
	}
	runCrawlScenario(t, host)
}

func kinds(refs []store.Referrer) []string {
	var out []string
	for _, r := range refs {
		s := r.Kind
		if r.SBOMID != 0 {
			s += "+ingested"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func runCrawlScenario(t *testing.T, host string) {
	ctx := context.Background()
	p := pusher{t, host}
	repo := fmt.Sprintf("safeguard-test/app-%d", time.Now().UnixNano())
	key := host + "/" + repo
	s := pushScenario(t, p, repo)

	st := openStore(t)
	sink := &storeSink{st: st}
	reqs := &requestLog{inner: freshTransport()}
	hk := newHook(t)
	c := &Crawler{Inventory: st, SBOMs: sink, Transport: reqs, Logger: testLogger(t), sleep: noSleep}
	rc := RegistryConfig{Name: "test", Host: host, Insecure: true, Repositories: []string{repo}, Notify: []string{hk.srv.URL}}

	// First crawl: everything is new.
	sum, err := c.CrawlRegistry(ctx, rc)
	if err != nil || len(sum.Errors) != 0 {
		t.Fatalf("crawl 1: %v %v", err, sum.Errors)
	}
	first := reqs.take()
	t.Logf("crawl 1: %d requests, %+v", len(first), sum.Repos[0])
	if int(sum.Requests) != len(first) {
		t.Errorf("summary counts %d requests, the transport saw %d", sum.Requests, len(first))
	}
	if sum.Repositories != 1 || sum.NewImages != 4 || sum.TagsSeen != 6 || sum.TagsUnchanged != 0 || sum.Referrers != 6 || sum.SBOMs != 4 || sum.MovedTags != 0 {
		t.Errorf("crawl 1 summary: %+v", sum)
	}
	imgs, err := st.Images(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	byDigest := map[string]store.Image{}
	for _, im := range imgs {
		byDigest[im.Digest] = im
	}
	if len(imgs) != 4 {
		t.Fatalf("want 4 images (v1, old, amd64, arm64), got %d", len(imgs))
	}
	v1img := byDigest[s.v1.Digest.String()]
	if v1img.Labels["org.opencontainers.image.version"] != "1.0" || !v1img.Created.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) ||
		len(v1img.Layers) != 2 || len(v1img.DiffIDs) != 2 || v1img.OS != "linux" || v1img.IndexDigest != "" || v1img.Size < 1024 {
		t.Errorf("v1 image: %+v", v1img)
	}
	amd, arm := byDigest[s.amd.Digest.String()], byDigest[s.arm.Digest.String()]
	if amd.IndexDigest != s.multi.Digest.String() || amd.Architecture != "amd64" || arm.Architecture != "arm64" || arm.Variant != "v8" || arm.Labels["arch"] != "arm64" {
		t.Errorf("platform images: amd64 %+v arm64 %+v", amd, arm)
	}
	if _, ok := byDigest[s.attestation.Digest.String()]; ok {
		t.Error("the attestation manifest was inventoried as an image")
	}
	if ok, _ := st.HasImage(ctx, s.multi.Digest.String()); !ok {
		t.Error("index not recorded")
	}
	tags, _ := st.CurrentTags(ctx, key)
	want := map[string]string{"v1": s.v1.Digest.String(), "multi": s.multi.Digest.String(), "old": s.old.Digest.String()}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("tags: got %v want %v (cosign and referrers tags are not image tags)", tags, want)
	}
	for subject, wantKinds := range map[v1.Hash][]string{
		s.v1.Digest:    {"sbom+ingested", "sbom+ingested", "signature"}, // CycloneDX referrer, .sbom tag, .sig tag
		s.multi.Digest: {"notation", "sbom+ingested"},                   // notation referrer, .att DSSE
		s.amd.Digest:   {"sbom+ingested"},                               // BuildKit SPDX attestation
	} {
		refs, err := st.Referrers(ctx, subject.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(refs); !slices.Equal(got, wantKinds) {
			t.Errorf("referrers of %s: %v, want %v (%+v)", subject, got, wantKinds, refs)
		}
		for _, r := range refs {
			if r.Kind == store.KindSignature && r.Annotations["dev.cosignproject.cosign/signature"] == "" {
				t.Errorf("signature annotations not kept: %+v", r)
			}
			if r.Digest == s.sbomRef.Digest.String() && (r.ArtifactType != MediaTypeCycloneDXJSON || !strings.HasPrefix(r.FoundVia, "referrers")) {
				t.Errorf("SBOM referrer: %+v", r)
			}
		}
	}
	// Signature and attestation layers are kept for offline verification:
	// the .sig payload with its annotations, the notation signature, the
	// DSSE envelope of the .att tag.
	for subject, wantKinds := range map[v1.Hash][]string{s.v1.Digest: {"signature"}, s.multi.Digest: {"notation", "sbom"}} { // the .att holds a DSSE-signed SBOM
		ms, err := st.SignatureMaterial(ctx, subject.String())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			if len(m.Body) == 0 {
				t.Errorf("empty signature material %+v", m)
			}
			if m.Kind == store.KindSignature && m.Annotations["dev.cosignproject.cosign/signature"] == "" {
				t.Errorf("cosign signature layer lost its annotation: %+v", m.Annotations)
			}
			got = append(got, m.Kind)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantKinds) {
			t.Errorf("signature material of %s: %v, want %v", subject, got, wantKinds)
		}
	}
	if len(sink.sources) != 4 || !slices.Contains(sink.sources, key+"@"+s.v1.Digest.String()+" <- referrer "+key+"@"+s.sbomRef.Digest.String()) {
		t.Errorf("SBOM ingests: %q", sink.sources)
	}

	// Second crawl, nothing changed: one HEAD per tag, the tag list and
	// go-containerregistry's /v2/ ping. Nothing else.
	sum, err = c.CrawlRegistry(ctx, rc)
	if err != nil || len(sum.Errors) != 0 {
		t.Fatalf("crawl 2: %v %v", err, sum.Errors)
	}
	second := reqs.take()
	t.Logf("crawl 2 (unchanged): %d requests: %q", len(second), second)
	heads := 0
	for _, r := range second {
		if strings.HasPrefix(r, "HEAD /v2/"+repo+"/manifests/") {
			heads++
		} else if r != "GET /v2/" && r != "GET /v2/"+repo+"/tags/list" {
			t.Errorf("unexpected request in an unchanged re-crawl: %s", r)
		}
	}
	if heads != 6 || len(second) != 6+2 || sum.Requests != 8 {
		t.Errorf("unchanged re-crawl: %d HEADs, %d requests (summary %d); want 6 HEADs + tag list + ping = 8", heads, len(second), sum.Requests)
	}
	if sum.TagsUnchanged != 6 || sum.NewImages != 0 || sum.Referrers != 0 || sum.SBOMs != 0 {
		t.Errorf("crawl 2 summary: %+v", sum)
	}

	// Overwrite v1, delete old: one moved tag, one deleted tag.
	v1b := p.write(repo+":v1", p.image(map[string]string{"org.opencontainers.image.version": "1.0.1"}, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), v1.Platform{OS: "linux", Architecture: "amd64"}))
	p.deleteTag(repo, "old", s.old.Digest)
	sum, err = c.CrawlRegistry(ctx, rc)
	if err != nil || len(sum.Errors) != 0 {
		t.Fatalf("crawl 3: %v %v", err, sum.Errors)
	}
	t.Logf("crawl 3: %d requests", len(reqs.take()))
	if sum.MovedTags != 1 || sum.DeletedTags != 1 || sum.NewImages != 1 {
		t.Errorf("crawl 3 summary: %+v", sum)
	}
	got := hk.got()
	if len(got) != 1 || got[0].Kind != store.EventTagMoved || got[0].Repository != key || got[0].Tag != "v1" ||
		got[0].OldDigest != s.v1.Digest.String() || got[0].Digest != v1b.Digest.String() {
		t.Errorf("hook received %+v; want one tag_moved v1 %s -> %s", got, s.v1.Digest, v1b.Digest)
	}
	evs, err := st.Events(ctx, sqlite.EventFilter{Kinds: []string{store.EventTagMoved}})
	if err != nil || len(evs) != 1 {
		t.Errorf("stored moved-tag events: %+v %v", evs, err)
	}
	tags, _ = st.CurrentTags(ctx, key)
	want = map[string]string{"v1": v1b.Digest.String(), "multi": s.multi.Digest.String()}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("tags after move and delete: got %v want %v", tags, want)
	}
	hist, _ := st.TagHistory(ctx, key, "v1")
	if len(hist) != 2 || hist[0].PreviousDigest != s.v1.Digest.String() {
		t.Errorf("v1 history: %+v", hist)
	}
}

func TestCrawlCatalogFilters(t *testing.T) {
	ctx := context.Background()
	host, _ := inMemoryRegistry(t)
	p := pusher{t, host}
	for _, r := range []string{"team/api", "team/tmp-x", "other/db"} {
		p.write(r+":latest", p.image(nil, time.Now(), v1.Platform{OS: "linux", Architecture: "amd64"}))
	}
	st := openStore(t)
	c := &Crawler{Inventory: st, Logger: testLogger(t), sleep: noSleep}
	rc := RegistryConfig{Name: "t", Host: host, Insecure: true, Repositories: []string{"other/db"},
		Catalog: &CatalogConfig{Include: []string{"team/*"}, Exclude: []string{"team/tmp-*"}}}
	sum, err := c.CrawlRegistry(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	var repos []string
	for _, r := range sum.Repos {
		repos = append(repos, r.Repository)
	}
	if want := []string{host + "/other/db", host + "/team/api"}; !slices.Equal(repos, want) {
		t.Errorf("crawled %v, want %v", repos, want)
	}
}

// crashingInventory cancels the crawl after n images were recorded, as if
// the process died there.
type crashingInventory struct {
	*sqlite.Store
	n      int
	cancel context.CancelFunc
}

func (c *crashingInventory) RecordImage(ctx context.Context, img store.Image) error {
	if err := c.Store.RecordImage(ctx, img); err != nil {
		return err
	}
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return nil
}

func TestCrawlInterruptedThenResumed(t *testing.T) {
	host, _ := inMemoryRegistry(t)
	p := pusher{t, host}
	s := pushScenario(t, p, "app")
	key := host + "/app"
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	inv := &crashingInventory{Store: st, n: 2, cancel: cancel}
	c := &Crawler{Inventory: inv, SBOMs: &storeSink{st: st}, Logger: testLogger(t), sleep: noSleep}
	rc := RegistryConfig{Name: "t", Host: host, Insecure: true, Repositories: []string{"app"}}
	if _, err := c.CrawlRegistry(ctx, rc); err == nil {
		t.Fatal("interrupted crawl reported success")
	}
	// No tag may point at an image that is not recorded.
	tags, _ := st.CurrentTags(context.Background(), key)
	for tag, d := range tags {
		if ok, _ := st.HasImage(context.Background(), d); !ok {
			t.Errorf("tag %s points at unrecorded %s", tag, d)
		}
	}
	imgs, _ := st.Images(context.Background(), key)
	t.Logf("after the interruption: %d tags, %d images", len(tags), len(imgs))
	if len(imgs) != 2 {
		t.Errorf("want the 2 images recorded before the interruption, got %d", len(imgs))
	}

	c.Inventory = st
	sum, err := c.CrawlRegistry(context.Background(), rc)
	if err != nil || len(sum.Errors) != 0 {
		t.Fatalf("resumed crawl: %v %v", err, sum.Errors)
	}
	tags, _ = st.CurrentTags(context.Background(), key)
	imgs, _ = st.Images(context.Background(), key)
	if len(tags) != 3 || len(imgs) != 4 || sum.NewImages != 2 {
		t.Errorf("resumed crawl left %d tags, %d images (new %d); want 3 and 4 (2)", len(tags), len(imgs), sum.NewImages)
	}
	if refs, _ := st.Referrers(context.Background(), s.v1.Digest.String()); len(refs) != 3 {
		t.Errorf("v1 referrers after resume: %d, want 3", len(refs))
	}
}

func TestCrawlCredentialsFromEnv(t *testing.T) {
	c := &Crawler{Getenv: func(string) string { return "" }}
	_, err := c.CrawlRegistry(context.Background(), RegistryConfig{Name: "t", Host: "127.0.0.1:1", Insecure: true,
		Repositories: []string{"a"}, Credentials: Credentials{Username: "u", PasswordEnv: "REG_PW"}})
	if err == nil || !strings.Contains(err.Error(), "REG_PW") {
		t.Errorf("missing password variable: %v", err)
	}
}

// A registry's answer to the API version check is the registry's, not a
// repository's: a crawl of several repositories asks it once, and an
// unchanged re-crawl costs one HEAD per tag plus one tag list per
// repository.
func TestCrawlPingsOncePerRegistry(t *testing.T) {
	host, _ := inMemoryRegistry(t)
	p := pusher{t, host}
	repos := []string{"team/a", "team/b", "team/c"}
	for i, r := range repos {
		p.write(r+":1.0", p.image(nil, time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), v1.Platform{OS: "linux", Architecture: "amd64"}))
		p.write(r+":1.1", p.image(map[string]string{"v": "1.1"}, time.Date(2026, 2, 1+i, 0, 0, 0, 0, time.UTC), v1.Platform{OS: "linux", Architecture: "amd64"}))
	}
	st := openStore(t)
	reqs := &requestLog{inner: freshTransport()}
	c := &Crawler{Inventory: st, SBOMs: &storeSink{st: st}, Transport: reqs, Logger: testLogger(t), sleep: noSleep}
	rc := RegistryConfig{Name: "test", Host: host, Insecure: true, Repositories: repos}
	count := func(want string, got []string) int {
		n := 0
		for _, r := range got {
			if r == want {
				n++
			}
		}
		return n
	}
	for _, crawl := range []string{"first", "unchanged"} {
		sum, err := c.CrawlRegistry(context.Background(), rc)
		if err != nil || len(sum.Errors) != 0 {
			t.Fatalf("%s crawl: %v %v", crawl, err, sum.Errors)
		}
		got := reqs.take()
		if n := count("GET /v2/", got); n != 1 {
			t.Errorf("%s crawl: %d pings for %d repositories, want 1: %q", crawl, n, len(repos), got)
		}
		if crawl == "unchanged" && (len(got) != 1+len(repos)+2*len(repos) || sum.Requests != int64(len(got))) {
			t.Errorf("unchanged re-crawl: %d requests (summary %d), want 1 ping + %d tag lists + %d HEADs: %q", len(got), sum.Requests, len(repos), 2*len(repos), got)
		}
	}
}
