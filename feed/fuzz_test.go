package feed

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
)

// fuzzOpts keeps fuzz inputs from allocating much: the point is that no
// input panics or escapes the limits, not throughput.
var fuzzOpts = Options{MaxFileBytes: 1 << 20, MaxArchiveBytes: 4 << 20, MaxEntries: 64}

// checkBatch asserts what every successful parse promises.
func checkBatch(t *testing.T, b *Batch) {
	t.Helper()
	for _, a := range b.Advisories {
		if err := Validate(a); err != nil {
			t.Fatalf("accepted an invalid record: %v", err)
		}
		_ = Score(a)
		// The canonical form must read back to the same content.
		var back advisory.Advisory
		if err := json.Unmarshal(CanonicalJSON(a), &back); err != nil {
			t.Fatalf("%s: canonical JSON does not parse: %v", a.ID, err)
		}
		if ContentHash(back) != ContentHash(a) {
			t.Fatalf("%s: hash changes across a canonical round trip", a.ID)
		}
	}
	for _, k := range b.KEV {
		if !cvePattern.MatchString(k.CVE) {
			t.Fatalf("accepted KEV id %q", k.CVE)
		}
	}
	for _, e := range b.EPSS {
		if !cvePattern.MatchString(e.CVE) || math.IsNaN(e.Score) || e.Score < 0 || e.Score > 1 || e.Percentile < 0 || e.Percentile > 1 {
			t.Fatalf("accepted EPSS row %+v", e)
		}
	}
}

func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(goRecord("GO-2024-0001", "Go")))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(fuzzOpts, expectOSV)
		if err := l.parseJSON("fuzz.json", data, false); err != nil {
			return
		}
		checkBatch(t, l.b)
	})
}

func FuzzParseKEV(f *testing.F) {
	f.Add([]byte(`{"catalogVersion":"1","dateReleased":"x","count":0,"vulnerabilities":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(fuzzOpts, expectKEV)
		if err := l.parseText(data); err != nil {
			return
		}
		checkBatch(t, l.b)
		if l.b.KEVComplete && l.b.KEVCatalogVersion == "" {
			t.Fatal("complete catalog without a version")
		}
	})
}

func FuzzParseEPSS(f *testing.F) {
	f.Add([]byte("cve,epss,percentile\nCVE-1999-0001,0.1,0.2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(fuzzOpts, expectEPSS)
		if err := l.parseText(data); err != nil {
			return
		}
		checkBatch(t, l.b)
		if len(l.b.EPSS) == 0 {
			t.Fatal("accepted an EPSS file without rows")
		}
	})
}

func FuzzArchive(f *testing.F) {
	f.Add(makeZip(f, []entry{{name: "a.json", body: goRecord("GO-2024-0001", "Go")}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(fuzzOpts, expectAny)
		if err := l.loadFile(bytes.NewReader(data), int64(len(data))); err != nil {
			return
		}
		checkBatch(t, l.b)
	})
}
