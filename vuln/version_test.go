package vuln

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorEcosystems maps each ordering-vector file (generated with the
// native tools, see testdata/version-compare/SOURCES.md) to the OSV
// ecosystem whose comparator must reproduce it.
var vectorEcosystems = map[string]string{
	"alpine":    "Alpine",
	"cran":      "CRAN",
	"debian":    "Debian",
	"hackage":   "Hackage",
	"maven":     "Maven",
	"nuget":     "NuGet",
	"packagist": "Packagist",
	"pub":       "Pub",
	"pypi":      "PyPI",
	"redhat":    "Red Hat",
	"rubygems":  "RubyGems",
	"semver":    "npm",
}

func TestOrderingVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/version-compare/*-versions*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		prefix, _, _ := strings.Cut(filepath.Base(f), "-")
		eco, ok := vectorEcosystems[prefix]
		if !ok {
			t.Errorf("%s: no ecosystem mapped for %q", f, prefix)
			continue
		}
		seen[prefix] = true
		// SemVer vectors also define Go and crates.io ordering.
		ecos := []string{eco}
		if prefix == "semver" {
			ecos = append(ecos, "Go", "crates.io")
		}
		for _, e := range ecos {
			t.Run(filepath.Base(f)+"/"+e, func(t *testing.T) { runVectors(t, f, e) })
		}
	}
	for p := range vectorEcosystems {
		if !seen[p] {
			t.Errorf("no vector file for %s", p)
		}
	}
}

func runVectors(t *testing.T, path, eco string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "//") {
			continue
		}
		parts := splitVector(text)
		if parts == nil {
			t.Fatalf("%s:%d: cannot read %q", path, line, text)
		}
		want := map[string]int{"<": -1, "=": 0, ">": 1}[parts[1]]
		got, err := CompareVersions(eco, parts[0], parts[2])
		if err != nil {
			t.Errorf("%s:%d: %s: %v", path, line, text, err)
			continue
		}
		if got != want {
			t.Errorf("%s:%d: %s: got %d", path, line, text, got)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("%s: no vectors", path)
	}
}

func TestGoToolchainVersions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"go1.19rc1", "1.19.0-rc.1"},
		{"go1.21", "1.21.0"},
		{"go1.24.5", "1.24.5"},
		{"go1.9beta2", "1.9.0-beta.2"},
		{"v1.6.1-0.20230608160752-b14acb611a79", "v1.6.1-0.20230608160752-b14acb611a79"},
	} {
		if got := goVersion(c.in); got != c.want {
			t.Errorf("goVersion(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOrderingCases(t *testing.T) {
	// Single comparisons from ../shared/cases/real-world.md, by case number.
	for _, c := range []struct {
		id, eco, a, b string
		want          int
	}{
		{"C01", "Debian", "2:9.1.0016-1", "8.4.0", 1},
		{"C04", "Ubuntu", "2.7.15-4ubuntu4~18.04", "2.7.15~rc1-1ubuntu0.1", 1},
		{"C05", "Ubuntu", "1.6~git20131207+dfsg-1ubuntu1.2", "1.6git20120311.dfsg.1-2", -1},
		{"C08", "Ubuntu", "229-4ubuntu21.31", "229-4ubuntu21.31+esm1", -1},
		{"C12", "Alpine", "1.6-r0", "1.6_rc1-r0", 1},
		{"C15", "Alpine", "3.5.7-r0", "3.0.3-r0", 1},
		{"C17", "Red Hat", "1:1.12.8-18.el8", "1:1.12.8-10.el8_2", 1},
		{"C18a", "Red Hat", "2.5-1.el8", "2.5-1.el8_3", -1},
		{"C18b", "Red Hat", "2.5-1.el8_3.1", "2.5-1.el8_3", 1},
		{"C21a", "Red Hat", "2.0~rc1-1.fc38", "2.0-1.fc38", -1},
		{"C21b", "Red Hat", "1.1^20160101-1", "1.1-3", 1},
		{"C21c", "Red Hat", "1.1^20160101-1", "1.1.1-1", -1},
		{"C23a", "Go", "v1.6.1-0.20230608160752-b14acb611a79", "1.6.0", 1},
		{"C23b", "Go", "v1.6.1-0.20230608160752-b14acb611a79", "1.6.1", -1},
		{"C26a", "Go", "go1.19rc1", "1.19.0-0", 1},
		{"C26b", "Go", "go1.19rc1", "1.19.1", -1},
		{"C26c", "Go", "go1.19rc1", "1.18.6", 1},
		{"C27", "PyPI", "22.10.0", "22.10.0rc1", 1},
		{"C30a", "PyPI", "6.4+cgr.1", "6.4.1", -1},
		{"C30b", "PyPI", "6.4+cgr.1", "6.4", 1},
		{"epoch0", "Red Hat", "0:1.2.11-18.el8_5", "1.2.11-18.el8_5", 0},
	} {
		got, err := CompareVersions(c.eco, c.a, c.b)
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: compare(%s, %s) in %s = %d, want %d", c.id, c.a, c.b, c.eco, got, c.want)
		}
	}
}

// splitVector splits "A op B" where op is one of <, =, > surrounded by spaces.
func splitVector(s string) []string {
	for _, op := range []string{" < ", " = ", " > "} {
		if a, b, ok := strings.Cut(s, op); ok {
			return []string{a, strings.TrimSpace(op), b}
		}
	}
	return nil
}

func TestNotAVersion(t *testing.T) {
	for _, c := range []struct{ eco, v string }{{"Go", "(devel)"}, {"npm", "latest"}, {"Go", ""}, {"crates.io", "abc"}} {
		if _, err := ParseVersion(c.eco, c.v); err == nil {
			t.Errorf("%s %q parsed as a version", c.eco, c.v)
		}
	}
}
