package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// benchN is the number of stored SBOMs in BenchmarkReconcile1000;
// SAFEGUARD_BENCH_SBOMS overrides it (e.g. for a quick run).
func benchN(b *testing.B) int {
	if s := os.Getenv("SAFEGUARD_BENCH_SBOMS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("SAFEGUARD_BENCH_SBOMS=%q: want a positive integer", s)
		}
		return n
	}
	return 1000
}

func root(b *testing.B) string {
	r, err := Root()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkIngestUBI9: decode the UBI 9 SPDX SBOM and store it into a fresh
// SQLite store, per iteration. Opening the store (migrations) is outside
// the timer; decode and the ingest transaction are inside.
func BenchmarkIngestUBI9(b *testing.B) {
	path := filepath.Join(root(b), UBI9)
	if _, err := os.Stat(path); err != nil {
		b.Skipf("UBI 9 SBOM not found (%v): the corpus file %s is needed", err, UBI9)
	}
	ctx := context.Background()
	dir := b.TempDir()
	var pkgs int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("ubi9-%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		doc, err := sbom.DecodeFile(path, sbom.DefaultMaxBytes)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: raw, Source: path, At: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		pkgs = r.SBOM.Packages
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(pkgs), "packages")
}

// reconcileFixture is a store file holding both feeds and n ingested SBOMs
// with nothing matched yet. It is built once per test binary.
type reconcileFixture struct {
	path     string
	n        int
	packages int // package entries over all SBOMs
	docs     int
	setup    time.Duration
}

var (
	fixtureOnce sync.Once
	fixture     reconcileFixture
	fixtureErr  error
	fixtureDir  string
)

func buildFixture(b *testing.B) reconcileFixture {
	n := benchN(b)
	fixtureOnce.Do(func() {
		start := time.Now()
		r := root(b)
		feeds, missing := Existing(r, Feeds)
		if len(missing) > 0 {
			fixtureErr = fmt.Errorf("feeds missing: %v", missing)
			return
		}
		docsPaths, _ := Existing(r, Mixture)
		if len(docsPaths) == 0 {
			fixtureErr = fmt.Errorf("none of the mixture SBOMs exist")
			return
		}
		fixtureDir, fixtureErr = os.MkdirTemp("", "safeguard-bench-")
		if fixtureErr != nil {
			return
		}
		ctx := context.Background()
		path := filepath.Join(fixtureDir, "fixture.db")
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			fixtureErr = err
			return
		}
		defer st.Close()
		batches, err := LoadFeeds(feeds)
		if err != nil {
			fixtureErr = err
			return
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := ImportFeeds(ctx, st, batches, feeds, at); err != nil {
			fixtureErr = err
			return
		}
		docs, err := DecodeAll(docsPaths)
		if err != nil {
			fixtureErr = err
			return
		}
		pk, err := IngestN(ctx, st, docs, n, at)
		if err != nil {
			fixtureErr = err
			return
		}
		fixture = reconcileFixture{path: path, n: n, packages: pk, docs: len(docs), setup: time.Since(start)}
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkReconcile1000 matches 1,000 stored SBOMs (a mixture cycling
// through real corpus SBOMs, each stored under its own image name) against
// the whole Go vulnerability database plus the GHSA records.
//
// cold: a copy of the never-matched store per iteration (copy outside the
// timer); timed: a full vuln.Reconcile over everything plus reading every
// finding of every SBOM — the first match of the fleet.
//
// rematch: the same on a store already matched once, i.e. the periodic
// full re-match where almost nothing changes.
func BenchmarkReconcile1000(b *testing.B) {
	fx := buildFixture(b)
	b.Logf("fixture: %d SBOMs (%d real documents cycled, %d package entries) built in %v", fx.n, fx.docs, fx.packages, fx.setup.Round(time.Millisecond))
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	run := func(b *testing.B, st *sqlite.Store) (vuln.Summary, int) {
		sum, err := vuln.Reconcile(ctx, st, store.Scope{}, now)
		if err != nil {
			b.Fatal(err)
		}
		fs, err := st.Findings(ctx, store.FindingFilter{})
		if err != nil {
			b.Fatal(err)
		}
		return sum, len(fs)
	}
	b.Run("cold", func(b *testing.B) {
		dir := b.TempDir()
		var sum vuln.Summary
		var nf int
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			p := filepath.Join(dir, fmt.Sprintf("cold-%d.db", i))
			if err := copyFile(p, fx.path); err != nil {
				b.Fatal(err)
			}
			st, err := sqlite.Open(ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sum, nf = run(b, st)
			b.StopTimer()
			st.Close()
			os.Remove(p)
			b.StartTimer()
		}
		b.ReportMetric(float64(nf), "findings")
		b.ReportMetric(float64(sum.Packages), "pkgversions")
		b.ReportMetric(float64(sum.Changes.Opened), "opened")
	})
	b.Run("rematch", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "warm.db")
		if err := copyFile(p, fx.path); err != nil {
			b.Fatal(err)
		}
		st, err := sqlite.Open(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st) // first match, untimed
		var nf int
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, nf = run(b, st)
		}
		b.ReportMetric(float64(nf), "findings")
	})
}
