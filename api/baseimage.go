package api

import (
	"context"
	"net/http"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// BaseReader reads the base chains attribution stored.
type BaseReader interface {
	BaseChain(ctx context.Context, digest string) ([]store.BaseLink, error)
	BaseChains(ctx context.Context) (map[string][]store.BaseLink, error)
}

// describeBase is an image's base, as 'safeguard image show' shows it.
func (s *Server) describeBase(ctx context.Context, img store.Image) (baseimage.Description, error) {
	return baseimage.Describe(ctx, s.store, img)
}

// markInBase sets in_base on findings converted in order from stored ones.
func markInBase(d baseimage.Description, out []jsonFinding, fs []store.Finding) {
	for i := range out {
		out[i].InBase = d.InBase(fs[i].Package)
	}
}

// markFromBase tags packages as the base's or the image's own.
func markFromBase(d baseimage.Description, pkgs []sbomPackage) {
	for i := range pkgs {
		p := pkgs[i].jsonPackage
		pkgs[i].FromBase = d.InBase(sbom.Package{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version})
	}
}

// imagesOnBase filters images by the base query parameter: a reference
// such as node:latest (docker.io/library/node, the tag the base carried
// when the image was built, at any depth of the chain) or repo@sha256:….
func (s *Server) imagesOnBase(r *http.Request, imgs []store.Image) ([]store.Image, error) {
	ref, err := query(r).one("base")
	if err != nil || ref == "" {
		return imgs, err
	}
	repo, tag, digest, err := baseimage.ParseBase(ref)
	if err != nil {
		return nil, badParam("base", "%v", err)
	}
	chains, err := s.store.BaseChains(r.Context())
	if err != nil {
		return nil, err
	}
	keep := baseimage.OnBase(chains, repo, tag, digest)
	out := imgs[:0]
	for _, img := range imgs {
		if keep[img.Digest] {
			out = append(out, img)
		}
	}
	return out, nil
}
