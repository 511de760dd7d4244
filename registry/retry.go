package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// RetryPolicy says how hard a crawl tries when a registry misbehaves: rate
// limits (429 with Retry-After), 5xx answers, connection resets and bodies
// cut short. The zero value means the defaults documented on each field.
type RetryPolicy struct {
	// MaxAttempts is how many times one HTTP request, and one tag's
	// processing, is tried in all. Default 5.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each further retry
	// doubles it, with jitter. Default 250ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff wait. Default 20s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a server asking
	// for more fails the request instead of stalling the crawl. Default 2m.
	MaxRetryAfter time.Duration
	// Jitter is the fraction of each backoff randomised (0.2 = ±20%).
	// Default 0.2; negative means none.
	Jitter float64
	// Budget is how many retries one crawl (a CrawlRegistry or
	// CrawlRepository call) may spend in all, so a sick registry cannot
	// keep a crawl busy for hours. Default 200.
	Budget int
	// RequestTimeout bounds one request, reading its body included, so a
	// server that drips bytes cannot hang a crawl. Default 60s; blob
	// downloads get BlobTimeout (default 5m).
	RequestTimeout, BlobTimeout time.Duration
	// MaxResponseBytes caps a manifest, tag list, catalog or referrers
	// response; MaxBlobBytes a blob. A hostile registry cannot make a crawl
	// allocate gigabytes. Defaults 16 MiB and 256 MiB.
	MaxResponseBytes, MaxBlobBytes int64
	// MaxRedirects is how many redirects one crawl follows in all (a
	// registry redirecting in a loop is a dead end). Default 1000.
	MaxRedirects int
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 20 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 2 * time.Minute
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	} else if p.Jitter < 0 {
		p.Jitter = 0
	}
	if p.Budget <= 0 {
		p.Budget = 200
	}
	if p.RequestTimeout <= 0 {
		p.RequestTimeout = 60 * time.Second
	}
	if p.BlobTimeout <= 0 {
		p.BlobTimeout = 5 * time.Minute
	}
	if p.MaxResponseBytes <= 0 {
		p.MaxResponseBytes = 16 << 20
	}
	if p.MaxBlobBytes <= 0 {
		p.MaxBlobBytes = 256 << 20
	}
	if p.MaxRedirects <= 0 {
		p.MaxRedirects = 1000
	}
	return p
}

// ErrResponseTooLarge is returned when a registry response exceeds the limit.
var ErrResponseTooLarge = errors.New("registry response too large")

// ErrTooManyRedirects is returned when a crawl has followed MaxRedirects.
var ErrTooManyRedirects = errors.New("too many redirects in this crawl")

// limitedBody enforces a size limit and releases the request's deadline
// when the body is closed.
type limitedBody struct {
	r      io.ReadCloser
	left   int64
	limit  int64
	url    string
	cancel context.CancelFunc
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("%s: %w (limit %d bytes)", b.url, ErrResponseTooLarge, b.limit)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error {
	err := b.r.Close()
	b.cancel()
	return err
}

// bound applies the time and size limits to one response.
func (t *retryTransport) bound(resp *http.Response, cancel context.CancelFunc, blob bool) (*http.Response, error) {
	limit := t.run.policy.MaxResponseBytes
	if blob {
		limit = t.run.policy.MaxBlobBytes
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%s: %w: %d bytes announced, limit %d", resp.Request.URL.Redacted(), ErrResponseTooLarge, resp.ContentLength, limit)
	}
	resp.Body = &limitedBody{r: resp.Body, left: limit + 1, limit: limit, url: resp.Request.URL.Redacted(), cancel: cancel}
	return resp, nil
}

// backoff returns the wait before retry number n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if p.Jitter > 0 {
		f := 1 + p.Jitter*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return d
}

// ErrRetryBudget is returned when a crawl has spent its retry budget.
var ErrRetryBudget = errors.New("retry budget for this crawl exhausted")

// crawlRun is the state one crawl shares across its repositories: the
// retry budget and the counters.
type crawlRun struct {
	policy    RetryPolicy
	budget    atomic.Int64 // retries left
	requests  atomic.Int64
	retries   atomic.Int64
	redirects atomic.Int64
	sleep     func(context.Context, time.Duration) error
	// pings keeps each registry's answer to the API version check (GET
	// /v2/) for the crawl: go-containerregistry asks it once per
	// repository to learn the auth scheme, and the answer is the
	// registry's, not the repository's. scheme://host → *pingEntry.
	pingMu sync.Mutex
	pings  map[string]*pingEntry
}

// pingEntry is one registry's ping: the first asker sends it, the others
// wait for its answer.
type pingEntry struct {
	done   chan struct{}
	answer *pingAnswer // nil: the first ping failed; ask again
}

