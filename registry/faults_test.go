package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

type fault int

const (
	pass fault = iota
	rateLimitSeconds
	rateLimitDate
	unavailable
	badGateway
	serverError
	reset
	truncate
)

// faultyRegistry serves go-containerregistry's in-memory registry and
// injects faults on a fixed schedule: the n-th request of a kind gets
// schedule[kind][n-1]. always, when set, decides first for every request.
type faultyRegistry struct {
	h        http.Handler
	mu       sync.Mutex
	schedule map[string][]fault
	seen     map[string]int
	always   func(*http.Request) fault
	injected int
}

func requestKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/":
		return "ping"
	case strings.Contains(p, "/tags/list"):
		return "tags"
	case strings.Contains(p, "/referrers/"):
		return "referrers"
	case strings.Contains(p, "/manifests/sha256:"):
		return r.Method + " manifest-digest"
	case strings.Contains(p, "/manifests/"):
		return r.Method + " manifest-tag"
	case strings.Contains(p, "/blobs/"):
		return r.Method + " blob"
	}
	return r.Method + " other"
}

func (f *faultyRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	flt := pass
	if f.always != nil {
		flt = f.always(r)
	}
	if flt == pass {
		k := requestKind(r)
		f.seen[k]++
		if n := f.seen[k]; n <= len(f.schedule[k]) {
			flt = f.schedule[k][n-1]
		}
	}
	if flt != pass {
		f.injected++
	}
	f.mu.Unlock()

	switch flt {
	case rateLimitSeconds:
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
	case rateLimitDate:
		w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case unavailable:
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	case badGateway:
		http.Error(w, "bad gateway", http.StatusBadGateway)
	case serverError:
		http.Error(w, "boom", http.StatusInternalServerError)
	case reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	case truncate:
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+64))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		// Returning short of Content-Length makes the server close the
		// connection: the client reads an unexpected EOF.
	default:
		f.h.ServeHTTP(w, r)
	}
}

func faultyServer(t *testing.T, schedule map[string][]fault, always func(*http.Request) fault) (string, *faultyRegistry) {
	f := &faultyRegistry{
		h:        ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))),
		schedule: schedule, seen: map[string]int{}, always: always,
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), f
}

type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestCrawlRetriesTransientFaults(t *testing.T) {
	ctx := context.Background()
	host, f := faultyServer(t, nil, nil)
	s := pushScenario(t, pusher{t, host}, "app")
	// Faults from now on, in a fixed order.
	f.mu.Lock()
	f.schedule = map[string][]fault{
		"tags":                {rateLimitSeconds, unavailable},
		"HEAD manifest-tag":   {rateLimitDate},
		"GET manifest-digest": {reset},
		"GET blob":            {truncate},
		"referrers":           {badGateway},
	}
	f.seen = map[string]int{}
	f.injected = 0
	f.mu.Unlock()

	st := openStore(t)
	sl := &sleepLog{}
	c := &Crawler{Inventory: st, SBOMs: &storeSink{st: st}, Logger: testLogger(t), sleep: sl.sleep,
		// Fresh connections only: Go's transport silently re-sends an
		// idempotent request whose reused connection was reset, which
		// would make the schedule depend on connection reuse.
		Transport: &http.Transport{DisableKeepAlives: true}}
	rc := RegistryConfig{Name: "t", Host: host, Insecure: true, Repositories: []string{"app"}}
	sum, err := c.CrawlRegistry(ctx, rc)
	if err != nil || len(sum.Errors) != 0 {
		t.Fatalf("crawl: %v %v", err, sum.Errors)
	}
	t.Logf("faults injected %d, retries %d, requests %d, waits %v", f.injected, sum.Retries, sum.Requests, sl.waits)
	if f.injected != 6 || sum.Retries != 6 {
		t.Errorf("injected %d faults, crawl retried %d times; want 6 and 6", f.injected, sum.Retries)
	}
	if sum.NewImages != 4 || sum.Referrers != 6 || sum.SBOMs != 4 || sum.TagsSeen != 6 {
		t.Errorf("inventory after faults: %+v", sum)
	}
	tags, _ := st.CurrentTags(ctx, host+"/app")
	if len(tags) != 3 || tags["v1"] != s.v1.Digest.String() {
		t.Errorf("tags: %v", tags)
	}
	var sawSeconds, sawDate bool
	for _, w := range sl.waits {
		sawSeconds = sawSeconds || w == time.Second
		sawDate = sawDate || (w > 0 && w <= 2*time.Second && w != time.Second)
	}
	if !sawSeconds || !sawDate {
		t.Errorf("Retry-After not honoured: waits %v", sl.waits)
	}
}

