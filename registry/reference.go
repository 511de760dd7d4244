package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Resolve returns the digest a tag of repo (a path under rc.Host) points at
// now: one HEAD request through the crawl's transport and credentials.
func (c *Crawler) Resolve(ctx context.Context, rc RegistryConfig, repo, tag string) (string, error) {
	w, err := c.single(rc, repo)
	if err != nil {
		return "", err
	}
	desc, err := w.p.Head(ctx, w.repo.Tag(tag))
	if err != nil {
		return "", fmt.Errorf("resolve %s:%s: %w", w.key, tag, err)
	}
	return desc.Digest.String(), nil
}

// CrawlReference records one tag or one digest of a repository without
// listing the repository: the image or index with its platform images,
// their referrers (signatures, attestations, SBOMs — ingested through the
// SBOM sink) and cosign's sha256-<hex>.sig|.att|.sbom tags, then the tag.
// The gate uses it for an image it has never seen. It returns the digest
// the reference resolved to. Give exactly one of tag and digest.
func (c *Crawler) CrawlReference(ctx context.Context, rc RegistryConfig, repo, tag, digest string) (string, error) {
	if (tag == "") == (digest == "") {
		return "", errors.New("crawl reference: give a tag or a digest")
	}
	w, err := c.single(rc, repo)
	if err != nil {
		return "", err
	}
	if tag != "" {
		if err := retryOp(ctx, w.run, w.log, "tag "+tag, func() error { return w.tag(ctx, tag, "") }); err != nil {
			return "", fmt.Errorf("crawl %s:%s: %w", w.key, tag, err)
		}
		cur, err := c.Inventory.CurrentTags(ctx, w.key)
		if err != nil {
			return "", err
		}
		digest = cur[tag]
	} else {
		if _, err := v1.NewHash(digest); err != nil {
			return "", fmt.Errorf("crawl %s@%s: %w", w.key, digest, err)
		}
		err := retryOp(ctx, w.run, w.log, "digest "+digest, func() error {
			_, err := w.manifest(ctx, digest, nil, "", 0)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("crawl %s@%s: %w", w.key, digest, err)
		}
	}
	// Without the tag list, cosign's tag-scheme attachments are looked up
	// by name for every digest this crawl recorded.
	subjects := make([]string, 0, len(w.recorded))
	for d := range w.recorded {
		subjects = append(subjects, d)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		for _, suffix := range []string{"sig", "att", "sbom"} {
			t := strings.Replace(s, ":", "-", 1) + "." + suffix
			err := retryOp(ctx, w.run, w.log, "tag "+t, func() error { return w.cosignTag(ctx, t, s, suffix) })
			if err != nil && !isNotFound(err) {
				return digest, fmt.Errorf("crawl %s: %w", t, err)
			}
		}
	}
	return digest, nil
}

func (c *Crawler) single(rc RegistryConfig, repo string) (*repoWork, error) {
	// The entry may track other repositories (or none, for an ad-hoc
	// host); this one is crawled because it was asked for.
	rc.Repositories, rc.Catalog = []string{repo}, nil
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	if err := checkRepoPath(rc.Host, repo); err != nil {
		return nil, err
	}
	auth, err := c.authOption(rc)
	if err != nil {
		return nil, err
	}
	key := rc.Host + "/" + repo
	run := newCrawlRun(c.Retry, c.sleep)
	var reqs atomic.Int64
	p, err := c.puller(rc, run, auth, &reqs)
	if err != nil {
		return nil, err
	}
	r, err := name.NewRepository(key, nameOptions(rc)...)
	if err != nil {
		return nil, err
	}
	sum := RepoSummary{Repository: key}
	return &repoWork{c: c, rc: rc, run: run, repo: r, key: key, p: p, sum: &sum,
		log: c.logger().With("repository", key), ociTags: map[string]bool{}, recorded: map[string]bool{}}, nil
}

// IsNotFound reports whether a registry error says the tag, digest or
// repository does not exist.
func IsNotFound(err error) bool { return isNotFound(err) }

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return true
			}
		}
	}
	return false
}
