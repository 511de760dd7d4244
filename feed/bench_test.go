package feed

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadGoVulnDB loads the complete Go vulnerability database
// (4,789 records, 1.3 MB gzip, 9 MB JSON) from its tarball.
func BenchmarkLoadGoVulnDB(b *testing.B) {
	p := filepath.Join(feeds, "vulndb-data-osv.tar.gz")
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		batch, err := Load(p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(batch.Advisories) != 4789 {
			b.Fatalf("%d advisories", len(batch.Advisories))
		}
	}
}

// BenchmarkScoreGHSA scores the 356 GHSA records (CVSS parsing dominates).
func BenchmarkScoreGHSA(b *testing.B) {
	batch, err := Load(filepath.Join(feeds, "ghsa-osv-356-records-maven-heavy.json"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, a := range batch.Advisories {
			_ = Score(a)
		}
	}
}
