package baseimage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func TestCrawledChainsInMemoryRegistry(t *testing.T) {
	srv := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	runChainScenario(t, strings.TrimPrefix(srv.URL, "http://"))
}

// TestCrawledChainsDistributionRegistry runs the same scenario against the
// CNCF distribution registry that scripts/test.sh starts.
func TestCrawledChainsDistributionRegistry(t *testing.T) {
	host := os.Getenv("SAFEGUARD_TEST_DISTRIBUTION")
	if host == "" {
		t.Skip("SAFEGUARD_TEST_DISTRIBUTION is unset: run scripts/test.sh, which starts a distribution registry, to include this test")
	}
	runChainScenario(t, host)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func date(s string) time.Time { return must(time.Parse("2006-01-02", s)) }

// build stacks n random layers on a base, as a Dockerfile build FROM base
// does, and dates the config.
func build(base v1.Image, n int, created time.Time) v1.Image {
	img := base
	for i := 0; i < n; i++ {
		img = must(mutate.AppendLayers(img, must(random.Layer(256, types.DockerLayer))))
	}
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: created}
	return must(mutate.ConfigFile(img, cf))
}

// relabel gives an image a new config (and so a new manifest digest) with
// the same layers: a copy pushed by another tool.
func relabel(img v1.Image, k, v string) v1.Image {
	cf := must(img.ConfigFile()).DeepCopy()
	cf.Config.Labels = map[string]string{k: v}
	return must(mutate.ConfigFile(img, cf))
}

type world struct {
	t      *testing.T
	host   string
	prefix string
	st     *sqlite.Store
	cfg    *registry.Config
	now    time.Time
	pushed map[string]bool
}

func (w *world) push(repoTag string, img v1.Image) string {
	ref := must(name.ParseReference(w.host+"/"+w.prefix+"/"+repoTag, name.Insecure))
	if err := remote.Write(ref, img); err != nil {
		w.t.Fatal(err)
	}
	if p, _, _ := strings.Cut(repoTag, ":"); !w.pushed[p] {
		w.pushed[p] = true
		w.cfg.Registries[0].Repositories = append(w.cfg.Registries[0].Repositories, w.prefix+"/"+p)
	}
	return must(img.Digest()).String()
}

// attest pushes SLSA v0.2 provenance for an image as cosign does: a DSSE
// envelope layer under the sha256-<hex>.att tag (the signature is not
// checked for attribution).
func (w *world) attest(path, digest string, materials map[string]string) {
	var ms []map[string]any
	for uri, d := range materials {
		ms = append(ms, map[string]any{"uri": uri, "digest": map[string]string{"sha256": strings.TrimPrefix(d, "sha256:")}})
	}
	st := must(json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://slsa.dev/provenance/v0.2",
		"subject":   []map[string]any{{"name": w.repo(path), "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicate": map[string]any{"builder": map[string]string{"id": "https://github.com/docker/buildx"}, "buildType": "https://mobyproject.org/buildkit@v1", "materials": ms},
	}))
	env := must(json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(st),
		"signatures": []map[string]string{{"sig": "MEUCIQ=="}}}))
	att := must(mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(env, "application/vnd.dsse.envelope.v1+json"),
		Annotations: map[string]string{"predicateType": "https://slsa.dev/provenance/v0.2"}}))
	ref := must(name.ParseReference(w.repo(path)+":sha256-"+strings.TrimPrefix(digest, "sha256:")+".att", name.Insecure))
	if err := remote.Write(ref, att); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) repo(path string) string { return w.host + "/" + w.prefix + "/" + path }

