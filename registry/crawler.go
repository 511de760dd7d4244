package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/safeguard-dev/safeguard/store"
)

// Limits on what a registry may make the crawler read.
const (
	// DefaultMaxSBOMBytes bounds one attached SBOM blob.
	DefaultMaxSBOMBytes = 100 << 20
	// MaxConfigBlobBytes bounds one image config blob.
	MaxConfigBlobBytes = 8 << 20
	// MaxIndexManifests bounds the entries of one index or referrers list.
	MaxIndexManifests = 1024
	// MaxSBOMLayers bounds the blobs read from one SBOM referrer.
	MaxSBOMLayers = 16
)

// ErrUnusableSBOM marks an SBOMSink error caused by the document itself
// (not an SBOM, no usable package): the crawler records the referrer
// without an SBOM, notes a warning and moves on. Any other sink error fails
// the image, which is then retried by the next crawl.
var ErrUnusableSBOM = errors.New("unusable SBOM")

// Crawler walks registries and records what it finds in the Inventory.
// Only Inventory is required; the zero value of every other field is a
// working default.
type Crawler struct {
	Inventory Inventory
	// SBOMs ingests attached SBOMs; nil records SBOM referrers without
	// ingesting them.
	SBOMs  SBOMSink
	Logger *slog.Logger
	// Transport is the base HTTP transport (remote.DefaultTransport when
	// nil). Every request a crawl makes goes through it, wrapped in the
	// retry policy and the request counter.
	Transport http.RoundTripper
	Retry     RetryPolicy
	// Notifier posts moved-tag events to the registry's notify URLs; nil
	// uses a Notifier with its defaults.
	Notifier *Notifier
	Now      func() time.Time
	// Concurrency is how many repositories are crawled at once (default 4).
	Concurrency int
	// Getenv reads the credential variables named in the config
	// (os.Getenv when nil).
	Getenv func(string) string
	// Keychain is used when an entry names no credentials
	// (authn.DefaultKeychain when nil).
	Keychain authn.Keychain
	// MaxSBOMBytes bounds one attached SBOM (DefaultMaxSBOMBytes when 0).
	MaxSBOMBytes int64

	sleep func(context.Context, time.Duration) error // tests
}

// Summary is what one registry crawl did.
type Summary struct {
	Registry      string `json:"registry"`
	Host          string `json:"host"`
	Repositories  int    `json:"repositories"`
	TagsSeen      int    `json:"tags_seen"`
	TagsUnchanged int    `json:"tags_unchanged"`
	NewImages     int    `json:"new_images"`
	MovedTags     int    `json:"moved_tags"`
	DeletedTags   int    `json:"deleted_tags"`
	Referrers     int    `json:"referrers"`
	SBOMs         int    `json:"sboms_ingested"`
	// Requests counts every HTTP request sent, retries included.
	Requests int64 `json:"http_requests"`
	Retries  int64 `json:"retries"`
	// Errors maps a repository (host/path) to why it failed; the other
	// repositories were crawled regardless.
	Errors   map[string]string `json:"errors,omitempty"`
	Repos    []RepoSummary     `json:"repository_summaries"`
	Duration time.Duration     `json:"duration_ns"`
}

// RepoSummary is what crawling one repository did.
type RepoSummary struct {
	Repository    string `json:"repository"` // host/path
	TagsSeen      int    `json:"tags_seen"`
	TagsUnchanged int    `json:"tags_unchanged"`
	NewImages     int    `json:"new_images"`
	MovedTags     int    `json:"moved_tags"`
	DeletedTags   int    `json:"deleted_tags"`
	Referrers     int    `json:"referrers"`
	SBOMs         int    `json:"sboms_ingested"`
	Requests      int64  `json:"http_requests"`
	// Events are the moved and deleted tags, as stored.
	Events []store.Event `json:"events,omitempty"`
	// Warnings are things skipped on purpose: an attached SBOM that does
	// not decode, a manifest type the crawler does not inventory.
	Warnings []string `json:"warnings,omitempty"`
	// Failed lists the tags that could not be processed; they are tried
	// again by the next crawl.
	Failed []string `json:"failed,omitempty"`
}

