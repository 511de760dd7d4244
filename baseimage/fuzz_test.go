package baseimage

import (
	"testing"

	"github.com/safeguard-dev/safeguard/store"
)

// FuzzAttribute feeds registry-controlled input (the base annotations of a
// manifest and a provenance material) to Attribute over a fixed catalogue:
// whatever they say, the chain is well formed and the image is never its
// own base.
func FuzzAttribute(f *testing.F) {
	f.Add("node:latest", sha("node-march-index"), "pkg:docker/node@20?platform=linux%2Famd64", sha("node-march-index"))
	f.Add("", "", "docker-image://docker.io/library/debian:bookworm", sha("debian-march"))
	f.Add("ghcr.io/acme/base:1@sha256:zz", "0123", "pkg:oci/x@sha256:"+sha("alpine")[7:], "nothex")
	f.Add("localhost:5000/a/b:c@"+sha("alpine"), sha("alpine"), "oci://", "")
	cat := NewCatalog(fixture())
	valid := map[string]bool{Certain: true, High: true, Ambiguous: true, Guess: true, Unknown: true}
	methods := map[string]bool{MethodAnnotation: true, MethodProvenance: true, MethodLayers: true, MethodNone: true}
	f.Fuzz(func(t *testing.T, name, digest, uri, mdigest string) {
		im := store.Image{Digest: sha("api"), Repository: "registry.corp.example/apps/api", Created: day("2026-04-10"),
			DiffIDs:     layers("deb1", "node-march-a", "node-march-b", "app"),
			Annotations: map[string]string{AnnotationBaseName: name, AnnotationBaseDigest: digest}}
		chain := Attribute(im, []Material{{URI: uri, Digest: mdigest}}, cat)
		if len(chain) == 0 || len(chain) > 64 {
			t.Fatalf("chain of %d links", len(chain))
		}
		for i, l := range chain {
			if !valid[l.Confidence] || !methods[l.Method] {
				t.Fatalf("link %d: method %q confidence %q", i, l.Method, l.Confidence)
			}
			if l.Base.Digest == im.Digest {
				t.Fatalf("link %d: the image is its own base", i)
			}
			if l.Method == MethodNone && (len(chain) != 1 || l.Confidence != Unknown) {
				t.Fatalf("a none link in %+v", chain)
			}
		}
	})
}

// FuzzParseBase: a reference a user typed either parses to a normalised
// repository with a tag or a digest, or is refused with an error.
func FuzzParseBase(f *testing.F) {
	for _, s := range []string{"node:latest", "node", "docker.io/library/node:20", "localhost:5000/base@" + sha("x"), "a@b", ":", "@", "UPPER/Case:T", "x/y:z@sha256:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		repo, tag, digest, err := ParseBase(ref)
		if err != nil {
			return
		}
		if repo == "" || (tag == "" && digest == "") {
			t.Fatalf("%q: repo %q tag %q digest %q", ref, repo, tag, digest)
		}
		if NormalizeRepository(repo) != repo {
			t.Fatalf("%q: repository %q is not normalised", ref, repo)
		}
	})
}