func TestCrawlFailingRepositoryDoesNotStopOthers(t *testing.T) {
	ctx := context.Background()
	host, f := faultyServer(t, nil, nil)
	p := pusher{t, host}
	p.write("good/app:latest", p.image(nil, time.Now(), v1.Platform{OS: "linux", Architecture: "amd64"}))
	p.write("bad/app:latest", p.image(nil, time.Now(), v1.Platform{OS: "linux", Architecture: "amd64"}))
	f.mu.Lock()
	f.always = func(r *http.Request) fault {
		if strings.HasPrefix(r.URL.Path, "/v2/bad/") {
			return serverError
		}
		return pass
	}
	f.mu.Unlock()

	st := openStore(t)
	c := &Crawler{Inventory: st, Logger: testLogger(t), sleep: noSleep}
	rc := RegistryConfig{Name: "t", Host: host, Insecure: true, Repositories: []string{"bad/app", "good/app"}}
	sum, err := c.CrawlRegistry(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	msg := sum.Errors[host+"/bad/app"]
	if len(sum.Errors) != 1 || !strings.Contains(msg, "500") {
		t.Errorf("errors: %v", sum.Errors)
	}
	if sum.NewImages != 1 || sum.Repos[1].NewImages != 1 {
		t.Errorf("the good repository was not crawled: %+v", sum)
	}
	if sum.Retries != 4 { // MaxAttempts 5: the tag list tried 5 times
		t.Errorf("retries %d, want 4", sum.Retries)
	}
	t.Logf("summary error for the failing repository: %s", msg)
}

func TestCrawlRetryBudget(t *testing.T) {
	host, f := faultyServer(t, nil, nil)
	p := pusher{t, host}
	for _, r := range []string{"a", "b", "c"} {
		p.write(r+":latest", p.image(nil, time.Now(), v1.Platform{OS: "linux", Architecture: "amd64"}))
	}
	f.mu.Lock()
	f.always = func(r *http.Request) fault {
		if requestKind(r) == "tags" {
			return unavailable
		}
		return pass
	}
	f.mu.Unlock()
	c := &Crawler{Inventory: openStore(t), Logger: testLogger(t), sleep: noSleep, Concurrency: 1,
		Retry: RetryPolicy{Budget: 3}}
	sum, err := c.CrawlRegistry(context.Background(), RegistryConfig{Name: "t", Host: host, Insecure: true, Repositories: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Retries != 3 || len(sum.Errors) != 3 {
		t.Errorf("budget 3: %d retries, errors %v", sum.Retries, sum.Errors)
	}
	// 4 attempts on a (3 retries), then 1 each on b and c: budget spent.
	if f.injected != 6 {
		t.Errorf("%d requests failed, want 6", f.injected)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999999", 0, false},
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if transientError(context.Canceled) || !transientError(io.ErrUnexpectedEOF) || !transientError(errors.Join(errors.New("x"), io.ErrUnexpectedEOF)) {
		t.Error("transientError")
	}
}

func TestRetryPolicyBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: -1}.withDefaults()
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, p.backoff(n))
	}
	want := []time.Duration{100e6, 200e6, 400e6, 800e6, 1e9, 1e9}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff %v, want %v", got, want)
		}
	}
	p.Jitter = 0.2
	for n := 1; n <= 50; n++ {
		if d := p.backoff(3); d < 320*time.Millisecond || d > 480*time.Millisecond {
			t.Fatalf("jittered backoff %v outside ±20%% of 400ms", d)
		}
	}
}

// A hostile registry: a tag list announcing gigabytes, a redirect loop, a
// body that drips. Each crawl ends, in bounded time and memory, naming why.
func TestCrawlHostileRegistry(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		policy  RetryPolicy
		want    string
	}{
		{"huge tag list", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(int64(5)<<30))
			w.WriteHeader(200)
			w.Write([]byte(`{"name":"x/y","tags":[`))
		}, RetryPolicy{}, "too large"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, RetryPolicy{MaxRedirects: 50}, "redirect"},
		{"dripping body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			for i := 0; i < 100; i++ {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}, RetryPolicy{RequestTimeout: 300 * time.Millisecond, MaxAttempts: 2}, "deadline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					w.Write([]byte("{}"))
					return
				}
				c.handler(w, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			cr := &Crawler{Inventory: openStore(t), Logger: testLogger(t), sleep: noSleep, Retry: c.policy}
			start := time.Now()
			sum, err := cr.CrawlRegistry(context.Background(), RegistryConfig{Name: "evil", Host: host, Insecure: true, Repositories: []string{"x/y"}})
			if err != nil {
				t.Fatal(err)
			}
			msg := fmt.Sprint(sum.Errors)
			if len(sum.Errors) != 1 || !strings.Contains(strings.ToLower(msg), c.want) {
				t.Fatalf("errors %v, want one naming %q", sum.Errors, c.want)
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("crawl of a hostile registry took %v", time.Since(start))
			}
		})
	}
}