func (c *Crawler) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Crawler) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Crawler) maxSBOM() int64 {
	if c.MaxSBOMBytes > 0 {
		return c.MaxSBOMBytes
	}
	return DefaultMaxSBOMBytes
}

// CrawlRegistry crawls every repository an entry tracks: the explicit list
// and, when catalog is set, the filtered catalog. A failing repository is
// named in Summary.Errors and does not stop the others; the error is for
// what stops the whole crawl (bad config, credentials, an unreadable
// catalog, cancellation).
func (c *Crawler) CrawlRegistry(ctx context.Context, rc RegistryConfig) (sum Summary, err error) {
	start := time.Now()
	sum = Summary{Registry: rc.Name, Host: rc.Host, Errors: map[string]string{}}
	if err := rc.Validate(); err != nil {
		return sum, err
	}
	run := newCrawlRun(c.Retry, c.sleep)
	defer func() {
		sum.Requests, sum.Retries = run.requests.Load(), run.retries.Load()
		sum.Duration = time.Since(start)
	}()
	auth, err := c.authOption(rc)
	if err != nil {
		return sum, err
	}
	repos, err := c.repositories(ctx, rc, run, auth)
	if err != nil {
		return sum, err
	}
	sum.Repositories = len(repos)
	results := make([]RepoSummary, len(repos))
	errs := make([]error, len(repos))
	conc := c.Concurrency
	if conc <= 0 {
		conc = 4
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, repo := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = c.crawlRepo(ctx, rc, run, auth, repo)
		}()
	}
	wg.Wait()
	for i, r := range results {
		sum.TagsSeen += r.TagsSeen
		sum.TagsUnchanged += r.TagsUnchanged
		sum.NewImages += r.NewImages
		sum.MovedTags += r.MovedTags
		sum.DeletedTags += r.DeletedTags
		sum.Referrers += r.Referrers
		sum.SBOMs += r.SBOMs
		if errs[i] != nil {
			sum.Errors[r.Repository] = errs[i].Error()
		}
	}
	sum.Repos = results
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

// CrawlRepository crawls one repository (a path under the entry's host),
// with its own retry budget.
func (c *Crawler) CrawlRepository(ctx context.Context, rc RegistryConfig, repo string) (RepoSummary, error) {
	if err := rc.Validate(); err != nil {
		return RepoSummary{Repository: rc.Host + "/" + repo}, err
	}
	if err := checkRepoPath(rc.Host, repo); err != nil {
		return RepoSummary{Repository: rc.Host + "/" + repo}, err
	}
	auth, err := c.authOption(rc)
	if err != nil {
		return RepoSummary{Repository: rc.Host + "/" + repo}, err
	}
	return c.crawlRepo(ctx, rc, newCrawlRun(c.Retry, c.sleep), auth, repo)
}

func (c *Crawler) authOption(rc RegistryConfig) (remote.Option, error) {
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cr := rc.Credentials
	switch {
	case cr.TokenEnv != "":
		tok := getenv(cr.TokenEnv)
		if tok == "" {
			return nil, fmt.Errorf("registry %q: credentials: environment variable %s is unset or empty", rc.Name, cr.TokenEnv)
		}
		return remote.WithAuth(&authn.Bearer{Token: tok}), nil
	case cr.Username != "":
		pw := getenv(cr.PasswordEnv)
		if pw == "" {
			return nil, fmt.Errorf("registry %q: credentials: environment variable %s is unset or empty", rc.Name, cr.PasswordEnv)
		}
		return remote.WithAuth(&authn.Basic{Username: cr.Username, Password: pw}), nil
	}
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return remote.WithAuthFromKeychain(kc), nil
}

// puller builds a go-containerregistry puller whose every request goes
// through the crawl's retry transport; go-containerregistry's own retries
// are switched off so the policy and the counts are ours alone.
func (c *Crawler) puller(rc RegistryConfig, run *crawlRun, auth remote.Option, counters ...*atomic.Int64) (*remote.Puller, error) {
	base := c.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	tr := &retryTransport{inner: base, run: run, counters: counters}
	if rc.Insecure {
		reg, err := name.NewRegistry(rc.Host, name.Insecure)
		if err != nil {
			return nil, err
		}
		tr.plainHTTPHost = reg.RegistryStr()
	}
	return remote.NewPuller(
		remote.WithTransport(tr), auth,
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithUserAgent("safeguard"),
	)
}

