package baseimage_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func hashOf(parts ...any) string {
	s := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return "sha256:" + hex.EncodeToString(s[:])
}

// benchStore fills a store as crawls would: nBases base images in 20 base
// repositories (each on one of 10 distro roots) and nApps images built on
// them, each image tagged once.
func benchStore(b *testing.B, nBases, nApps int) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	at := date("2026-03-01")
	bases := make([]store.Image, nBases)
	for i := range bases {
		ids := []string{hashOf("root", i%10)}
		for j := 1; j < 2+i%5; j++ {
			ids = append(ids, hashOf("base", i, "layer", j))
		}
		bases[i] = store.Image{Digest: hashOf("base", i), Repository: fmt.Sprintf("mirror.example/library/base%d", i%20), OS: "linux", Architecture: "amd64",
			DiffIDs: ids, Created: at.Add(-time.Hour), FirstSeen: at}
	}
	record := func(img store.Image, tag string) {
		if err := st.RecordImage(ctx, img); err != nil {
			b.Fatal(err)
		}
		if _, err := st.RecordTag(ctx, store.TagObservation{Repository: img.Repository, Tag: tag, Digest: img.Digest, At: img.FirstSeen}); err != nil {
			b.Fatal(err)
		}
	}
	for i, img := range bases {
		record(img, fmt.Sprint("v", i))
	}
	for i := 0; i < nApps; i++ {
		base := bases[i%nBases]
		ids := append(append([]string(nil), base.DiffIDs...), hashOf("app", i, 1), hashOf("app", i, 2))
		record(store.Image{Digest: hashOf("app", i), Repository: fmt.Sprintf("registry.example/team%d/app", i%100), OS: "linux", Architecture: "amd64",
			DiffIDs: ids, Created: at.Add(24 * time.Hour), FirstSeen: at.Add(25 * time.Hour)}, fmt.Sprint("build-", i))
	}
	return st
}

func isBase(r string) bool { return len(r) > 22 && r[:22] == "mirror.example/library" }

// BenchmarkRefresh10000 re-attributes 10,000 stored images (1,000 bases,
// 9,000 apps) after a crawl. "unchanged" is the usual crawl: every image
// is attributed again and nothing is written; "all-changed" rewrites every
// chain (the first attribution, or a catalogue change touching them all).
func BenchmarkRefresh10000(b *testing.B) {
	st := benchStore(b, 1000, 9000)
	ctx := context.Background()
	now := date("2026-04-01")
	sum, err := baseimage.Refresh(ctx, st, isBase, now)
	if err != nil || sum.New != 10000 {
		b.Fatalf("first refresh: %+v %v", sum, err)
	}
	b.Run("unchanged", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sum, err := baseimage.Refresh(ctx, st, isBase, now)
			if err != nil || sum.New+sum.Changed != 0 {
				b.Fatalf("%+v %v", sum, err)
			}
		}
	})
	b.Run("all-changed", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			// Forget every chain so the next refresh writes them all.
			all, err := st.BaseChains(ctx)
			if err != nil {
				b.Fatal(err)
			}
			wipe := map[string][]store.BaseLink{}
			for d := range all {
				wipe[d] = []store.BaseLink{{Method: "stale", Confidence: "unknown"}}
			}
			if err := st.PutBaseChains(ctx, wipe); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sum, err := baseimage.Refresh(ctx, st, isBase, now)
			if err != nil || sum.Changed != 10000 {
				b.Fatalf("%+v %v", sum, err)
			}
		}
	})
}

// BenchmarkCatalog10000 is building the in-memory catalogue of 10,000
// candidates, paid once per refresh.
func BenchmarkCatalog10000(b *testing.B) {
	cands := make([]baseimage.Candidate, 10000)
	for i := range cands {
		cands[i] = baseimage.Candidate{Digest: hashOf("c", i), Repository: "mirror.example/base", DiffIDs: []string{hashOf("root", i%50), hashOf("l", i)}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c := baseimage.NewCatalog(cands); c.Len() != 10000 {
			b.Fatal(c.Len())
		}
	}
}
