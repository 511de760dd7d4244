package vex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeCorpus(t *testing.T) {
	for _, c := range []struct {
		file, format          string
		statements, skipped   int
		vuln, product, digest string
		status                string
	}{
		// Two architectures of one apk inside an image: one package key,
		// scoped to the image digest the product names.
		{"open-vex-not-affected.json", FormatOpenVEX, 1, 0, "CVE-2023-12345", "pkg:apk/alpine/git@2.38.1-r0",
			"sha256:23a264e6e429852221a963e9f17338ba3f5796dc7086e46439a6f4482cf6e0cb", NotAffected},
		{"open-vex-affected.json", FormatOpenVEX, 1, 0, "CVE-1234-5678", "pkg:apk/wolfi/bash@1.0.0", "", Affected},
		{"tomcat-not-affected.openvex.json", FormatOpenVEX, 2, 0, "GHSA-c9hw-wf7x-jp9j", "pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@8.5.34", "", NotAffected},
		{"tomcat-affected.openvex.json", FormatOpenVEX, 2, 0, "CVE-2020-1938", "pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@8.5.34", "", Affected},
		// bom-ref resolved to the component's purl.
		{"cdx-examples-vex.json", FormatCycloneDX, 1, 0, "CVE-2020-25649", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0", "", NotAffected},
		{"cyclonedx-unaffected-vex.json", FormatCycloneDX, 1, 0, "CVE-2020-25649", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0", "", NotAffected},
		// The affected products are components without a purl: nothing to match.
		{"cdx-cisa-case-1-not_affected.json", FormatCycloneDX, 0, 1, "", "", "", ""},
		{"cyclonedx-vex-false-positive.json", FormatCycloneDX, 0, 2, "", "", "", ""},
		{"cyclonedx-vex-affected.json", FormatCycloneDX, 0, 1, "", "", "", ""},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(c.file, b)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if d.Format != c.format || len(d.Statements) != c.statements || d.Skipped != c.skipped {
			t.Errorf("%s: %s, %d statements, %d skipped; want %s, %d, %d", c.file, d.Format, len(d.Statements), d.Skipped, c.format, c.statements, c.skipped)
			continue
		}
		if c.statements == 0 {
			continue
		}
		s := d.Statements[0]
		if s.Vulnerability != c.vuln || s.ProductKey != c.product || s.ImageDigest != c.digest || s.Status != c.status || s.At.IsZero() {
			t.Errorf("%s: %+v", c.file, s)
		}
	}
}

func TestDecodeAliasesAndQualifiers(t *testing.T) {
	b, err := os.ReadFile("testdata/tomcat-not-affected.openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode("tomcat", b)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Statements[1]
	if s.ProductKey != "pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@8.5.39" || strings.Join(s.Aliases, ",") != "CVE-2020-1938" ||
		s.Justification != "vulnerable_code_not_in_execute_path" {
		t.Errorf("%+v", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"csaf", "@testdata/rhsa-csaf.json", "CSAF documents are not supported"},
		{"sbom", "@testdata/cdx-examples-bom.json", "without vulnerabilities[] is an SBOM"},
		{"not json", `{"statements": [`, "not JSON"},
		{"unknown", `{"hello": 1}`, "not an OpenVEX or CycloneDX VEX document"},
		{"bad status", `{"statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a@1"}],"status":"maybe"}]}`, `statement 1 (CVE-1): status "maybe"`},
		{"no vulnerability", `{"statements":[{"products":[{"@id":"pkg:npm/a@1"}],"status":"affected"}]}`, "statement 1: vulnerability has no name"},
		{"no products", `{"statements":[{"vulnerability":"CVE-1","status":"affected"}]}`, "no products"},
		{"purl without version", `{"statements":[{"vulnerability":"CVE-1","products":["pkg:npm/a"],"status":"affected"}]}`, "has no version"},
		{"bad time", `{"timestamp":"yesterday","statements":[]}`, `timestamp "yesterday"`},
		{"cdx bad state", `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"fine"}}]}`, `analysis.state "fine"`},
		{"cdx no id", `{"bomFormat":"CycloneDX","vulnerabilities":[{"analysis":{"state":"not_affected"}}]}`, "vulnerability 1: no id"},
	} {
		doc := []byte(c.doc)
		if strings.HasPrefix(c.doc, "@") {
			var err error
			if doc, err = os.ReadFile(c.doc[1:]); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Decode(c.name+".json", doc)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name+".json") {
			t.Errorf("%s: %v, want an error naming the file and %q", c.name, err, c.want)
		}
	}
}

func TestDecodeCycloneDXStates(t *testing.T) {
	for state, want := range map[string]string{"not_affected": NotAffected, "false_positive": NotAffected, "exploitable": Affected,
		"in_triage": UnderInvestigation, "resolved": Fixed} {
		doc := `{"bomFormat":"CycloneDX","components":[{"bom-ref":"c1","purl":"pkg:golang/example.com/m@v1.2.3?type=module"}],
			"vulnerabilities":[{"id":"GO-2024-1","references":[{"id":"CVE-2024-1"}],"analysis":{"state":"` + state + `","lastUpdated":"2024-05-01T00:00:00Z"},
			"affects":[{"ref":"urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#c1"},{"ref":"pkg:npm/left-pad@1.0.0"}]}]}`
		d, err := Decode(state, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Statements) != 2 || d.Statements[0].Status != want || d.Statements[0].ProductKey != "pkg:golang/example.com/m@v1.2.3" ||
			d.Statements[1].ProductKey != "pkg:npm/left-pad@1.0.0" || d.Statements[0].Aliases[0] != "CVE-2024-1" {
			t.Errorf("%s: %+v", state, d.Statements)
		}
	}
}

func TestDecodeOpenVEXProducts(t *testing.T) {
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[{"vulnerability":"CVE-1","status":"fixed","timestamp":"2026-02-01T00:00:00Z",
		"products":["pkg:npm/a@1",
			{"@id":"ghcr.io/acme/app@sha256:aa","subcomponents":["pkg:npm/b@2"]},
			{"@id":"pkg:oci/app?repository_url=ghcr.io/acme","subcomponents":["pkg:npm/c@3"]},
			{"@id":"pkg:oci/app@sha256%3Abb"},
			{"@id":"https://acme.example/product/1","identifiers":{"purl":"pkg:pypi/d@4"}}]}]}`
	d, err := Decode("products.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range d.Statements {
		got = append(got, s.ProductKey+" "+s.ImageDigest+" "+s.At.Format("01-02"))
	}
	// The image without a digest and the whole image are skipped.
	if want := "pkg:npm/a@1  02-01,pkg:npm/b@2 sha256:aa 02-01,pkg:pypi/d@4  02-01"; strings.Join(got, ",") != want || d.Skipped != 2 {
		t.Errorf("got %q, %d skipped; want %q, 2", strings.Join(got, ","), d.Skipped, want)
	}
}

func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode("fuzz", b)
		if err != nil {
			return
		}
		for _, s := range d.Statements {
			if s.Vulnerability == "" || s.ProductKey == "" || s.Status == "" {
				t.Fatalf("incomplete statement %+v", s)
			}
			if _, err := ProductKey(s.ProductKey); err != nil {
				t.Fatalf("product key %q does not parse: %v", s.ProductKey, err)
			}
		}
	})
}