func nameOptions(rc RegistryConfig) []name.Option {
	if rc.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// repositories returns the explicit list plus the filtered catalog, sorted.
func (c *Crawler) repositories(ctx context.Context, rc RegistryConfig, run *crawlRun, auth remote.Option) ([]string, error) {
	set := map[string]bool{}
	for _, r := range rc.Repositories {
		set[r] = true
	}
	if rc.Catalog != nil {
		p, err := c.puller(rc, run, auth)
		if err != nil {
			return nil, err
		}
		reg, err := name.NewRegistry(rc.Host, nameOptions(rc)...)
		if err != nil {
			return nil, err
		}
		var all []string
		err = retryOp(ctx, run, c.logger(), "catalog", func() error {
			var err error
			all, err = p.Catalog(ctx, reg)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("registry %q: catalog: %w", rc.Name, err)
		}
		for _, r := range all {
			if checkRepoPath(rc.Host, r) != nil {
				c.logger().Warn("catalog lists an invalid repository name; skipped", "registry", rc.Name, "repository", r)
				continue
			}
			if rc.Catalog.Accepts(r) {
				set[r] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out, nil
}

// retryOp retries a whole operation when it failed on the network in a way
// the transport cannot see: a body cut short shows up only when read.
func retryOp(ctx context.Context, run *crawlRun, log *slog.Logger, what string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || !transientError(err) || attempt >= run.policy.MaxAttempts {
			return err
		}
		if !run.take() {
			return fmt.Errorf("%w: %w", ErrRetryBudget, err)
		}
		log.Debug("retrying", "what", what, "attempt", attempt, "err", err)
		if serr := run.sleep(ctx, run.policy.backoff(attempt)); serr != nil {
			return err
		}
	}
}

var (
	// sha256-<hex> is the OCI referrers tag schema; .sig, .att and .sbom
	// are cosign's signature, attestation and SBOM tags.
	fallbackTag = regexp.MustCompile(`^sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?$`)
	validTag    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// repoWork is one repository's crawl.
type repoWork struct {
	c        *Crawler
	rc       RegistryConfig
	run      *crawlRun
	repo     name.Repository
	key      string // host/path, as stored
	p        *remote.Puller
	sum      *RepoSummary
	log      *slog.Logger
	ociTags  map[string]bool // sha256-<hex> fallback index tags present
	recorded map[string]bool // digests recorded during this crawl
}

func (c *Crawler) crawlRepo(ctx context.Context, rc RegistryConfig, run *crawlRun, auth remote.Option, path string) (RepoSummary, error) {
	key := rc.Host + "/" + path
	sum := RepoSummary{Repository: key}
	var reqs atomic.Int64
	repo, err := name.NewRepository(key, nameOptions(rc)...)
	if err != nil {
		return sum, err
	}
	p, err := c.puller(rc, run, auth, &reqs)
	if err != nil {
		return sum, err
	}
	w := &repoWork{c: c, rc: rc, run: run, repo: repo, key: key, p: p, sum: &sum,
		log: c.logger().With("repository", key), ociTags: map[string]bool{}, recorded: map[string]bool{}}
	err = w.crawl(ctx)
	sum.Requests = reqs.Load()
	return sum, err
}

func (w *repoWork) crawl(ctx context.Context) error {
	inv := w.c.Inventory
	var tags []string
	err := retryOp(ctx, w.run, w.log, "list tags", func() error {
		var err error
		tags, err = w.p.List(ctx, w.repo)
		return err
	})
	if err != nil {
		return fmt.Errorf("list tags: %w", err)
	}
	sort.Strings(tags)
	current, err := inv.CurrentTags(ctx, w.key)
	if err != nil {
		return err
	}
	var images []string
	type cosignTag struct{ tag, subject, suffix string }
	var cosign []cosignTag
	for _, t := range tags {
		if m := fallbackTag.FindStringSubmatch(t); m != nil {
			if m[2] == "" {
				w.ociTags[t] = true // read through the referrers call
			} else {
				cosign = append(cosign, cosignTag{t, "sha256:" + m[1], m[2]})
			}
			continue
		}
		if !validTag.MatchString(t) {
			w.warn("tag %q is not a valid tag name; skipped", t)
			continue
		}
		images = append(images, t)
	}
	var failed []error
	for _, t := range images {
		w.sum.TagsSeen++
		err := retryOp(ctx, w.run, w.log, "tag "+t, func() error { return w.tag(ctx, t, current[t]) })
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.log.Warn("tag failed; it is retried by the next crawl", "tag", t, "err", err)
			w.sum.Failed = append(w.sum.Failed, t)
			failed = append(failed, fmt.Errorf("tag %s: %w", t, err))
		}
	}
	// Signatures, attestations and SBOMs attached through cosign's tags,
	// after the images they refer to.
	for _, ct := range cosign {
		w.sum.TagsSeen++
		err := retryOp(ctx, w.run, w.log, "tag "+ct.tag, func() error { return w.cosignTag(ctx, ct.tag, ct.subject, ct.suffix) })
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.sum.Failed = append(w.sum.Failed, ct.tag)
			failed = append(failed, fmt.Errorf("tag %s: %w", ct.tag, err))
		}
	}
	evs, err := inv.RemoveTagsExcept(ctx, w.key, images, w.c.now())
	if err != nil {
		return err
	}
	w.sum.DeletedTags += len(evs)
	w.sum.Events = append(w.sum.Events, evs...)
	return errors.Join(failed...)
}

func (w *repoWork) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.log.Warn(msg)
	w.sum.Warnings = append(w.sum.Warnings, msg)
}

// tag resolves one tag with a HEAD. An unchanged tag costs that request
// only. Otherwise its image(s) are recorded first, then the tag, so the
// store never holds a tag pointing at an image it lacks.
func (w *repoWork) tag(ctx context.Context, tag, last string) error {
	desc, err := w.p.Head(ctx, w.repo.Tag(tag))
	if err != nil {
		return err
	}
	d := desc.Digest.String()
	obs := store.TagObservation{Repository: w.key, Tag: tag, Digest: d, MediaType: string(desc.MediaType), At: w.c.now()}
	if d == last {
		w.sum.TagsUnchanged++
		_, err := w.c.Inventory.RecordTag(ctx, obs)
		return err
	}
	ok, err := w.manifest(ctx, d, nil, "", 0)
	if err != nil {
		return err
	}
	if !ok {
		return nil // not something we inventory; warned
	}
	ev, err := w.c.Inventory.RecordTag(ctx, obs)
	if err != nil {
		return err
	}
	if ev != nil && ev.Kind == store.EventTagMoved {
		w.sum.MovedTags++
		w.sum.Events = append(w.sum.Events, *ev)
		w.log.Info("tag moved", "tag", tag, "from", ev.OldDigest, "to", ev.Digest)
		w.notify(ctx, *ev)
	}
	return nil
}

func (w *repoWork) notify(ctx context.Context, ev store.Event) {
	if len(w.rc.Notify) == 0 {
		return
	}
	n := w.c.Notifier
	if n == nil {
		n = &Notifier{Logger: w.c.Logger}
	}
	if err := n.Notify(ctx, w.rc.Notify, ev); err != nil {
		w.log.Warn("moved-tag notification failed", "tag", ev.Tag, "err", err)
	}
}

// manifest makes sure a digest is recorded: an index with its platform
// images, or one image; with the referrers of each. It reports false for a
// manifest that is not inventoried (schema 1, unknown media types).
func (w *repoWork) manifest(ctx context.Context, d string, platform *v1.Platform, indexDigest string, depth int) (bool, error) {
	if w.recorded[d] {
		return true, nil
	}
	has, err := w.c.Inventory.HasImage(ctx, d)
	if err != nil || has {
		return has, err
	}
	h, err := v1.NewHash(d)
	if err != nil {
		return false, err
	}
	got, err := w.p.Get(ctx, w.repo.Digest(h.String()))
	if err != nil {
		return false, err
	}
	switch mt := got.MediaType; {
	case mt.IsIndex():
		if depth > 1 {
			w.warn("index %s nests indexes more than two deep; skipped", d)
			return false, nil
		}
		err = w.index(ctx, d, mt, got.Manifest, depth)
	case mt.IsImage() || mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2:
		err = w.image(ctx, d, mt, got.Manifest, platform, indexDigest)
	case mt.IsSchema1():
		w.warn("%s is a Docker schema 1 manifest, which is not inventoried", d)
		return false, nil
	default:
		w.warn("%s has media type %q, which is not inventoried", d, mt)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	w.recorded[d] = true
	return true, nil
}

func (w *repoWork) index(ctx context.Context, d string, mt types.MediaType, raw []byte, depth int) error {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("index %s: %w", d, err)
	}
	if len(im.Manifests) > MaxIndexManifests {
		return fmt.Errorf("index %s lists %d manifests (limit %d)", d, len(im.Manifests), MaxIndexManifests)
	}
	var children []string
	var attestations []v1.Descriptor
	for _, m := range im.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			attestations = append(attestations, m)
			continue
		}
		if m.Platform != nil && m.Platform.OS == "unknown" && m.Platform.Architecture == "unknown" {
			continue // not a runnable image
		}
		ok, err := w.manifest(ctx, m.Digest.String(), m.Platform, d, depth+1)
		if err != nil {
			return fmt.Errorf("index %s: %s: %w", d, m.Digest, err)
		}
		if ok {
			children = append(children, m.Digest.String())
		}
	}
	// BuildKit keeps provenance and SBOM attestations in the index, as
	// unknown/unknown manifests naming the image they describe.
	for _, m := range attestations {
		subject := m.Annotations["vnd.docker.reference.digest"]
		if _, err := v1.NewHash(subject); err != nil {
			w.warn("attestation manifest %s in index %s names no valid subject", m.Digest, d)
			continue
		}
		if err := w.referrer(ctx, subject, m, "buildkit attestation in index "+d, ""); err != nil {
			return err
		}
	}
	if err := w.referrers(ctx, d); err != nil {
		return err
	}
	return w.c.Inventory.RecordIndex(ctx, w.key, d, string(mt), children)
}

