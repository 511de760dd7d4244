package feed

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
)

const feeds = "../data/feeds"

// Expected counts were taken independently of this package: python3's json
// and tarfile modules over the same files, and `tar tzf … | grep -c .json$`
// (see data/feeds/SOURCES.md).
func TestLoadRealFeeds(t *testing.T) {
	tests := []struct {
		path                  string
		advisories, withdrawn int
		kev                   int
		kevVersion            string
		epss                  int
		sources               int
	}{
		{path: "vulndb-data-osv.tar.gz", advisories: 4789, withdrawn: 18, sources: 1},
		{path: "ghsa-osv-356-records-maven-heavy.json", advisories: 356, sources: 1},
		{path: "osv-distro", advisories: 22, withdrawn: 3, sources: 22},
		{path: "known_exploited_vulnerabilities.json", kev: 1404, kevVersion: "2025.08.25", sources: 1},
		{path: "epss-excerpt-real.csv", epss: 70, sources: 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			b, err := Load(filepath.Join(feeds, tt.path), Options{})
			if err != nil {
				t.Fatal(err)
			}
			withdrawn := 0
			ids := map[string]bool{}
			for _, a := range b.Advisories {
				if a.Withdrawn != nil {
					withdrawn++
				}
				if ids[a.ID] {
					t.Errorf("duplicate id %s in batch", a.ID)
				}
				ids[a.ID] = true
			}
			if len(b.Advisories) != tt.advisories || withdrawn != tt.withdrawn {
				t.Errorf("advisories %d (withdrawn %d), want %d (%d)", len(b.Advisories), withdrawn, tt.advisories, tt.withdrawn)
			}
			if len(b.KEV) != tt.kev || b.KEVCatalogVersion != tt.kevVersion || b.KEVComplete != (tt.kev > 0) {
				t.Errorf("KEV %d %q complete=%v, want %d %q", len(b.KEV), b.KEVCatalogVersion, b.KEVComplete, tt.kev, tt.kevVersion)
			}
			if len(b.EPSS) != tt.epss {
				t.Errorf("EPSS %d rows, want %d", len(b.EPSS), tt.epss)
			}
			if len(b.Sources) != tt.sources {
				t.Errorf("sources %d, want %d: %v", len(b.Sources), tt.sources, b.Sources)
			}
			if len(b.Skipped) != 0 {
				t.Errorf("skipped %v", b.Skipped)
			}
		})
	}
}

// TestGoVulnDBCountIndependent recounts the tarball's .json members with
// archive/tar directly, so the expected 4,789 is not just this package
// agreeing with itself.
func TestGoVulnDBCountIndependent(t *testing.T) {
	f, err := os.Open(filepath.Join(feeds, "vulndb-data-osv.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	n, other := 0, 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, ".json") {
			n++
		} else if h.Typeflag == tar.TypeReg {
			other++
		}
	}
	if n != 4789 || other != 2 {
		t.Fatalf("tar holds %d .json and %d other files, want 4789 and 2 (LICENSE, NOTICES)", n, other)
	}
}