type pingAnswer struct {
	status int
	header http.Header
}

// isPing reports whether req is the unauthenticated API version check.
func isPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.Header.Get("Authorization") == ""
}

// ping returns the crawl's answer for req's registry, or, for the first
// asker, a function to record the answer it gets (with nil: it failed).
func (r *crawlRun) ping(req *http.Request) (*http.Response, func(*http.Response)) {
	key := req.URL.Scheme + "://" + req.URL.Host
	r.pingMu.Lock()
	if r.pings == nil {
		r.pings = map[string]*pingEntry{}
	}
	e, ok := r.pings[key]
	if !ok {
		e = &pingEntry{done: make(chan struct{})}
		r.pings[key] = e
		r.pingMu.Unlock()
		return nil, func(resp *http.Response) {
			// Only the answers the auth handshake reads are kept (200: no
			// auth, 401: a challenge); after anything else the next asker
			// pings again.
			if resp != nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized) {
				e.answer = &pingAnswer{status: resp.StatusCode, header: resp.Header.Clone()}
			} else {
				r.pingMu.Lock()
				delete(r.pings, key)
				r.pingMu.Unlock()
			}
			close(e.done)
		}
	}
	r.pingMu.Unlock()
	select {
	case <-e.done:
	case <-req.Context().Done():
		return nil, func(*http.Response) {}
	}
	if e.answer == nil {
		return r.ping(req)
	}
	a := e.answer
	return &http.Response{StatusCode: a.status, Status: fmt.Sprintf("%d %s", a.status, http.StatusText(a.status)),
		Header: a.header.Clone(), Body: http.NoBody, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

func newCrawlRun(p RetryPolicy, sleep func(context.Context, time.Duration) error) *crawlRun {
	r := &crawlRun{policy: p.withDefaults(), sleep: sleep}
	if r.sleep == nil {
		r.sleep = sleepCtx
	}
	r.budget.Store(int64(r.policy.Budget))
	return r
}

// take spends one retry from the budget.
func (r *crawlRun) take() bool {
	if r.budget.Add(-1) < 0 {
		r.budget.Add(1)
		return false
	}
	r.retries.Add(1)
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryTransport retries transient failures under the crawl's policy and
// budget, and counts every attempt that reaches the network. When
// plainHTTPHost is set, https requests to that host go out as http (an
// "insecure" registry), so no TLS attempt is wasted on it.
type retryTransport struct {
	inner         http.RoundTripper
	run           *crawlRun
	counters      []*atomic.Int64
	plainHTTPHost string
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var recorded *http.Response // a ping's final answer, for the crawl's other askers
	if t.plainHTTPHost != "" && req.URL.Scheme == "https" && req.URL.Host == t.plainHTTPHost {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
	}
	var record func(*http.Response)
	if isPing(req) {
		var cached *http.Response
		if cached, record = t.run.ping(req); cached != nil {
			return cached, nil
		}
		defer func() { record(recorded) }()
	}
	ctx := req.Context()
	p := t.run.policy
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			try = req.Clone(ctx)
			try.Body = body
		}
		t.run.requests.Add(1)
		for _, c := range t.counters {
			c.Add(1)
		}
		blob := strings.Contains(try.URL.Path, "/blobs/")
		timeout := p.RequestTimeout
		if blob {
			timeout = p.BlobTimeout
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := t.inner.RoundTrip(try.WithContext(rctx))
		if err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
			if t.run.redirects.Add(1) > int64(p.MaxRedirects) {
				resp.Body.Close()
				cancel()
				return nil, fmt.Errorf("%s %s: %w (%d)", req.Method, req.URL.Redacted(), ErrTooManyRedirects, p.MaxRedirects)
			}
		}
		if err == nil {
			resp, err = t.bound(resp, cancel, blob)
		} else {
			cancel()
		}
		wait, retry := p.backoff(attempt), false
		switch {
		case ctx.Err() != nil:
		case err != nil:
			retry = transientError(err)
		case retryStatus(resp.StatusCode):
			retry = true
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				if ra > p.MaxRetryAfter {
					retry = false // the server wants longer than we will wait
				} else {
					wait = ra
				}
			}
		}
		rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if !retry || !rewindable || attempt >= p.MaxAttempts || !t.run.take() {
			if err == nil {
				recorded = resp
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if serr := t.run.sleep(ctx, wait); serr != nil {
			if err == nil {
				err = serr
			}
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
		}
	}
}

// retryStatus: rate limits, timeouts and server errors are worth another try.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusRequestTimeout:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// transientError: a connection reset or closed early, a body cut short, a
// timeout. Context cancellation is not.
func transientError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		s = min(s, 366*24*3600) // no overflow; far beyond any MaxRetryAfter
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