func (w *repoWork) image(ctx context.Context, d string, mt types.MediaType, raw []byte, platform *v1.Platform, indexDigest string) error {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("manifest %s: %w", d, err)
	}
	img := store.Image{
		Digest: d, Repository: w.key, IndexDigest: indexDigest, MediaType: string(mt),
		ConfigDigest: m.Config.Digest.String(), Annotations: m.Annotations,
		Size: int64(len(raw)) + m.Config.Size, FirstSeen: w.c.now(), Layers: []string{},
	}
	for _, l := range m.Layers {
		img.Layers = append(img.Layers, l.Digest.String())
		img.Size += l.Size
	}
	switch m.Config.MediaType {
	case types.DockerConfigJSON, types.OCIConfigJSON:
		blob, err := w.blob(ctx, m.Config, MaxConfigBlobBytes)
		if err != nil {
			return fmt.Errorf("config of %s: %w", d, err)
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(blob))
		if err != nil {
			return fmt.Errorf("config of %s: %w", d, err)
		}
		img.Created = cf.Created.UTC()
		img.Labels = cf.Config.Labels
		img.OS, img.Architecture, img.Variant = cf.OS, cf.Architecture, cf.Variant
		for _, id := range cf.RootFS.DiffIDs {
			img.DiffIDs = append(img.DiffIDs, id.String())
		}
	}
	if img.OS == "" && platform != nil {
		img.OS, img.Architecture, img.Variant = platform.OS, platform.Architecture, platform.Variant
	}
	if img.DiffIDs == nil {
		img.DiffIDs = []string{}
	}
	if err := w.referrers(ctx, d); err != nil {
		return err
	}
	if err := w.c.Inventory.RecordImage(ctx, img); err != nil {
		return err
	}
	w.sum.NewImages++
	return nil
}

