package registry

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestCrawlReference(t *testing.T) {
	ctx := context.Background()
	host, _ := inMemoryRegistry(t)
	st := openStore(t)
	img, _ := random.Image(64, 1)
	d, _ := img.Digest()
	tag, _ := name.ParseReference(host + "/acme/app:1.0")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	sig, _ := random.Image(32, 1)
	sigDigest, _ := sig.Digest()
	sigTag, _ := name.ParseReference(host + "/acme/app:" + strings.Replace(d.String(), ":", "-", 1) + ".sig")
	if err := remote.Write(sigTag, sig); err != nil {
		t.Fatal(err)
	}
	other, _ := random.Image(64, 1)
	otherDigest, _ := other.Digest()
	if err := remote.Write(mustRef(t, host+"/acme/app:2.0"), other); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	idxDigest, _ := idx.Digest()
	if err := remote.WriteIndex(mustRef(t, host+"/acme/app:multi"), idx); err != nil {
		t.Fatal(err)
	}

	c := &Crawler{Inventory: st, SBOMs: &storeSink{st: st}}
	rc := RegistryConfig{Name: "t", Host: host, Insecure: true}
	got, err := c.Resolve(ctx, rc, "acme/app", "1.0")
	if err != nil || got != d.String() {
		t.Fatalf("resolve: %s %v, want %s", got, err, d)
	}
	got, err = c.CrawlReference(ctx, rc, "acme/app", "1.0", "")
	if err != nil || got != d.String() {
		t.Fatalf("crawl tag: %s %v", got, err)
	}
	if has, _ := st.HasImage(ctx, d.String()); !has {
		t.Error("image not recorded")
	}
	if has, _ := st.HasReferrer(ctx, d.String(), sigDigest.String()); !has {
		t.Error("cosign .sig tag not found without the tag list")
	}
	if has, _ := st.HasImage(ctx, otherDigest.String()); has {
		t.Error("crawled a tag it was not asked for")
	}
	tags, _ := st.CurrentTags(ctx, host+"/acme/app")
	if tags["1.0"] != d.String() || len(tags) != 1 {
		t.Errorf("tags %v", tags)
	}
	// By digest: an index and its platform image.
	got, err = c.CrawlReference(ctx, rc, "acme/app", "", idxDigest.String())
	if err != nil || got != idxDigest.String() {
		t.Fatalf("crawl digest: %s %v", got, err)
	}
	if ch, err := st.IndexChildren(ctx, idxDigest.String()); err != nil || len(ch) != 1 || ch[0] != d.String() {
		t.Errorf("index children %v %v", ch, err)
	}
	_, err = c.CrawlReference(ctx, rc, "acme/app", "nope", "")
	if err == nil || !IsNotFound(err) {
		t.Errorf("missing tag: %v (not found: %v)", err, IsNotFound(err))
	}
	if _, err := c.Resolve(ctx, rc, "acme/none", "1"); !IsNotFound(err) {
		t.Errorf("missing repository: %v", err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
