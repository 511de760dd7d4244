// Package bench holds Safeguard's performance benchmarks and the helpers
// shared by them and by the comparison tool in bench/sgbench: the fixed
// mixture of real SBOMs, feed import exactly as the CLI does it (minus the
// re-match, so that a benchmark can time the match on its own), and
// reading raw OSV records for building osv-scanner's offline database.
//
// Nothing here is used by the safeguard binary.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// Feeds are the bundled real OSV feeds the speed target names: the whole Go
// vulnerability database and the GHSA records (paths relative to the
// repository root).
var Feeds = []string{
	"data/feeds/vulndb-data-osv.tar.gz",
	"data/feeds/ghsa-osv-356-records-maven-heavy.json",
}

// UBI9 is the Red Hat UBI 9 SPDX SBOM used by the ingest benchmark.
const UBI9 = "sbom/testdata/corpus/claircore/ubi9-9.6-redhat-konflux-syft.spdx.json"

// ComparisonSBOMs are the Go-module and Maven-heavy real SBOMs compared
// with osv-scanner. Missing files are skipped by Existing.
var ComparisonSBOMs = []string{
	"data/sboms/kubectl-linux-amd64.spdx.json",
	"data/sboms/keycloak-10.0.2-maven.cdx.json",
	"sbom/testdata/corpus/guac/oci-kubectl-linux-amd64-spdx.json",
	"sbom/testdata/corpus/cyclonedx-bom-examples/proton-bridge-v1.8.0-gomod.cdx.json",
	"sbom/testdata/corpus/cyclonedx-bom-examples/dropwizard-1.3.15-maven.cdx.json",
	"sbom/testdata/corpus/cyclonedx-bom-examples/keycloak-10.0.2-maven.cdx.json",
	"sbom/testdata/corpus/guac/quarkus-deps-cyclonedx.json",
	"sbom/testdata/corpus/claircore/go-builder-hummingbird-redhat-konflux-syft.spdx.json",
}

// Mixture is the set of real SBOMs the 1,000-SBOM runs cycle through: the
// comparison set (byte-identical duplicates are harmless: each copy gets a
// distinct image or name) plus image SBOMs whose packages mostly have no
// advisory in these feeds (UBI 9, Ubuntu, Debian, Alpine) and a large npm
// tree, as a real fleet would have. All are SPDX or CycloneDX JSON, so
// osv-scanner reads every one of them too.
var Mixture = append(append([]string(nil), ComparisonSBOMs[1:]...),
	UBI9,
	"sbom/testdata/corpus/cyclonedx-bom-examples/juice-shop-npm-flat.cdx-1.4.json",
	"sbom/testdata/corpus/guac/big-mongo-cyclonedx.json",
	"sbom/testdata/corpus/guac/oci-kubectl-linux-arm-v7-spdx.json",
	"sbom/testdata/corpus/syft/bitnami-postgresql.spdx.json",
	"sbom/testdata/corpus/kubevuln/alpine-3.17.spdx.json",
)

// Root finds the repository root (the directory holding go.mod) from the
// working directory upwards.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Existing returns the paths (joined to root) that exist, and the ones that
// do not.
func Existing(root string, rel []string) (have, missing []string) {
	for _, p := range rel {
		abs := filepath.Join(root, p)
		if _, err := os.Stat(abs); err == nil {
			have = append(have, abs)
		} else {
			missing = append(missing, p)
		}
	}
	return have, missing
}

// LoadFeeds reads and validates the feed files.
func LoadFeeds(paths []string) ([]*feed.Batch, error) {
	var out []*feed.Batch
	for _, p := range paths {
		b, err := feed.Load(p, feed.Options{})
		if err != nil {
			return nil, fmt.Errorf("feed %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// ImportFeeds writes the batches into the store the way `safeguard feed
// import` does (scores and content hashes included) but does not re-match:
// the caller times the match separately.
func ImportFeeds(ctx context.Context, st *sqlite.Store, batches []*feed.Batch, sources []string, at time.Time) error {
	for i, b := range batches {
		data := store.FeedData{
			Source: sources[i], Advisories: b.Advisories, KEV: b.KEV, KEVComplete: b.KEVComplete, EPSS: b.EPSS, At: at,
			Scores: make(map[string]advisory.Scored, len(b.Advisories)), Hashes: make(map[string]string, len(b.Advisories)),
		}
		for _, a := range b.Advisories {
			data.Scores[a.ID] = feed.Score(a)
			data.Hashes[a.ID] = feed.ContentHash(a)
		}
		if _, err := st.ImportFeed(ctx, data); err != nil {
			return fmt.Errorf("import %s: %w", sources[i], err)
		}
	}
	return nil
}

// Doc is one decoded SBOM with its bytes.
type Doc struct {
	Path string
	Doc  *sbom.Document
	Raw  []byte
}

// DecodeAll decodes the files.
func DecodeAll(paths []string) ([]Doc, error) {
	out := make([]Doc, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, err := sbom.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, Doc{Path: p, Doc: d, Raw: raw})
	}
	return out, nil
}

// IngestN stores n SBOMs cycling through docs. Every one gets its own image
// name, so each is a distinct SBOM row while the documents and packages are
// the real ones (shared, as in a real fleet).
func IngestN(ctx context.Context, st *sqlite.Store, docs []Doc, n int, at time.Time) (packages int, err error) {
	for i := 0; i < n; i++ {
		d := docs[i%len(docs)]
		image := fmt.Sprintf("registry.example/bench/%s:%04d", filepath.Base(d.Path), i)
		r, err := st.IngestSBOM(ctx, store.IngestInput{Document: d.Doc, Raw: d.Raw, Source: d.Path, Image: image, At: at})
		if err != nil {
			return packages, err
		}
		if r.Existing {
			return packages, fmt.Errorf("sbom %d (%s) was already stored", i, image)
		}
		packages += len(d.Doc.Packages)
	}
	return packages, nil
}

// PeakRSS is the process's peak resident set size in bytes so far
// (getrusage ru_maxrss, which Linux reports in KiB).
func PeakRSS() int64 { return peakRSS() }

// GoMaxProcs reports GOMAXPROCS, for the record.
func GoMaxProcs() int { return runtime.GOMAXPROCS(0) }