// blob reads a blob by descriptor, within limit, and checks its digest.
func (w *repoWork) blob(ctx context.Context, desc v1.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("blob %s is %d bytes (limit %d)", desc.Digest, desc.Size, limit)
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: only sha256 digests are supported", desc.Digest)
	}
	l, err := w.p.Layer(ctx, w.repo.Digest(desc.Digest.String()))
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", desc.Digest, limit)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != desc.Digest.Hex {
		// A body cut short that still ended cleanly, or a lying registry.
		return nil, fmt.Errorf("blob %s: content does not match its digest: %w", desc.Digest, io.ErrUnexpectedEOF)
	}
	return data, nil
}

// referrers records what the OCI 1.1 referrers API (or the sha256-<hex>
// tag schema, on registries without it) lists for a digest.
func (w *repoWork) referrers(ctx context.Context, subject string) error {
	d, err := name.NewDigest(w.key+"@"+subject, nameOptions(w.rc)...)
	if err != nil {
		return err
	}
	idx, err := remote.Referrers(d, remote.Reuse(w.p), remote.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("referrers of %s: %w", subject, err)
	}
	if len(im.Manifests) > MaxIndexManifests {
		return fmt.Errorf("referrers of %s: %d entries (limit %d)", subject, len(im.Manifests), MaxIndexManifests)
	}
	via := "referrers API"
	if t := strings.Replace(subject, ":", "-", 1); w.ociTags[t] {
		via = "referrers tag " + t
	}
	for _, desc := range im.Manifests {
		if desc.Digest.String() == subject {
			continue
		}
		if err := w.referrer(ctx, subject, desc, via, ""); err != nil {
			return err
		}
	}
	return nil
}

