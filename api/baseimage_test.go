package api

import (
	"context"
	"testing"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// With an SBOM for the Debian base, image A's findings say which the base
// brought: openssl (in the base's SBOM at that version) yes, lodash no.
func TestFindingsInBase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	doc := `{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
		{"type": "operating-system", "name": "debian", "version": "12"},
		{"type": "library", "name": "openssl", "version": "3.0.11-1~deb12u1", "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"}]}`
	d := must(sbom.Decode([]byte(doc)))
	must(f.store.IngestSBOM(ctx, store.IngestInput{Document: d, Raw: []byte(doc), Source: "debian.cdx.json", Image: other + "@" + digestC, At: t3}))
	_, srv := newTestAPI(t, f, Options{})
	schemas := newSchemaChecker(t)
	for path, doc := range map[string]string{"/api/v1/images/" + digestA: "/api/v1/images/{digest}", "/api/v1/images/" + digestA + "/findings": "/api/v1/images/{digest}/findings"} {
		res := do(t, "GET", srv.URL+path, nil)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", path, res.status, res.body)
		}
		v := decode(t, res.body)
		if errs := schemas.check(path, schemas.responseSchema(doc, "get"), v); len(errs) > 0 {
			t.Errorf("%s: %v", path, errs)
		}
		got := map[string]any{}
		for _, x := range list(v, "findings") {
			m := x.(map[string]any)
			got[m["package"].(map[string]any)["name"].(string)] = m["in_base"]
		}
		if got["openssl"] != true || got["lodash"] != false || len(got) != 2 {
			t.Errorf("%s: in_base by package = %v", path, got)
		}
	}
	// Packages: openssl from the base, the Node packages the image's own.
	path := "/api/v1/images/" + digestA + "/packages"
	res := do(t, "GET", srv.URL+path, nil)
	v := decode(t, res.body)
	if errs := schemas.check(path, schemas.responseSchema("/api/v1/images/{digest}/packages", "get"), v); len(errs) > 0 {
		t.Errorf("%s: %v", path, errs)
	}
	from := map[string]any{}
	for _, x := range list(v, "packages") {
		m := x.(map[string]any)
		from[m["name"].(string)] = m["from_base"]
	}
	if from["openssl"] != true || from["lodash"] != false || from["left-pad"] != false {
		t.Errorf("from_base = %v", from)
	}
}
