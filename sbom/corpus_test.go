package sbom

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// corpusCases lists every file under testdata/corpus with what it must
// decode to. The package and unidentified counts were computed
// independently of this package by a Python script that reads each format
// with the standard json/xml modules, takes each entry's purl, drops the
// arch qualifier, folds the epoch qualifier into rpm/deb versions, takes the
// source name from the upstream qualifier (or the binary name), fills a
// missing distro qualifier with the document's most common one, and counts
// distinct (type, namespace/name, version, source, release) tuples; entries
// without a purl, with a malformed purl or with a purl type that has no
// vulnerability ecosystem (oci, generic, k8s) count as unidentified.
// Files that are not SBOMs must fail with the quoted message.
var corpusCases = []struct {
	file    string
	format  string
	pkgs    int
	unident int
	err     string
}{
	{"claircore/clair-indexreport-debian-10.json", "", 0, 0, "JSON object has none of bomFormat/spdxVersion"},
	{"claircore/clair-indexreport-ubuntu-bionic.json", "", 0, 0, "JSON object has none of bomFormat/spdxVersion"},
	{"claircore/distroless-static-debian12-claircore.spdx.json", FormatSPDXJSON, 0, 3, ""},
	// The script counts 300: it keeps pkg:rpm/setup (no namespace) apart
	// from pkg:rpm/fedora/setup, which under the document's Fedora 44 are
	// one package.
	{"claircore/go-builder-hummingbird-redhat-konflux-syft.spdx.json", FormatSPDXJSON, 299, 2, ""},
	{"claircore/ubi9-9.6-redhat-konflux-syft.spdx.json", FormatSPDXJSON, 350, 2, ""},
	{"cyclonedx-bom-examples/dropwizard-1.3.15-maven.cdx.json", FormatCycloneDXJSON, 167, 0, ""},
	{"cyclonedx-bom-examples/juice-shop-npm-flat.cdx-1.4.json", FormatCycloneDXJSON, 978, 0, ""},
	{"cyclonedx-bom-examples/keycloak-10.0.2-maven.cdx.json", FormatCycloneDXJSON, 902, 0, ""},
	{"cyclonedx-bom-examples/laravel-7.12.0-composer.cdx-1.4.json", FormatCycloneDXJSON, 62, 0, ""},
	{"cyclonedx-bom-examples/proton-bridge-v1.8.0-gomod.cdx.json", FormatCycloneDXJSON, 201, 0, ""},
	{"golden-trivy/almalinux-8.json.golden", FormatTrivyJSON, 1, 0, ""},
	{"golden-trivy/alpine-39.json.golden", FormatTrivyJSON, 4, 0, ""},
	{"golden-trivy/amazon-1.json.golden", FormatTrivyJSON, 1, 0, ""},
	{"golden-trivy/centos-7.json.golden", FormatTrivyJSON, 2, 0, ""},
	{"golden-trivy/conda-spdx.json.golden", FormatSPDXJSON, 0, 3, ""},
	{"golden-trivy/debian-buster.json.golden", FormatTrivyJSON, 2, 0, ""},
	{"golden-trivy/fluentd-multiple-lockfiles.cdx.json.golden", FormatCycloneDXJSON, 160, 0, ""},
	{"golden-trivy/gomod.json.golden", FormatTrivyJSON, 3, 0, ""},
	{"golden-trivy/julia-spdx.json.golden", FormatSPDXJSON, 2, 2, ""},
	{"golden-trivy/mariner-1.0.json.golden", FormatTrivyJSON, 1, 0, ""},
	{"golden-trivy/minikube-kbom.json.golden", FormatTrivyJSON, 0, 1, ""},
	{"golden-trivy/npm.json.golden", FormatTrivyJSON, 12, 0, ""},
	{"golden-trivy/nuget.json.golden", FormatTrivyJSON, 2, 0, ""},
	{"golden-trivy/opensuse-leap-151.json.golden", FormatTrivyJSON, 2, 0, ""},
	{"golden-trivy/photon-30.json.golden", FormatTrivyJSON, 3, 0, ""},
	{"golden-trivy/pip.json.golden", FormatTrivyJSON, 7, 0, ""},
	{"golden-trivy/pom-cyclonedx.json.golden", FormatCycloneDXJSON, 2, 1, ""},
	{"golden-trivy/secrets.json.golden", FormatTrivyJSON, 0, 0, ""},
	{"golden-trivy/ubi-7-comprehensive.json.golden", FormatTrivyJSON, 2, 0, ""},
	{"golden-trivy/ubuntu-1804.json.golden", FormatTrivyJSON, 5, 0, ""},
	{"grype-purl-lists/different-os.txt", "", 0, 0, "content is not JSON, XML or SPDX tag-value"},
	{"grype-purl-lists/homogeneous-os.txt", "", 0, 0, "content is not JSON, XML or SPDX tag-value"},
	{"grype-purl-lists/valid-purl.txt", "", 0, 0, "content is not JSON, XML or SPDX tag-value"},
	{"grype-purl-lists/valid-rhel-9+eus.txt", "", 0, 0, "content is not JSON, XML or SPDX tag-value"},
	{"grype/sbom-grype-source.json", FormatSyftJSON, 41, 2, ""},
	{"grype/sbom-ubuntu-20.04--pruned.json", FormatSyftJSON, 4, 0, ""},
	{"grype/syft-java-bad-cpes.json", FormatSyftJSON, 0, 1, ""},
	{"grype/syft-multiple-ecosystems.json", FormatSyftJSON, 3, 0, ""},
	{"grype/syft-spring.json", FormatSyftJSON, 0, 2, ""},
	{"guac/alpine-cyclonedx.json", FormatCycloneDXJSON, 14, 0, ""},
	{"guac/alpine-spdx.json", FormatSPDXJSON, 14, 0, ""},
	{"guac/big-mongo-cyclonedx.json", FormatCycloneDXJSON, 173, 0, ""},
	{"guac/distroless-cyclonedx.json", FormatCycloneDXJSON, 3, 0, ""},
	{"guac/go-spdx-multi-arch_1.json", FormatSPDXJSON, 0, 3, ""},
	{"guac/oci-kubectl-linux-amd64-spdx-1.json", FormatSPDXJSON, 88, 1, ""},
	{"guac/oci-kubectl-linux-amd64-spdx.json", FormatSPDXJSON, 88, 0, ""},
	{"guac/oci-kubectl-linux-arm-v7-spdx.json", FormatSPDXJSON, 183, 0, ""},
	{"guac/oci-spdx.json", FormatSPDXJSON, 15, 0, ""},
	{"guac/quarkus-deps-cyclonedx.json", FormatCycloneDXJSON, 94, 0, ""},
	{"kubevuln/alpine-3.17.spdx.json", FormatSPDXJSON, 15, 1, ""},
	{"kubevuln/debian-stretch-slim.syft.json", "", 0, 0, "syft-json: artifacts is a JSON string, want an array"},
	{"kubevuln/hello-world.syft.json", FormatSyftJSON, 0, 0, ""},
	{"osv-scanner/alpine-zlib-16.cdx.json", FormatCycloneDXJSON, 1, 0, ""},
	{"osv-scanner/alpine.cdx.xml", FormatCycloneDXXML, 14, 1, ""},
	{"osv-scanner/bad-purls.cdx.xml", FormatCycloneDXXML, 8, 7, ""},
	{"osv-scanner/only-unimportant.spdx.json", FormatSPDXJSON, 1, 0, ""},
	{"osv-scanner/postgres-stretch.cdx.xml", FormatCycloneDXXML, 135, 1, ""},
	{"osv-scanner/with-duplicates.cdx.xml", FormatCycloneDXXML, 14, 1, ""},
	{"syft/alpine-3.12-syft-schema13.syft.json", FormatSyftJSON, 14, 0, ""},
	{"syft/alpine-3.16-syft-schema6.syft.json", FormatSyftJSON, 14, 0, ""},
	{"syft/alpine-latest-syft-schema1.1.syft.json", FormatSyftJSON, 14, 0, ""},
	{"syft/bitnami-postgresql.spdx.json", FormatSPDXJSON, 19, 0, ""},
	{"trivy-fanal-packages/alpine-310.json.golden", "", 0, 0, "a JSON array (a bare package list?) is not an SBOM document"},
	{"trivy-fanal-packages/debian-buster.json.golden", "", 0, 0, "a JSON array (a bare package list?) is not an SBOM document"},
	{"trivy-fanal-packages/ubi-7.json.golden", "", 0, 0, "a JSON array (a bare package list?) is not an SBOM document"},
	{"trivy/centos-7-cyclonedx.intoto.jsonl", FormatCycloneDXJSON, 2, 0, ""},
	{"trivy/centos-7-cyclonedx.json", FormatCycloneDXJSON, 2, 0, ""},
	{"trivy/centos-7-spdx.json", FormatSPDXJSON, 2, 1, ""},
	{"trivy/centos-7-spdx.txt", FormatSPDXTagValue, 2, 1, ""},
	{"trivy/fluentd-multiple-lockfiles-cyclonedx.json", FormatCycloneDXJSON, 3, 0, ""},
	{"trivy/license-cyclonedx.json", FormatCycloneDXJSON, 3, 1, ""},
	{"trivy/minikube-kbom.json", FormatCycloneDXJSON, 1, 15, ""},
}

