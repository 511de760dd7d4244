package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// inMemoryRegistry starts go-containerregistry's registry with the OCI 1.1
// referrers API and returns its host:port.
func inMemoryRegistry(t testing.TB) (string, http.Handler) {
	t.Helper()
	h := ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), h
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storeSink is the SBOMSink the CLI wires, minus matching: decode, store.
type storeSink struct {
	st *sqlite.Store
	mu sync.Mutex
	// sources are the ingests seen, "imageRef <- source".
	sources []string
}

func (s *storeSink) IngestAttached(ctx context.Context, imageRef, subject string, raw []byte, source string) (int64, error) {
	doc, err := sbom.Decode(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnusableSBOM, err)
	}
	res, err := s.st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: raw, Source: source, Image: imageRef, At: time.Now()})
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.sources = append(s.sources, imageRef+" <- "+source)
	s.mu.Unlock()
	return res.SBOM.ID, nil
}

func readTestdata(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pusher writes fixtures to a registry.
type pusher struct {
	t    testing.TB
	host string
}

func (p pusher) repo(path string) name.Repository {
	r, err := name.NewRepository(p.host+"/"+path, name.Insecure)
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

// must panics on a fixture-building error (fixtures are the test's own).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// image builds a random image with a config saying who and when.
func (p pusher) image(labels map[string]string, created time.Time, plat v1.Platform) v1.Image {
	img := must(random.Image(512, 2))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.Config.Labels = labels
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	return must(mutate.ConfigFile(img, cf))
}

func (p pusher) write(repoTag string, img v1.Image) v1.Descriptor {
	ref := must(name.ParseReference(p.host+"/"+repoTag, name.Insecure))
	if err := remote.Write(ref, img); err != nil {
		p.t.Fatal(err)
	}
	return v1.Descriptor{MediaType: must(img.MediaType()), Digest: must(img.Digest()), Size: must(img.Size())}
}

type blob struct {
	data        []byte
	mediaType   types.MediaType
	annotations map[string]string
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// artifact pushes an OCI artifact manifest (empty config) with the given
// layers, optional subject, under tag (or by digest when tag is "").
func (p pusher) artifact(path, tag, artifactType string, subject *v1.Descriptor, ann map[string]string, layers ...blob) v1.Descriptor {
	t := p.t
	repo := p.repo(path)
	cfg := static.NewLayer([]byte("{}"), types.OCIEmptyJSON)
	if err := remote.WriteLayer(repo, cfg); err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config:  v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: 2, Digest: must(cfg.Digest())},
		Subject: subject, Annotations: ann,
	}
	for _, b := range layers {
		l := static.NewLayer(b.data, b.mediaType)
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: b.mediaType, Size: int64(len(b.data)), Digest: must(l.Digest()), Annotations: b.annotations})
	}
	raw := must(json.Marshal(m))
	sum := sha256.Sum256(raw)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	var ref name.Reference = repo.Digest(d.String())
	if tag != "" {
		ref = repo.Tag(tag)
	}
	if err := remote.Put(ref, rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatalf("put artifact %s: %v", ref, err)
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)), ArtifactType: artifactType}
}

// deleteTag removes a tag: by tag where the registry allows it, else by
// digest (which distribution requires).
func (p pusher) deleteTag(path, tag string, d v1.Hash) {
	repo := p.repo(path)
	if err := remote.Delete(repo.Tag(tag)); err == nil {
		return
	}
	if err := remote.Delete(repo.Digest(d.String())); err != nil {
		p.t.Fatalf("delete %s:%s: %v", path, tag, err)
	}
}

func dsse(t testing.TB, predicateType string, predicate []byte) []byte {
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{},
		"predicateType": predicateType,
		"predicate":     json.RawMessage(predicate),
	}
	payload := must(json.Marshal(st))
	env := map[string]any{
		"payloadType": "application/vnd.in-toto+json",
		"payload":     base64.StdEncoding.EncodeToString(payload),
		"signatures":  []any{map[string]string{"sig": "MEUCIQ=="}},
	}
	return must(json.Marshal(env))
}

func cosignTag(d v1.Hash, suffix string) string { return "sha256-" + d.Hex + "." + suffix }

// scenario is the registry content the crawl tests share.
type scenario struct {
	repo                 string // path
	v1, multi, amd, arm  v1.Descriptor
	old                  v1.Descriptor
	attestation          v1.Descriptor // buildkit attestation manifest in the index
	sbomRef, notationRef v1.Descriptor
	sigTag, sbomTag      v1.Descriptor
	attTag               v1.Descriptor
}

