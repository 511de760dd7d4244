package imageref

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Defaults of RegistryTags.
const (
	DefaultTagTimeout  = 5 * time.Second
	DefaultMaxTags     = 20000
	DefaultMaxTagBytes = 8 << 20
	maxTagPages        = 100
)

// RegistryTags is a TagLister that asks the registry over the OCI
// distribution API (GET /v2/<name>/tags/list, page by page). Every listing is
// bounded in time, pages, tags and response bytes, because the answer comes
// from outside; a registry that cannot be reached or answers badly is an
// error, and Check then falls back to the catalogue's release patterns.
// Listings are remembered per repository for the life of the value, so a
// Dockerfile naming alpine fifty times lists it once.
type RegistryTags struct {
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Auth answers registry authentication; nil means anonymous.
	Auth authn.Authenticator
	// Timeout bounds one repository's listing, all pages; 0 means DefaultTagTimeout.
	Timeout time.Duration
	// MaxTags stops a listing that grows past it (an error); 0 means DefaultMaxTags.
	MaxTags int
	// MaxBytes bounds each response body; 0 means DefaultMaxTagBytes.
	MaxBytes int64
	// Mirrors sends a registry's listings to another host, as a pull-through
	// mirror does: {"docker.io": "mirror.example.com:5000"}.
	Mirrors map[string]string

	mu    sync.Mutex
	cache map[string]tagResult
	down  map[string]error // hosts that could not be reached: not asked again
}

type tagResult struct {
	tags []string
	err  error
}

// Tags lists the tags of ref's repository.
func (l *RegistryTags) Tags(ref Ref) ([]string, error) {
	key := ref.Name()
	l.mu.Lock()
	if r, ok := l.cache[key]; ok {
		l.mu.Unlock()
		return r.tags, r.err
	}
	l.mu.Unlock()
	tags, err := l.list(ref)
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]tagResult{}
	}
	l.cache[key] = tagResult{tags, err}
	l.mu.Unlock()
	return tags, err
}

func (l *RegistryTags) list(ref Ref) ([]string, error) {
	host := ref.Registry
	if m, ok := l.Mirrors[host]; ok && m != "" {
		host = m
	}
	// A host that did not answer once is not waited for again: a lint of
	// fifty stages offline costs one timeout, not fifty.
	l.mu.Lock()
	err := l.down[host]
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tags, err := l.fetch(ref, host)
	var nerr net.Error
	if err != nil && (errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded)) {
		l.mu.Lock()
		if l.down == nil {
			l.down = map[string]error{}
		}
		l.down[host] = err
		l.mu.Unlock()
	}
	return tags, err
}

func (l *RegistryTags) fetch(ref Ref, host string) ([]string, error) {
	repo, err := name.NewRepository(host+"/"+ref.Repository, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", ref.Name(), err)
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultTagTimeout
	}
	maxTags := l.MaxTags
	if maxTags <= 0 {
		maxTags = DefaultMaxTags
	}
	maxBytes := l.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTagBytes
	}
	base := l.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	auth := l.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := remote.NewPuller(remote.WithContext(ctx), remote.WithAuth(auth),
		remote.WithTransport(limitedTransport{base: base, max: maxBytes}),
		// One try: the fallback is the catalogue, not a slow retry loop.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", ref.Name(), err)
	}
	lister, err := p.Lister(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", ref.Name(), err)
	}
	var tags []string
	for pages := 0; lister.HasNext(); pages++ {
		if pages == maxTagPages {
			return nil, fmt.Errorf("list tags of %s: more than %d pages", ref.Name(), maxTagPages)
		}
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", ref.Name(), err)
		}
		tags = append(tags, page.Tags...)
		if len(tags) > maxTags {
			return nil, fmt.Errorf("list tags of %s: more than %d tags", ref.Name(), maxTags)
		}
	}
	return tags, nil
}

// limitedTransport cuts every response body at max bytes; a longer body
// reads as an error, not as a truncated tag list.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

var errTooLarge = errors.New("registry response too large")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