func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*/*")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range corpusCases {
		listed[c.file] = true
	}
	for _, f := range files {
		rel, _ := filepath.Rel("testdata/corpus", f)
		if filepath.Base(f) != "SOURCES.md" && !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is in testdata/corpus but not in corpusCases", rel)
		}
	}
	for _, c := range corpusCases {
		t.Run(c.file, func(t *testing.T) {
			doc, err := DecodeFile(filepath.Join("testdata/corpus", c.file), DefaultMaxBytes)
			if c.err != "" {
				if err == nil {
					t.Fatalf("decoded as %s with %d packages, want error containing %q", doc.Format, len(doc.Packages), c.err)
				}
				if !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %q does not contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if doc.Format != c.format {
				t.Errorf("format %s, want %s", doc.Format, c.format)
			}
			if len(doc.Packages) != c.pkgs || len(doc.Unidentified) != c.unident {
				t.Errorf("%d packages and %d unidentified, want %d and %d", len(doc.Packages), len(doc.Unidentified), c.pkgs, c.unident)
			}
			for _, p := range doc.Packages {
				if p.Ecosystem == "" || p.Name == "" || p.Version == "" || p.PURL == "" {
					t.Errorf("incomplete package %+v", p)
				}
			}
			for _, u := range doc.Unidentified {
				if u.Reason == "" {
					t.Errorf("unidentified entry without a reason: %+v", u)
				}
			}
		})
	}
}

func TestCorpusNonSBOMsAreUnknownFormat(t *testing.T) {
	for _, f := range []string{
		"trivy-fanal-packages/debian-buster.json.golden",
		"claircore/clair-indexreport-debian-10.json",
		"grype-purl-lists/valid-purl.txt",
	} {
		_, err := DecodeFile(filepath.Join("testdata/corpus", f), DefaultMaxBytes)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: error %v is not ErrUnknownFormat", f, err)
		}
	}
}