// cosignTag handles a sha256-<hex>.sig|.att|.sbom tag: one HEAD; the
// artifact is read only when it is new and its subject is inventoried.
func (w *repoWork) cosignTag(ctx context.Context, tag, subject, suffix string) error {
	desc, err := w.p.Head(ctx, w.repo.Tag(tag))
	if err != nil {
		return err
	}
	has, err := w.c.Inventory.HasReferrer(ctx, subject, desc.Digest.String())
	if err != nil {
		return err
	}
	if has {
		w.sum.TagsUnchanged++
		return nil
	}
	if ok, err := w.c.Inventory.HasImage(ctx, subject); err != nil || !ok {
		if err == nil {
			w.log.Debug("cosign tag for a digest not in the inventory; skipped", "tag", tag)
		}
		return err
	}
	return w.referrer(ctx, subject, *desc, "tag "+tag, suffix)
}

// referrer fetches, classifies and records one attached artifact; an SBOM
// is ingested first so the record carries its id.
func (w *repoWork) referrer(ctx context.Context, subject string, desc v1.Descriptor, via, hint string) error {
	d := desc.Digest.String()
	has, err := w.c.Inventory.HasReferrer(ctx, subject, d)
	if err != nil || has {
		return err
	}
	got, err := w.p.Get(ctx, w.repo.Digest(d))
	if err != nil {
		return fmt.Errorf("referrer %s: %w", d, err)
	}
	ref := store.Referrer{
		Repository: w.key, Subject: subject, Digest: d, MediaType: string(got.MediaType),
		ArtifactType: firstArtifactType(desc.ArtifactType), FoundVia: via, Size: int64(len(got.Manifest)), At: w.c.now(),
		Annotations: map[string]string{},
	}
	maps(ref.Annotations, desc.Annotations, "")
	var cls classification
	var m *v1.Manifest
	if got.MediaType.IsIndex() {
		cls.kind = store.KindOther
	} else {
		m, err = v1.ParseManifest(bytes.NewReader(got.Manifest))
		if err != nil {
			return fmt.Errorf("referrer %s: %w", d, err)
		}
		// The manifest's own artifactType wins over what a listing says
		// (some registries report the config media type there).
		ref.ArtifactType = firstArtifactType(m.ArtifactType, desc.ArtifactType, string(m.Config.MediaType))
		maps(ref.Annotations, m.Annotations, "")
		for i, l := range m.Layers {
			ref.Size += l.Size
			prefix := ""
			if len(m.Layers) > 1 {
				prefix = fmt.Sprintf("layers.%d.", i)
			}
			maps(ref.Annotations, l.Annotations, prefix)
		}
		cls = classify(ref.ArtifactType, m, ref.Annotations, hint)
	}
	ref.Kind = cls.kind
	if m != nil && keepsMaterial(cls.kind, m) {
		if err := w.material(ctx, subject, d, ref.ArtifactType, cls.kind, m); err != nil {
			return fmt.Errorf("referrer %s: %w", d, err)
		}
	}
	if cls.kind == store.KindSBOM || len(cls.maybe) > 0 {
		id, found, err := w.ingest(ctx, subject, d, cls)
		if err != nil {
			return fmt.Errorf("referrer %s: %w", d, err)
		}
		ref.SBOMID = id
		if found {
			ref.Kind = store.KindSBOM
		}
	}
	if err := w.c.Inventory.RecordReferrer(ctx, ref); err != nil {
		return err
	}
	w.sum.Referrers++
	return nil
}

