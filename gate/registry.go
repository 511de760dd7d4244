package gate

import (
	"context"
	"strings"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/registry"
)

// Registries is the Source over registry.Crawler: the same transport,
// retries, credentials and SBOM ingestion as a crawl. A host listed in
// Config uses that entry's credentials; any other host the Docker keychain
// (plain HTTP when Insecure, for loopback test registries).
type Registries struct {
	Crawler  *registry.Crawler
	Config   *registry.Config
	Insecure bool
}

func (r *Registries) entry(ref imageref.Ref) (registry.RegistryConfig, string) {
	host := ref.Registry
	if host == imageref.DockerHub {
		host = "index.docker.io"
	}
	if r.Config != nil {
		for _, rc := range r.Config.Registries {
			if rc.Host == host || (host == "index.docker.io" && rc.Host == imageref.DockerHub) {
				return rc, ref.Repository
			}
		}
	}
	return registry.RegistryConfig{Name: "gate", Host: host, Insecure: r.Insecure || strings.HasPrefix(host, "localhost:") || strings.HasPrefix(host, "127.0.0.1:")}, ref.Repository
}

// Resolve HEADs the tag.
func (r *Registries) Resolve(ctx context.Context, ref imageref.Ref) (string, error) {
	rc, repo := r.entry(ref)
	d, err := r.Crawler.Resolve(ctx, rc, repo, ref.Tag)
	return d, wrapNotFound(err)
}

// Fetch crawls the image into the store: through its tag when it has one
// (so the tag's history is recorded too), and by digest when the tag no
// longer points at the digest asked for.
func (r *Registries) Fetch(ctx context.Context, ref imageref.Ref) (string, error) {
	rc, repo := r.entry(ref)
	if ref.Tag != "" {
		d, err := r.Crawler.CrawlReference(ctx, rc, repo, ref.Tag, "")
		if err == nil && (ref.Digest == "" || d == ref.Digest) {
			return d, nil
		}
		if ref.Digest == "" || ctx.Err() != nil {
			return d, wrapNotFound(err)
		}
	}
	d, err := r.Crawler.CrawlReference(ctx, rc, repo, "", ref.Digest)
	return d, wrapNotFound(err)
}

func wrapNotFound(err error) error {
	if err != nil && registry.IsNotFound(err) {
		return NotFoundError{Err: err}
	}
	return err
}
