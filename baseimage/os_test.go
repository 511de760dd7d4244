package baseimage_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// matched ingests an SBOM into a real store with advisories and returns
// the advisory ids it matched, sorted.
func matched(t *testing.T, doc *sbom.Document, advs ...advisory.Advisory) []string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: []byte("doc"), Source: "sbom.json", Image: "img@" + digestOf("aa"), At: date("2026-03-01")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportFeed(ctx, store.FeedData{Source: "osv", Advisories: advs, At: date("2026-03-01")}); err != nil {
		t.Fatal(err)
	}
	if _, err := vuln.Reconcile(ctx, st, store.Scope{Cause: store.CauseNewImage}, date("2026-03-01")); err != nil {
		t.Fatal(err)
	}
	fs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.AdvisoryID)
	}
	sort.Strings(ids)
	return ids
}

func osAdv(id, eco, name, fixed string) advisory.Advisory {
	return advisory.Advisory{ID: id, Modified: date("2026-01-01"), Affected: []advisory.Affected{{
		Package: advisory.Package{Ecosystem: eco, Name: name},
		Ranges:  []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fixed}}}},
	}}}
}

// C80: layer 0 adds only the CA bundle, layer 1 is the Alpine 3.19 rootfs
// with /etc/os-release. The OS comes from os-release wherever it is (Syft's
// distro block describes the squashed filesystem), so the apk packages are
// Alpine 3.19 and match its advisories, not another release's.
func TestC80OSNotFromLayerZeroAlone(t *testing.T) {
	l0, l1 := digestOf("c0"), digestOf("c1")
	doc := `{"schema":{"version":"16.0.1","url":"https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.1.json"},
	  "source":{"id":"x","name":"registry.example/app","version":"sha256:aa","type":"image","metadata":{"userInput":"registry.example/app:1",
	    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + l0 + `","size":214},
	              {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + l1 + `","size":7377920}]}},
	  "distro":{"prettyName":"Alpine Linux v3.19","name":"Alpine Linux","id":"alpine","versionID":"3.19.1","homeURL":"https://alpinelinux.org/"},
	  "files":[{"id":"f0","location":{"path":"/etc/ssl/certs/ca-certificates.crt","layerID":"` + l0 + `"}},
	           {"id":"f1","location":{"path":"/etc/os-release","layerID":"` + l1 + `"}}],
	  "artifacts":[
	    {"id":"a","name":"libcrypto3","version":"3.1.4-r0","type":"apk","foundBy":"apk-db-cataloger","locations":[{"path":"/lib/apk/db/installed","layerID":"` + l1 + `"}],
	     "purl":"pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&upstream=openssl&distro=alpine-3.19.1","metadataType":"apk-db-entry","metadata":{"package":"libcrypto3","originPackage":"openssl"}},
	    {"id":"b","name":"musl","version":"1.2.4_git20230717-r4","type":"apk","foundBy":"apk-db-cataloger","locations":[{"path":"/lib/apk/db/installed","layerID":"` + l1 + `"}],
	     "purl":"pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1","metadataType":"apk-db-entry","metadata":{"package":"musl","originPackage":"musl"}}]}`
	d, err := sbom.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.Distro == nil || d.Distro.ID != "alpine" || d.Distro.VersionID != "3.19.1" || d.Distro.Variant != "" {
		t.Fatalf("distro = %+v", d.Distro)
	}
	for _, p := range d.Packages {
		if p.Ecosystem != "Alpine" || p.Release != "3.19" {
			t.Errorf("%s: %s %s", p.Name, p.Ecosystem, p.Release)
		}
	}
	got := matched(t, d,
		osAdv("ALPINE-3.19-openssl", "Alpine:v3.19", "openssl", "3.1.4-r1"),
		osAdv("ALPINE-3.18-openssl", "Alpine:v3.18", "openssl", "3.1.4-r5"))
	if len(got) != 1 || got[0] != "ALPINE-3.19-openssl" {
		t.Errorf("matched %v, want the Alpine 3.19 advisory only", got)
	}
}

// C81: no package manager, os-release says PRETTY_NAME="Distroless",
// ID=debian, VERSION_ID=12, packages from /var/lib/dpkg/status.d/. It is
// Debian 12, marked distroless, matched against Debian 12 advisories.
func TestC81DistrolessIsDebianWithMarker(t *testing.T) {
	doc := `{"schema":{"version":"16.0.1"},
	  "source":{"id":"x","name":"gcr.io/distroless/base-debian12","type":"image","metadata":{"userInput":"gcr.io/distroless/base-debian12:latest"}},
	  "distro":{"prettyName":"Distroless","name":"Debian GNU/Linux","id":"debian","version":"12 (bookworm)","versionID":"12","versionCodename":"bookworm",
	    "homeURL":"https://github.com/GoogleContainerTools/distroless","supportURL":"https://github.com/GoogleContainerTools/distroless/blob/master/README.md"},
	  "artifacts":[
	    {"id":"a","name":"libssl3","version":"3.0.11-1~deb12u2","type":"deb","foundBy":"dpkg-db-cataloger",
	     "locations":[{"path":"/var/lib/dpkg/status.d/libssl3"}],
	     "purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
	     "metadataType":"dpkg-db-entry","metadata":{"package":"libssl3","source":"openssl","version":"3.0.11-1~deb12u2"}},
	    {"id":"b","name":"tzdata","version":"2024a-0+deb12u1","type":"deb","foundBy":"dpkg-db-cataloger",
	     "locations":[{"path":"/var/lib/dpkg/status.d/tzdata"}],
	     "purl":"pkg:deb/debian/tzdata@2024a-0+deb12u1?arch=all&distro=debian-12","metadataType":"dpkg-db-entry","metadata":{"package":"tzdata"}}]}`
	d, err := sbom.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.Distro == nil || d.Distro.ID != "debian" || d.Distro.VersionID != "12" || d.Distro.Variant != sbom.VariantDistroless {
		t.Fatalf("distro = %+v", d.Distro)
	}
	for _, p := range d.Packages {
		if p.Ecosystem != "Debian" || p.Release != "12" {
			t.Errorf("%s: %s %s", p.Name, p.Ecosystem, p.Release)
		}
	}
	got := matched(t, d,
		osAdv("DSA-5678-1", "Debian:12", "openssl", "3.0.13-1~deb12u1"),
		osAdv("DLA-3800-1", "Debian:11", "openssl", "1.1.1w-0+deb11u2"))
	if len(got) != 1 || got[0] != "DSA-5678-1" {
		t.Errorf("matched %v, want the Debian 12 advisory only", got)
	}
	// The marker is kept on the stored SBOM record.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.IngestSBOM(ctx, store.IngestInput{Document: d, Raw: []byte(doc), Source: "distroless.syft.json", At: date("2026-03-01")})
	if err != nil {
		t.Fatal(err)
	}
	if res.SBOM.Distro != "debian 12 (distroless)" {
		t.Errorf("stored distro = %q", res.SBOM.Distro)
	}

	// Syft's CycloneDX writes PRETTY_NAME as the OS component's description.
	cdx := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	  {"type":"library","name":"libssl3","version":"3.0.11-1~deb12u2","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12"},
	  {"type":"operating-system","name":"debian","version":"12","description":"Distroless","properties":[{"name":"syft:distro:id","value":"debian"}]}]}`
	if d := must(sbom.Decode([]byte(cdx))); d.Distro == nil || d.Distro.ID != "debian" || d.Distro.VersionID != "12" || d.Distro.Variant != sbom.VariantDistroless {
		t.Errorf("cyclonedx distro = %+v", d.Distro)
	}
}

// A real distroless SBOM (Syft 0.58, before it recorded os-release in
// CycloneDX): Debian 11 from the purl qualifiers, distroless from the image
// name it describes.
func TestDistrolessRealSBOM(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "distroless-cyclonedx.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := sbom.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Distro == nil || d.Distro.ID != "debian" || d.Distro.VersionID != "11" || d.Distro.Variant != sbom.VariantDistroless {
		t.Fatalf("distro = %+v (subject %q)", d.Distro, d.Subject)
	}
	if len(d.Packages) != 3 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	for _, p := range d.Packages {
		if p.Ecosystem != "Debian" || p.Release != "11" {
			t.Errorf("%s: %s %s", p.Name, p.Ecosystem, p.Release)
		}
	}
	// A plain Debian SBOM is not marked.
	plain := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"metadata":{"component":{"type":"container","name":"docker.io/library/debian"}},"components":[
	  {"type":"library","name":"tzdata","version":"2024a-0+deb12u1","purl":"pkg:deb/debian/tzdata@2024a-0+deb12u1?distro=debian-12"}]}`
	if d := must(sbom.Decode([]byte(plain))); d.Distro == nil || d.Distro.Variant != "" {
		t.Errorf("plain debian distro = %+v", d.Distro)
	}
}