// crawl crawls at a given day and re-attributes, as 'registry crawl' does.
func (w *world) crawl(day string) baseimage.Summary {
	w.t.Helper()
	w.now = date(day).Add(12 * time.Hour)
	c := &registry.Crawler{Inventory: w.st, Now: func() time.Time { return w.now }}
	sum, err := c.CrawlRegistry(context.Background(), w.cfg.Registries[0])
	if err != nil || len(sum.Errors) > 0 {
		w.t.Fatalf("crawl on %s: %v %v", day, err, sum.Errors)
	}
	bs, err := baseimage.Refresh(context.Background(), w.st, w.cfg.IsBase, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	return bs
}

func (w *world) chain(digest string) []baseimage.Link {
	w.t.Helper()
	links, err := w.st.BaseChain(context.Background(), digest)
	if err != nil || links == nil {
		w.t.Fatalf("chain of %s: %v %v", digest, links, err)
	}
	return baseimage.FromStore(links)
}

func runChainScenario(t *testing.T, host string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prefix := fmt.Sprintf("bi-%d", time.Now().UnixNano())
	// Repositories are tracked as they are pushed; the base glob is set
	// from the start, as an operator would write it.
	rc := registry.RegistryConfig{Name: "r", Host: host, Insecure: true, Bases: []string{prefix + "/library/*"}}
	w := &world{t: t, host: host, prefix: prefix, st: st, cfg: &registry.Config{Registries: []registry.RegistryConfig{rc}}, pushed: map[string]bool{}}

	// March: debian, node on it, the company's node on that.
	debian := build(empty.Image, 1, date("2026-02-20"))
	nodeMarch := build(debian, 2, date("2026-03-01"))
	corpNode := build(nodeMarch, 1, date("2026-03-02"))
	dDeb := w.push("library/debian:bookworm", debian)
	w.push("library/debian:latest", debian)
	dNodeMarch := w.push("library/node:20", nodeMarch)
	w.push("library/node:latest", nodeMarch)
	dCorp := w.push("corp/node:20-corp", corpNode)
	// A byte-identical re-push of node (same digest) and a copy with the
	// same layers under a new manifest.
	w.push("mirror/node:20", nodeMarch)
	copyNode := relabel(nodeMarch, "copied-by", "team-a")
	dCopy := w.push("team-a/node:lts", copyNode)
	// The same content under two names, neither a base repository.
	tieBase := build(empty.Image, 2, date("2026-03-01"))
	dOne := w.push("x/one:1", tieBase)
	dTwo := w.push("y/two:1", relabel(tieBase, "name", "two"))
	w.crawl("2026-03-05")

	api := build(nodeMarch, 2, date("2026-03-10"))
	web := build(corpNode, 1, date("2026-03-10"))
	squashed := build(empty.Image, 1, date("2026-03-10"))
	onCopy := build(copyNode, 1, date("2026-03-10"))
	tied := build(tieBase, 1, date("2026-03-10"))
	billing1 := build(nodeMarch, 1, date("2026-03-20"))
	annotated := build(nodeMarch, 1, date("2026-03-20"))
	annotated = mutate.Annotations(annotated, map[string]string{
		baseimage.AnnotationBaseName: w.repo("library/node") + ":20", baseimage.AnnotationBaseDigest: dNodeMarch}).(v1.Image)
	dAPI, dWeb, dSquashed := w.push("apps/api:1", api), w.push("apps/web:1", web), w.push("apps/squashed:1", squashed)
	dOnCopy, dTied := w.push("apps/on-copy:1", onCopy), w.push("apps/tied:1", tied)
	dBilling1, dAnnotated := w.push("apps/billing:1", billing1), w.push("apps/annotated:1", annotated)
	// A multi-stage build whose SLSA provenance (a cosign .att, DSSE) lists
	// its builder stage and its base, both pinned.
	multistage := build(nodeMarch, 1, date("2026-03-20"))
	dMulti := w.push("apps/multistage:1", multistage)
	w.attest("apps/multistage", dMulti, map[string]string{
		"pkg:docker/golang@1.22?platform=linux%2Famd64":                       hashOf("golang builder"),
		"pkg:docker/" + w.repo("library/node") + "@20?platform=linux%2Famd64": dNodeMarch,
	})
	if bs := w.crawl("2026-04-01"); bs.New != 8 || bs.Preferred == 0 {
		t.Errorf("second crawl attribution: %+v", bs)
	}

	// Image on a shared base: node:20 of March, by layers.
	c := w.chain(dAPI)
	if len(c) != 2 || c[0].Base.Digest != dNodeMarch || c[0].Base.Repository != w.repo("library/node") || c[0].Method != baseimage.MethodLayers ||
		c[0].Confidence != baseimage.High || c[0].Base.Tag != "20" || c[0].SharedLayers != 3 || c[1].Base.Digest != dDeb || c[1].Base.Tag != "bookworm" {
		t.Errorf("api chain = %+v", c)
	}
	// The re-push under mirror/ has the same digest and is listed, not chosen.
	if !contains(c[0].Alternatives, w.repo("mirror/node")+"@"+dNodeMarch) {
		t.Errorf("api alternatives = %v", c[0].Alternatives)
	}
	// A chain of three.
	c = w.chain(dWeb)
	if len(c) != 3 || c[0].Base.Digest != dCorp || c[0].Base.Tag != "20-corp" || c[1].Base.Digest != dNodeMarch || c[2].Base.Digest != dDeb {
		t.Errorf("web chain = %+v", c)
	}
	// Squashed: no base, and said so.
	c = w.chain(dSquashed)
	if len(c) != 1 || c[0].Method != baseimage.MethodNone || c[0].Confidence != baseimage.Unknown || !strings.HasPrefix(c[0].Note, baseimage.UnknownNote) {
		t.Errorf("squashed chain = %+v", c)
	}
	// Built on the team's copy: attributed to the catalogue entry, copies listed.
	c = w.chain(dOnCopy)
	if c[0].Base.Digest != dNodeMarch || c[0].Base.Repository != w.repo("library/node") || c[0].Confidence != baseimage.High ||
		!contains(c[0].Alternatives, w.repo("team-a/node")+"@"+dCopy) {
		t.Errorf("on-copy chain = %+v", c)
	}
	// The copy itself is identical content of the catalogue entry.
	c = w.chain(dCopy)
	if len(c) != 2 || !c[0].Identical || c[0].Base.Digest != dNodeMarch || c[0].Base.Repository != w.repo("library/node") || c[1].Base.Digest != dDeb {
		t.Errorf("copy chain = %+v", c)
	}
	// A tie that nothing breaks: ambiguous, the other listed.
	c = w.chain(dTied)
	if c[0].Confidence != baseimage.Ambiguous || len(c[0].Alternatives) != 1 ||
		(c[0].Base.Digest != dOne && c[0].Base.Digest != dTwo) || !strings.Contains(c[0].Note, "tie") {
		t.Errorf("tied chain = %+v", c)
	}
	// Each of the tied pair is a copy of the other, and neither is known
	// to be the original: ambiguous, not a confident "copy of".
	for self, other := range map[string]string{dOne: dTwo, dTwo: dOne} {
		if c := w.chain(self); len(c) != 1 || !c[0].Identical || c[0].Base.Digest != other || c[0].Confidence != baseimage.Ambiguous {
			t.Errorf("tied base %s chain = %+v", self, c)
		}
	}
	// Provenance: the material whose layers are a prefix is the base; the
	// builder stage is named in the note.
	c = w.chain(dMulti)
	if c[0].Method != baseimage.MethodProvenance || c[0].Confidence != baseimage.High || c[0].Base.Digest != dNodeMarch || !strings.Contains(c[0].Note, "golang") {
		t.Errorf("multistage chain = %+v", c)
	}
	// The builder's annotation, confirmed by the layers: certain.
	c = w.chain(dAnnotated)
	if c[0].Method != baseimage.MethodAnnotation || c[0].Confidence != baseimage.Certain || c[0].Base.Digest != dNodeMarch || c[0].Base.Tag != "20" {
		t.Errorf("annotated chain = %+v", c)
	}
	// The base images themselves: debian has no base, node is on debian.
	if c := w.chain(dDeb); c[0].Method != baseimage.MethodNone {
		t.Errorf("debian chain = %+v", c)
	}
	if c := w.chain(dNodeMarch); len(c) != 1 || c[0].Base.Digest != dDeb || c[0].Identical {
		t.Errorf("node chain = %+v", c)
	}

	// July: node:20 and node:latest are rebuilt on a refreshed debian.
	debJuly := build(empty.Image, 1, date("2026-06-30"))
	nodeJuly := build(debJuly, 2, date("2026-07-02"))
	w.push("library/debian:bookworm", debJuly)
	w.push("library/debian:latest", debJuly)
	dNodeJuly := w.push("library/node:20", nodeJuly)
	w.push("library/node:latest", nodeJuly)
	w.crawl("2026-07-03")
	billing2 := build(nodeJuly, 1, date("2026-08-01"))
	dBilling2 := w.push("apps/billing:2", billing2)
	bs := w.crawl("2026-08-02")
	if bs.New != 1 {
		t.Errorf("after the rebuild: %+v", bs)
	}

	hist, err := st.TagHistory(ctx, w.repo("library/node"), "")
	if err != nil {
		t.Fatal(err)
	}
	// The old image keeps its old base with the tag it had then, and is
	// told to rebuild.
	old := w.chain(dBilling1)
	if old[0].Base.Digest != dNodeMarch || old[0].Base.Tag != "20" || !contains(old[0].Base.Tags, "latest") ||
		strings.Contains(old[0].Note, "after the image was built") || strings.Contains(old[0].Note, "before the image was built") {
		t.Errorf("billing:1 = %+v", old[0])
	}
	o := baseimage.Outdated(old[0], hist)
	if !o.RebuildRecommended || o.CurrentDigest != dNodeJuly || o.Tag != "20" || !contains(o.MovedTags, "latest") {
		t.Errorf("billing:1 outdated = %+v", o)
	}
	cur := w.chain(dBilling2)
	if cur[0].Base.Digest != dNodeJuly || cur[0].Base.Tag != "20" {
		t.Errorf("billing:2 = %+v", cur[0])
	}
	if o := baseimage.Outdated(cur[0], hist); o.RebuildRecommended {
		t.Errorf("billing:2 outdated = %+v", o)
	}
	// "Which images use node:latest?" answers with the tag at build time.
	users, err := st.ImagesWithBase(ctx, w.repo("library/node"), "latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dAPI, dWeb, dBilling1, dBilling2, dOnCopy} {
		if !contains(users, d) {
			t.Errorf("%s missing from images on node:latest %v", d, users)
		}
	}
	if contains(users, dSquashed) || contains(users, dTied) {
		t.Errorf("images on node:latest = %v", users)
	}
	// Nothing changed since: a crawl rewrites no chain.
	if bs := w.crawl("2026-08-03"); bs.New != 0 || bs.Changed != 0 {
		t.Errorf("idle crawl: %+v", bs)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
