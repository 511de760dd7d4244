package imageref

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distribution/reference"
)

var updateSeeds = flag.Bool("update", false, "rewrite the fuzz seed corpus from the reference table")

// FuzzParse: Parse never panics, agrees with the distribution grammar on
// what is valid, and its normal form is a fixed point; Check never panics
// on what Parse accepts.
func FuzzParse(f *testing.F) {
	for _, c := range refCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := Parse(s)
		_, derr := reference.ParseNormalizedNamed(s)
		if (err == nil) != (derr == nil) && !stricterThanDistribution(err) {
			t.Fatalf("%q: ours %v, distribution %v", s, err, derr)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || !slices.Contains(Rules, e.Rule)) {
			t.Fatalf("%q: error %v names no rule of ours", s, err)
		}
		_, fs := CheckString(s, nil, nil)
		if err != nil {
			if len(fs) != 1 || fs[0].Kind != KindMalformed {
				t.Fatalf("%q: malformed gives %+v", s, fs)
			}
			return
		}
		again, err := Parse(ref.String())
		if err != nil {
			t.Fatalf("%q: normal form %q does not parse: %v", s, ref.String(), err)
		}
		if again.String() != ref.String() {
			t.Fatalf("%q: %q normalises again to %q", s, ref.String(), again.String())
		}
		if fam, err := Parse(ref.Familiar()); err != nil || fam.Name() != ref.Name() {
			t.Fatalf("%q: familiar form %q gives %v, %v", s, ref.Familiar(), fam, err)
		}
	})
}

// TestFuzzSeedCorpus keeps testdata/fuzz/FuzzParse in step with the table
// (go test ./imageref -run FuzzSeed -update rewrites it).
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, c := range refCases {
			body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", c.in)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("table-%03d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < len(refCases) {
		t.Errorf("%d seeds for %d table references (run with -update)", len(entries), len(refCases))
	}
}
