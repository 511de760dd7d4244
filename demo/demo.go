// Package demo builds a small, real-looking registry for `safeguard demo`:
// images whose SBOMs are real published SBOMs, attached the way build
// pipelines attach them (OCI 1.1 referrers), and a tag that is later moved
// to a new digest — the overwrite the product exists to catch.
package demo

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Sample is one image to push: its repository and tag, and the SBOM file
// (in the data FS) attached to it.
type Sample struct {
	Repository string // e.g. "demo/kubectl"
	Tag        string
	SBOM       string // path in the FS
	MediaType  string // SBOM artifact type
	Seed       int64  // makes the image content (and so its digest) distinct
}

// Samples are the demo images: real SBOMs of real software.
var Samples = []Sample{
	{"demo/kubectl", "1.28", "sboms/kubectl-linux-amd64.spdx.json", "application/spdx+json", 1},
	{"demo/keycloak", "10.0.2", "sboms/keycloak-10.0.2-maven.cdx.json", "application/vnd.cyclonedx+json", 2},
	{"demo/proton-bridge", "1.8.0", "sboms/proton-bridge-v1.8.0-gomod.cdx.json", "application/vnd.cyclonedx+json", 3},
	{"demo/mongo", "latest", "sboms/mongo-cyclonedx.json", "application/vnd.cyclonedx+json", 4},
}

// Push pushes every sample to the registry at host (plain HTTP, loopback)
// with its SBOM attached as a referrer; it returns the image digests.
func Push(ctx context.Context, host string, files fs.FS, samples []Sample, created time.Time) (map[string]v1.Hash, error) {
	out := map[string]v1.Hash{}
	for _, s := range samples {
		ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", host, s.Repository, s.Tag), name.Insecure)
		if err != nil {
			return nil, err
		}
		img, err := image(s, created)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		raw, err := fs.ReadFile(files, s.SBOM)
		if err != nil {
			return nil, err
		}
		if err := attach(ctx, ref.Context(), img, raw, s.MediaType); err != nil {
			return nil, fmt.Errorf("attach SBOM to %s: %w", ref, err)
		}
		out[s.Repository+":"+s.Tag] = d
	}
	return out, nil
}

// image builds a small image with distinct content for a sample.
func image(s Sample, created time.Time) (v1.Image, error) {
	layer, err := random.Layer(256+s.Seed, types.OCILayer)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: created}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   s.Repository,
		"org.opencontainers.image.version": s.Tag,
		"org.opencontainers.image.source":  "https://example.com/safeguard-demo",
	}
	return mutate.ConfigFile(img, cf)
}

// attach pushes an OCI 1.1 artifact manifest holding the SBOM whose subject
// is the image, so the registry lists it under the image's referrers.
func attach(ctx context.Context, repo name.Repository, subject v1.Image, sbom []byte, mediaType string) error {
	desc, err := descriptor(subject)
	if err != nil {
		return err
	}
	layer := static.NewLayer(sbom, types.MediaType(mediaType))
	art, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return err
	}
	// With no artifactType field the registry reports the config media
	// type as the referrer's artifact type (OCI image spec 1.1).
	art = mutate.ConfigMediaType(art, types.MediaType(mediaType))
	art = mutate.Subject(art, desc).(v1.Image)
	d, err := art.Digest()
	if err != nil {
		return err
	}
	return remote.Write(repo.Digest(d.String()), art, remote.WithContext(ctx))
}

func descriptor(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: sz}, nil
}
