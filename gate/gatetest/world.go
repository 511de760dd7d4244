// Package gatetest builds the outside world the gate is tested against: a
// loopback OCI registry holding signed and unsigned, vulnerable and clean
// images (real published SBOMs from data/, attached as OCI 1.1 referrers,
// cosign signatures made with a generated key), and the trust policy that
// names the key. The gate, CLI and API tests share it.
package gatetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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

	"github.com/safeguard-dev/safeguard/data"
)

// Created is the build time of every image.
var Created = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// Clean is a CycloneDX SBOM of one package no advisory names.
const Clean = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"clean","group":"org.example","version":"1.0.0","purl":"pkg:maven/org.example/clean@1.0.0"}]}`

// Unusable is a valid SPDX document whose only package has no identity the
// matcher understands (C48: 0 usable packages).
const Unusable = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://example.com/x","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: x"]},"packages":[{"SPDXID":"SPDXRef-p","name":"mystery","downloadLocation":"NOASSERTION"}]}`

// World is the registry and the trust material.
type World struct {
	Host string // host:port of the loopback registry
	Dir  string // holds trust.yaml and ci.pub
	Key  *ecdsa.PrivateKey
	// Digests by name: signed-clean, unsigned-clean, vulnerable, index,
	// index-child, unusable-sbom, no-sbom, moved-old, moved-new.
	Digests map[string]string
	// Refs by the same names: the tag references to ask the gate about.
	Refs map[string]string
	// Requests counts manifest HEAD/GET requests the registry served.
	Requests func() int
}

// Trust is the trust policy: one key signer named ci.
const Trust = "signers:\n  - name: ci\n    key: ci.pub\n"

// New starts the registry and pushes the images.
func New(t testing.TB) *World {
	t.Helper()
	reg := ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
	counter := &counting{inner: reg}
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)
	w := &World{Host: strings.TrimPrefix(srv.URL, "http://"), Dir: t.TempDir(), Digests: map[string]string{}, Refs: map[string]string{}, Requests: counter.count}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w.Key = key
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	must(t, os.WriteFile(filepath.Join(w.Dir, "ci.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	must(t, os.WriteFile(filepath.Join(w.Dir, "trust.yaml"), []byte(Trust), 0o644))
	keycloak, err := fs.ReadFile(data.FS, "sboms/keycloak-10.0.2-maven.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	const cdx, spdx = "application/vnd.cyclonedx+json", "application/spdx+json"
	w.push(t, "signed-clean", "acme/app:1.0", 1, []byte(Clean), cdx, true)
	w.push(t, "unsigned-clean", "acme/unsigned:1.0", 2, []byte(Clean), cdx, false)
	w.push(t, "vulnerable", "acme/keycloak:10.0.2", 3, keycloak, cdx, true)
	w.push(t, "unusable-sbom", "acme/mystery:1.0", 4, []byte(Unusable), spdx, true)
	w.push(t, "no-sbom", "acme/unscanned:1.0", 5, nil, "", true)
	// C60: the tag was signed at D1, then moved to an unsigned D2; the old
	// signature object stays in the registry.
	w.push(t, "moved-old", "acme/pause:latest", 6, []byte(Clean), cdx, true)
	w.push(t, "moved-new", "acme/pause:latest", 7, []byte(Clean), cdx, false)
	// C66: a signed index over an unsigned platform manifest.
	child := w.image(t, 8)
	w.attach(t, "acme/multi", child, []byte(Clean), cdx)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: child, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	ref := w.ref(t, "acme/multi:2.0")
	must(t, remote.WriteIndex(ref, idx))
	id, _ := idx.Digest()
	cd, _ := child.Digest()
	w.sign(t, ref.Context(), id)
	w.Digests["index"], w.Digests["index-child"], w.Refs["index"] = id.String(), cd.String(), ref.String()
	return w
}

// Ref returns the reference of one image by name, pinned to its digest.
func (w *World) Pinned(name string) string {
	r := w.Refs[name]
	if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") {
		r = r[:i]
	}
	return r + "@" + w.Digests[name]
}

func (w *World) ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(w.Host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (w *World) image(t testing.TB, seed int64) v1.Image {
	t.Helper()
	layer, err := random.Layer(256+seed, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: Created}
	cf.Config.Labels = map[string]string{"team": "payments"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func (w *World) push(t testing.TB, key, ref string, seed int64, sbom []byte, mediaType string, signed bool) {
	t.Helper()
	img := w.image(t, seed)
	r := w.ref(t, ref)
	must(t, remote.Write(r, img))
	if sbom != nil {
		w.attach(t, r.Context().RepositoryStr(), img, sbom, mediaType)
	}
	d, _ := img.Digest()
	if signed {
		w.sign(t, r.Context(), d)
	}
	w.Digests[key], w.Refs[key] = d.String(), r.String()
}

// attach pushes an OCI 1.1 artifact whose subject is the image.
func (w *World) attach(t testing.TB, repo string, subject v1.Image, sbom []byte, mediaType string) {
	t.Helper()
	d, _ := subject.Digest()
	sz, _ := subject.Size()
	mt, _ := subject.MediaType()
	art, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer(sbom, types.MediaType(mediaType)))
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.ConfigMediaType(art, types.MediaType(mediaType))
	art = mutate.Subject(art, v1.Descriptor{MediaType: mt, Digest: d, Size: sz}).(v1.Image)
	ad, _ := art.Digest()
	must(t, remote.Write(w.ref(t, repo+"@"+ad.String()), art))
}

// sign pushes a cosign key signature of digest under cosign's tag scheme.
func (w *World) sign(t testing.TB, repo name.Repository, digest v1.Hash) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo.String(), digest.String()))
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, w.Key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, remote.Write(repo.Tag(fmt.Sprintf("%s-%s.sig", digest.Algorithm, digest.Hex)), img))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// counting counts manifest requests (tag resolutions and fetches).
type counting struct {
	inner http.Handler
	n     atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/manifests/") {
		c.n.Add(1)
	}
	c.inner.ServeHTTP(w, r)
}

func (c *counting) count() int { return int(c.n.Load()) }
