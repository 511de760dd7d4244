package sbom

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic and that every
// returned Document is well formed. Seeds are small real snippets under
// testdata/fuzz/FuzzDecode plus the corpus files under 8 KiB (larger seeds
// make the fuzzer spend its time minimising).
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"testdata/corpus/osv-scanner/*", "testdata/corpus/trivy/*", "testdata/corpus/grype/*"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil && len(data) < 8<<10 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(data)
		if err != nil {
			if doc != nil {
				t.Fatal("document returned with an error")
			}
			return
		}
		if doc.Packages == nil {
			t.Fatal("nil package list")
		}
		for _, p := range doc.Packages {
			if p.Ecosystem == "" || p.Name == "" || p.Version == "" {
				t.Fatalf("incomplete package %+v", p)
			}
		}
		for _, u := range doc.Unidentified {
			if u.Reason == "" {
				t.Fatalf("unidentified without reason %+v", u)
			}
		}
	})
}

// FuzzNormalizePURL checks that normalisation never panics and is
// idempotent: a canonical purl normalises to itself.
func FuzzNormalizePURL(f *testing.F) {
	for _, s := range []string{
		"pkg:alpine/busybox@1.36.1-r27?arch=x86_64",
		"pkg:deb/debian/perl-base@5.40.1-6?arch=arm64&distro=debian-13&upstream=perl",
		"pkg:rpm/redhat/dbus@1.12.20-8.el9?arch=x86_64&distro=rhel-9.6&epoch=1&upstream=dbus-1.12.20-8.el9.src.rpm",
		"pkg:golang/github.com/BurntSushi/toml@v1.2.3",
		"pkg:npm/%40colors/colors@1.5.0",
		"pkg:pypi/PyYAML@5.3",
		"pkg:dotnet/Newtonsoft.Json@11.0.2",
		"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
		"pkg:///",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizePURL(s)
		if err != nil {
			return
		}
		n2, err := NormalizePURL(n)
		if err != nil {
			t.Fatalf("NormalizePURL(%q) = %q, which does not normalise: %v", s, n, err)
		}
		if n2 != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, n2)
		}
		_, _ = FromPURL(s, &Distro{ID: "debian", VersionID: "12"})
	})
}
