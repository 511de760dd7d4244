package bench

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// envInt reads a positive integer from the environment, or def.
func envInt(b *testing.B, key string, def int) int {
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", key, s)
	}
	return n
}

// countingTransport counts requests by kind, so a crawl's Summary.Requests
// can be broken down exactly.
type countingTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	kinds map[string]int64
}

func requestKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping " + r.Method
	case strings.HasSuffix(p, "/tags/list"):
		return "tag list " + r.Method
	case p == "/v2/_catalog":
		return "catalog " + r.Method
	case strings.Contains(p, "/manifests/sha256-"):
		return "referrers fallback tag " + r.Method
	case strings.Contains(p, "/manifests/sha256:"):
		return "manifest by digest " + r.Method
	case strings.Contains(p, "/manifests/"):
		return "manifest by tag " + r.Method
	case strings.Contains(p, "/blobs/"):
		return "blob " + r.Method
	case strings.Contains(p, "/referrers/"):
		return "referrers " + r.Method
	}
	return "other " + r.Method
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	k := requestKind(r)
	c.mu.Lock()
	c.kinds[k]++
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

func (c *countingTransport) take() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.kinds
	c.kinds = map[string]int64{}
	return out
}

// crawlRegistry is a loopback go-containerregistry registry holding repos
// × tags distinct random images, built once per test binary.
type crawlRegistry struct {
	host         string
	repos, tags  int
	referrersAPI bool
	setup        time.Duration
}

var (
	crawlOnce sync.Once
	crawlReg  crawlRegistry
	crawlErr  error
)

func loopbackRegistry(b *testing.B) crawlRegistry {
	repos := envInt(b, "SAFEGUARD_BENCH_REPOS", 1000)
	tags := envInt(b, "SAFEGUARD_BENCH_TAGS", 10)
	referrers := os.Getenv("SAFEGUARD_BENCH_REFERRERS_API") == "1"
	crawlOnce.Do(func() {
		start := time.Now()
		// As the brief and registry/fixtures_test.go: the in-memory
		// registry; the OCI 1.1 referrers API only when asked for.
		opts := []ggcr.Option{ggcr.Logger(log.New(io.Discard, "", 0))}
		if referrers {
			opts = append(opts, ggcr.WithReferrersSupport(true))
		}
		srv := httptest.NewServer(ggcr.New(opts...))
		// Closed when the test binary exits.
		host := strings.TrimPrefix(srv.URL, "http://")
		type job struct{ r, t int }
		jobs := make(chan job)
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					img, err := random.Image(64, 1)
					if err == nil {
						var ref name.Tag
						ref, err = name.NewTag(fmt.Sprintf("%s/bench/repo-%04d:v%d", host, j.r, j.t), name.Insecure)
						if err == nil {
							err = remote.Write(ref, img)
						}
					}
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		for r := 0; r < repos; r++ {
			for t := 0; t < tags; t++ {
				jobs <- job{r, t}
			}
		}
		close(jobs)
		wg.Wait()
		if e := firstErr.Load(); e != nil {
			crawlErr = e.(error)
			return
		}
		crawlReg = crawlRegistry{host: host, repos: repos, tags: tags, referrersAPI: referrers, setup: time.Since(start)}
	})
	if crawlErr != nil {
		b.Fatal(crawlErr)
	}
	return crawlReg
}

func (r crawlRegistry) config() registry.RegistryConfig {
	rc := registry.RegistryConfig{Name: "bench", Host: r.host, Insecure: true}
	for i := 0; i < r.repos; i++ {
		rc.Repositories = append(rc.Repositories, fmt.Sprintf("bench/repo-%04d", i))
	}
	return rc
}

func reportKinds(b *testing.B, kinds map[string]int64, iters int, tags int) {
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		per := float64(kinds[k]) / float64(iters)
		parts = append(parts, fmt.Sprintf("%s %.0f (%.2f/tag)", k, per, per/float64(tags)))
	}
	b.Logf("requests per crawl by kind: %s", strings.Join(parts, ", "))
}