// pushScenario pushes: app:v1 (single image), app:multi (linux/amd64 +
// linux/arm64/v8 + a BuildKit SPDX attestation), app:old; a CycloneDX SBOM
// and a notation signature attached through the referrers API (or its
// tag fallback); cosign .sig and .sbom tags for v1 and an .att (DSSE,
// CycloneDX predicate) for the index.
func pushScenario(t testing.TB, p pusher, repo string) scenario {
	s := scenario{repo: repo}
	created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.v1 = p.write(repo+":v1", p.image(map[string]string{"org.opencontainers.image.version": "1.0"}, created, v1.Platform{OS: "linux", Architecture: "amd64"}))
	s.old = p.write(repo+":old", p.image(map[string]string{"stage": "old"}, created.Add(-time.Hour), v1.Platform{OS: "linux", Architecture: "amd64"}))

	amd := p.image(map[string]string{"arch": "amd64"}, created, v1.Platform{OS: "linux", Architecture: "amd64"})
	arm := p.image(map[string]string{"arch": "arm64"}, created, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	amdDigest := must(amd.Digest())
	spdx := readTestdata(t, "distroless-static-debian12-claircore.spdx.json")
	statement := must(json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
		"subject": []any{}, "predicate": json.RawMessage(spdx),
	}))
	att := must(mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(statement, "application/vnd.in-toto+json"),
		Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"},
	}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amdDigest.String()}}},
	)
	if err := remote.WriteIndex(must(name.ParseReference(p.host+"/"+repo+":multi", name.Insecure)), idx); err != nil {
		t.Fatal(err)
	}
	s.multi = v1.Descriptor{MediaType: types.OCIImageIndex, Digest: must(idx.Digest()), Size: must(idx.Size())}
	s.amd = v1.Descriptor{Digest: amdDigest}
	s.arm = v1.Descriptor{Digest: must(arm.Digest())}
	s.attestation = v1.Descriptor{Digest: must(att.Digest())}

	cdx := readTestdata(t, "alpine-zlib-16.cdx.json")
	s.sbomRef = p.artifact(repo, "", MediaTypeCycloneDXJSON, &s.v1, map[string]string{"org.opencontainers.image.created": "2025-03-01T12:00:00Z"},
		blob{data: cdx, mediaType: MediaTypeCycloneDXJSON})
	s.notationRef = p.artifact(repo, "", MediaTypeNotarySignature, &s.multi, map[string]string{"io.cncf.notary.x509chain.thumbprint#S256": "[\"abc\"]"},
		blob{data: []byte(`{"payload":"e30","protected":"e30","signature":"c2ln"}`), mediaType: "application/jose+json"})

	s.sigTag = p.artifact(repo, cosignTag(s.v1.Digest, "sig"), "", nil, nil, blob{
		data:      []byte(`{"critical":{"identity":{"docker-reference":"app"},"image":{"docker-manifest-digest":"` + s.v1.Digest.String() + `"},"type":"cosign container image signature"},"optional":null}`),
		mediaType: MediaTypeSimpleSigning, annotations: map[string]string{"dev.cosignproject.cosign/signature": "MEUCIQDsig=="},
	})
	s.sbomTag = p.artifact(repo, cosignTag(s.v1.Digest, "sbom"), "", nil, nil, blob{data: spdx, mediaType: "text/spdx+json"})
	s.attTag = p.artifact(repo, cosignTag(s.multi.Digest, "att"), "", nil, nil, blob{
		data: dsse(t, "https://cyclonedx.org/bom", cdx), mediaType: MediaTypeDSSE,
		annotations: map[string]string{"predicateType": "https://cyclonedx.org/bom"},
	})
	return s
}

// requestLog counts the requests a crawl sends, by method and path.
type requestLog struct {
	inner http.RoundTripper
	mu    sync.Mutex
	reqs  []string
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return l.inner.RoundTrip(r)
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

// hook records moved-tag notifications.
type hook struct {
	mu     sync.Mutex
	events []store.Event
	srv    *httptest.Server
}

func newHook(t testing.TB) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev store.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) got() []store.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]store.Event(nil), h.events...)
}

func noSleep(context.Context, time.Duration) error { return nil }