func TestLoadGoVulnDBDetails(t *testing.T) {
	b, err := Load(filepath.Join(feeds, "vulndb-data-osv.tar.gz"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	affected, cve := 0, 0
	for _, a := range b.Advisories {
		if !a.Modified.IsZero() {
			t.Errorf("%s: modified %v; the Go vulndb export zeroes it", a.ID, a.Modified)
		}
		for _, af := range a.Affected {
			affected++
			if af.Package.Ecosystem != "Go" {
				t.Errorf("%s: ecosystem %q", a.ID, af.Package.Ecosystem)
			}
		}
		for _, al := range a.Aliases {
			if strings.HasPrefix(al, "CVE-") {
				cve++
				break
			}
		}
	}
	if affected != 6843 || cve != 4329 {
		t.Errorf("affected entries %d, records with CVE alias %d; want 6843 and 4329", affected, cve)
	}
}

func TestLoadKEVFields(t *testing.T) {
	b, err := Load(filepath.Join(feeds, "known_exploited_vulnerabilities.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := b.KEV[0]
	want := advisory.KEV{CVE: "CVE-2025-48384", VendorProject: "Git", Product: "Git", Name: "Git Link Following Vulnerability", DateAdded: "2025-08-25"}
	if first.CVE != want.CVE || first.VendorProject != want.VendorProject || first.Product != want.Product || first.Name != want.Name || first.DateAdded != want.DateAdded {
		t.Errorf("first entry %+v", first)
	}
	known := 0
	for _, k := range b.KEV {
		if k.KnownRansomwareUse == "Known" {
			known++
		}
		if k.DueDate == "" || k.RequiredAction == "" {
			t.Errorf("%s: empty dueDate or requiredAction", k.CVE)
		}
	}
	if known != 293 {
		t.Errorf("known ransomware use %d, want 293", known)
	}
}

func TestLoadEPSS(t *testing.T) {
	b, err := Load(filepath.Join(feeds, "epss-excerpt-real.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.EPSS[0]; got.CVE != "CVE-1999-0001" || got.Score != 0.03351 || got.Percentile != 0.87326 {
		t.Errorf("first row %+v", got)
	}
	if last := b.EPSS[len(b.EPSS)-1]; last.CVE != "CVE-2022-46689" {
		t.Errorf("last row %+v", last)
	}
	if b.EPSSModelVersion != "" || b.EPSSScoreDate != "" {
		t.Errorf("model/date %q %q; this mirror has no comment line", b.EPSSModelVersion, b.EPSSScoreDate)
	}

	// The upstream feed starts with a #model_version comment, and is
	// served gzip-compressed.
	csv := "#model_version:v2023.03.01,score_date:2024-10-25T00:00:00+0000\ncve,epss,percentile\nCVE-1999-0005,0.91963,0.99030\r\nCVE-1999-0006,0.03341,0.91563\n"
	for name, data := range map[string][]byte{"plain.csv": []byte(csv), "scores.csv.gz": gzipBytes(t, []byte(csv))} {
		b, err := Load(writeTemp(t, name, data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.EPSS) != 2 || b.EPSSModelVersion != "v2023.03.01" || b.EPSSScoreDate != "2024-10-25T00:00:00+0000" {
			t.Fatalf("%s: %d rows, %q %q", name, len(b.EPSS), b.EPSSModelVersion, b.EPSSScoreDate)
		}
		if r := b.EPSS[1]; r.CVE != "CVE-1999-0006" || r.Percentile != 0.91563 || r.ModelVersion != "v2023.03.01" {
			t.Errorf("%s: row %+v", name, r)
		}
	}
}

// TestLoadNotOSV: real osv.dev files that are not OSV records must be
// refused with a message saying what they look like.
func TestLoadNotOSV(t *testing.T) {
	tests := map[string]string{
		"CVE-2015-9251.alpine.json":         "osv.dev converter intermediate",
		"CVE-2016-1585.debian.json":         "osv.dev converter intermediate",
		"debian_security_tracker_mock.json": "Debian security tracker",
	}
	for name, want := range tests {
		_, err := Load(filepath.Join("testdata/not-osv", name), Options{})
		if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v; want ErrUnknownFormat naming the file and %q", name, err, want)
		}
	}
	// A directory holding one of them fails as a whole, naming the file.
	_, err := Load("testdata/not-osv", Options{})
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), ".json") {
		t.Errorf("directory: %v", err)
	}
}

func TestLoadShapes(t *testing.T) {
	rec := func(id string) string {
		return `{"id":"` + id + `","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`
	}
	tests := []struct {
		name, body string
		n          int
	}{
		{"single", rec("A-1"), 1},
		{"array", "[" + rec("A-1") + "," + rec("A-2") + "]", 2},
		{"vulns", `{"vulns":[` + rec("A-1") + "," + rec("A-2") + "," + rec("A-3") + "]}", 3},
		{"bom", "\xef\xbb\xbf  \n" + rec("A-1"), 1},
		{"gzip-json", "", 1},
	}
	for _, tt := range tests {
		data := []byte(tt.body)
		if tt.name == "gzip-json" {
			data = gzipBytes(t, []byte(rec("A-9")))
		}
		b, err := Load(writeTemp(t, tt.name, data), Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(b.Advisories) != tt.n {
			t.Errorf("%s: %d advisories, want %d", tt.name, len(b.Advisories), tt.n)
		}
	}
}

func TestLoadDuplicates(t *testing.T) {
	dir := t.TempDir()
	a := `{"id":"D-1","modified":"2024-01-01T00:00:00Z","summary":"old"}`
	a2 := `{"summary":"old","modified":"2024-01-01T00:00:00Z","id":"D-1"}` // same content, other key order
	newer := `{"id":"D-1","modified":"2024-02-01T00:00:00Z","summary":"new"}`
	conflict := `{"id":"D-1","modified":"2024-02-01T00:00:00Z","summary":"other"}`
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1.json", a)
	write("2.json", a2)
	write("3.json", newer)
	b, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Advisories) != 1 || b.Advisories[0].Summary != "new" || len(b.Skipped) != 2 {
		t.Fatalf("got %d advisories %+v, skipped %+v", len(b.Advisories), b.Advisories, b.Skipped)
	}
	for _, s := range b.Skipped {
		if s.ID != "D-1" || s.File == "" || s.Reason == "" {
			t.Errorf("skip %+v lacks file, id or reason", s)
		}
	}
	// Duplicates inside one file name that file.
	arr := writeTemp(t, "arr.json", []byte("["+a+","+a2+"]"))
	b, err = Load(arr, Options{})
	if err != nil || len(b.Advisories) != 1 || len(b.Skipped) != 1 || b.Skipped[0].File != arr {
		t.Fatalf("array duplicates: %v %+v", err, b)
	}
	write("4.json", conflict)
	if _, err := Load(dir, Options{}); !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "4.json") {
		t.Errorf("conflicting duplicate: %v", err)
	}
}

func TestLoadDirectoryIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not json"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".git", "x.json"), []byte("garbage"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "deeper", "R-1.JSON"), []byte(`{"id":"R-1","modified":"2024-01-01T00:00:00Z"}`), 0o644))
	b, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Advisories) != 1 || len(b.Sources) != 1 {
		t.Fatalf("got %d advisories from %v", len(b.Advisories), b.Sources)
	}
	empty := t.TempDir()
	if _, err := Load(empty, Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("empty directory: %v", err)
	}
}

func TestContentHash(t *testing.T) {
	b, err := Load(filepath.Join(feeds, "osv-distro"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, a := range b.Advisories {
		h := ContentHash(a)
		if len(h) != 64 || h != ContentHash(a) {
			t.Fatalf("%s: hash %q not stable", a.ID, h)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("%s and %s share a hash", a.ID, other)
		}
		seen[h] = a.ID
	}
	// Key order inside raw sub-objects and the time zone of an instant do
	// not change the hash; content does.
	x := advisory.Advisory{ID: "H-1", DatabaseSpecific: []byte(`{"b":1,"a":{"d":2,"c":3}}`)}
	y := x
	y.DatabaseSpecific = []byte(`{ "a": {"c":3, "d":2}, "b":1 }`)
	if ContentHash(x) != ContentHash(y) {
		t.Error("key order changed the hash")
	}
	y.Summary = "changed"
	if ContentHash(x) == ContentHash(y) {
		t.Error("summary change kept the hash")
	}
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf strings.Builder
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	must(t, zw.Close())
	return []byte(buf.String())
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, data, 0o644))
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