// BenchmarkCrawl1000x10 crawls a loopback registry of 1,000 repositories ×
// 10 tags (SAFEGUARD_BENCH_REPOS / SAFEGUARD_BENCH_TAGS), each tag a
// distinct random image (1 layer of 64 bytes), every repository named
// explicitly in the config. Populating the registry is set-up, untimed.
//
// first: per iteration a fresh store (opened outside the timer); timed:
// CrawlRegistry — every image is new.
//
// recrawl: one store crawled once (untimed); timed: CrawlRegistry with
// nothing changed — every tag must come back unchanged.
//
// Metrics: requests/tag (Summary.Requests over tags), the breakdown by
// request kind (logged), tags/s, and peakRSS-MiB: the process's peak RSS
// during the timed part (the high-water mark is reset after a GC before
// it; Linux only, otherwise the process peak). SAFEGUARD_BENCH_CPUPROFILE=F
// writes a CPU profile of the timed re-crawls to F.
func BenchmarkCrawl1000x10(b *testing.B) {
	reg := loopbackRegistry(b)
	ntags := reg.repos * reg.tags
	b.Logf("registry: %d repositories × %d tags = %d images, referrers API %v, populated in %v", reg.repos, reg.tags, ntags, reg.referrersAPI, reg.setup.Round(time.Millisecond))
	ctx := context.Background()
	rc := reg.config()
	ct := &countingTransport{inner: remote.DefaultTransport, kinds: map[string]int64{}}
	crawl := func(b *testing.B, st *sqlite.Store) registry.Summary {
		c := &registry.Crawler{Inventory: st, Transport: ct}
		sum, err := c.CrawlRegistry(ctx, rc)
		if err != nil {
			b.Fatal(err)
		}
		if len(sum.Errors) > 0 {
			for k, v := range sum.Errors {
				b.Fatalf("%d repositories failed, e.g. %s: %s", len(sum.Errors), k, v)
			}
		}
		if sum.TagsSeen != ntags {
			b.Fatalf("saw %d tags, want %d", sum.TagsSeen, ntags)
		}
		return sum
	}
	report := func(b *testing.B, sums []registry.Summary, elapsed time.Duration, peak int64) {
		var reqs int64
		for _, s := range sums {
			reqs += s.Requests
		}
		n := float64(len(sums))
		b.ReportMetric(float64(reqs)/n/float64(ntags), "requests/tag")
		b.ReportMetric(float64(reqs)/n, "requests")
		b.ReportMetric(float64(ntags)*n/elapsed.Seconds(), "tags/s")
		b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MiB")
		reportKinds(b, ct.take(), len(sums), ntags)
		last := sums[len(sums)-1]
		b.Logf("last crawl: %d repos, %d tags seen, %d unchanged, %d new images, %d moved, %d deleted, %d requests (%d retries), %v",
			last.Repositories, last.TagsSeen, last.TagsUnchanged, last.NewImages, last.MovedTags, last.DeletedTags, last.Requests, last.Retries, last.Duration.Round(time.Millisecond))
	}
	b.Run("first", func(b *testing.B) {
		dir := b.TempDir()
		var sums []registry.Summary
		var elapsed time.Duration
		var peak int64
		ct.take()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("first-%d.db", i)))
			if err != nil {
				b.Fatal(err)
			}
			debug.FreeOSMemory()
			resetPeakRSS()
			b.StartTimer()
			t0 := time.Now()
			sum := crawl(b, st)
			elapsed += time.Since(t0)
			b.StopTimer()
			peak = max(peak, PeakRSS())
			if sum.NewImages != ntags {
				b.Fatalf("first crawl: %d new images, want %d", sum.NewImages, ntags)
			}
			sums = append(sums, sum)
			st.Close()
			os.Remove(filepath.Join(dir, fmt.Sprintf("first-%d.db", i)))
			b.StartTimer()
		}
		b.StopTimer()
		report(b, sums, elapsed, peak)
	})
	b.Run("recrawl", func(b *testing.B) {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "known.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		crawl(b, st) // the first crawl, untimed
		ct.take()
		debug.FreeOSMemory()
		resetPeakRSS()
		var sums []registry.Summary
		if p := os.Getenv("SAFEGUARD_BENCH_CPUPROFILE"); p != "" {
			// A CPU profile of the timed re-crawls alone.
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer pprof.StopCPUProfile()
		}
		b.ResetTimer()
		t0 := time.Now()
		for i := 0; i < b.N; i++ {
			sum := crawl(b, st)
			if sum.TagsUnchanged != ntags || sum.NewImages != 0 || sum.MovedTags != 0 {
				b.Fatalf("re-crawl: %d unchanged, %d new, %d moved; want %d unchanged", sum.TagsUnchanged, sum.NewImages, sum.MovedTags, ntags)
			}
			sums = append(sums, sum)
		}
		elapsed := time.Since(t0)
		b.StopTimer()
		report(b, sums, elapsed, PeakRSS())
	})
}