// ingest reads an SBOM referrer's candidate layers and hands each document
// to the sink. It returns the first stored id and whether any layer held
// an SBOM at all.
func (w *repoWork) ingest(ctx context.Context, subject, refDigest string, cls classification) (int64, bool, error) {
	var first int64
	found := false
	layers := append(append([]sbomLayer{}, cls.sbom...), cls.maybe...)
	if len(layers) > MaxSBOMLayers {
		w.warn("referrer %s has %d SBOM candidates; the first %d are read", refDigest, len(layers), MaxSBOMLayers)
		layers = layers[:MaxSBOMLayers]
	}
	for _, l := range layers {
		blob, err := w.blob(ctx, l.desc, w.c.maxSBOM())
		if err != nil {
			return 0, false, err
		}
		doc, ok, err := extractSBOM(l.wrap, blob)
		if err != nil {
			w.warn("referrer %s: layer %s: %v", refDigest, l.desc.Digest, err)
			continue
		}
		if !ok {
			continue // an attestation of some other kind
		}
		found = true
		if w.c.SBOMs == nil {
			continue
		}
		id, err := w.c.SBOMs.IngestAttached(ctx, w.key+"@"+subject, subject, doc, "referrer "+w.key+"@"+refDigest)
		if errors.Is(err, ErrUnusableSBOM) {
			w.warn("referrer %s: %v", refDigest, err)
			continue
		}
		if err != nil {
			return 0, false, err
		}
		w.sum.SBOMs++
		if first == 0 {
			first = id
		}
	}
	return first, found, nil
}

// maps copies src into dst with a key prefix.
func maps(dst, src map[string]string, prefix string) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst[prefix+k] = src[k]
	}
}

// firstArtifactType returns the first meaningful artifact type: the empty
// config type says nothing.
func firstArtifactType(candidates ...string) string {
	for _, c := range candidates {
		if c != "" && c != string(types.OCIEmptyJSON) {
			return c
		}
	}
	return ""
}

// Limits on what is kept of one signature referrer.
const (
	MaxSignatureLayers     = 8
	MaxSignatureLayerBytes = 4 << 20
)

// keepsMaterial says whether a referrer's layers are signature material:
// signatures, attestations (DSSE envelopes, Sigstore bundles), notation.
func keepsMaterial(kind string, m *v1.Manifest) bool {
	switch kind {
	case store.KindSignature, store.KindAttestation, store.KindNotation:
		return true
	}
	for _, l := range m.Layers {
		mt := string(l.MediaType)
		if mt == "application/vnd.dsse.envelope.v1+json" || strings.HasPrefix(mt, "application/vnd.dev.sigstore.bundle") {
			return true
		}
	}
	return false
}

// material fetches a signature referrer's layers and records them.
func (w *repoWork) material(ctx context.Context, subject, refDigest, artifactType, kind string, m *v1.Manifest) error {
	layers := m.Layers
	if len(layers) > MaxSignatureLayers {
		w.warn("referrer %s has %d layers; the first %d are kept for verification", refDigest, len(layers), MaxSignatureLayers)
		layers = layers[:MaxSignatureLayers]
	}
	var ms []store.SignatureMaterial
	for i, l := range layers {
		body, err := w.blob(ctx, l, MaxSignatureLayerBytes)
		if err != nil {
			w.warn("referrer %s: layer %d: %v", refDigest, i, err)
			continue // verified as invalid later: missing material never counts as signed
		}
		ann := map[string]string{}
		maps(ann, l.Annotations, "")
		ms = append(ms, store.SignatureMaterial{Subject: subject, Referrer: refDigest, Index: i, Kind: kind,
			ArtifactType: artifactType, MediaType: string(l.MediaType), Annotations: ann, Body: body})
	}
	if len(ms) == 0 {
		return nil
	}
	return w.c.Inventory.RecordSignatureMaterial(ctx, ms)
}
