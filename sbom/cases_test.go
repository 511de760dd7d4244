package sbom

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, doc string) *Document {
	t.Helper()
	d, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return d
}

func onlyPackage(t *testing.T, d *Document) Package {
	t.Helper()
	if len(d.Packages) != 1 {
		t.Fatalf("%d packages, want 1: %+v (unidentified %+v)", len(d.Packages), d.Packages, d.Unidentified)
	}
	return d.Packages[0]
}

// want compares the identity fields that matching depends on.
func want(t *testing.T, got Package, eco, rel, name, ver, srcName, srcVer string) {
	t.Helper()
	if got.Ecosystem != eco || got.Release != rel || got.Name != name || got.Version != ver || got.SourceName != srcName || got.SourceVersion != srcVer {
		t.Errorf("got (%q %q %q %q src %q %q), want (%q %q %q %q src %q %q)",
			got.Ecosystem, got.Release, got.Name, got.Version, got.SourceName, got.SourceVersion,
			eco, rel, name, ver, srcName, srcVer)
	}
}

func TestC07DebianBinaryCarriesSourceFromUpstream(t *testing.T) {
	p, err := FromPURL("pkg:deb/debian/perl-base@5.40.1-6?arch=arm64&distro=debian-13&upstream=perl", nil)
	if err != nil {
		t.Fatal(err)
	}
	want(t, p, "Debian", "13", "perl-base", "5.40.1-6", "perl", "5.40.1-6")
	p, _ = FromPURL("pkg:deb/debian/libperl5.40@5.40.1-6?distro=trixie&upstream=perl%405.40.1-6", nil)
	want(t, p, "Debian", "13", "libperl5.40", "5.40.1-6", "perl", "5.40.1-6")
}

func TestC14AlpineOrigin(t *testing.T) {
	p, err := FromPURL("pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&distro=alpine-3.19.1&upstream=openssl", nil)
	if err != nil {
		t.Fatal(err)
	}
	want(t, p, "Alpine", "3.19", "libcrypto3", "3.1.4-r0", "openssl", "3.1.4-r0")
	// Syft JSON: origin in metadata, release from the document's distro.
	d := mustDecode(t, `{"schema":{"version":"16.0.0"},"distro":{"id":"alpine","versionID":"3.19.1"},
	  "artifacts":[{"name":"libcrypto3","version":"3.1.4-r0","type":"apk","purl":"pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64",
	  "metadataType":"apk-db-entry","metadata":{"package":"libcrypto3","originPackage":"openssl"}}]}`)
	want(t, onlyPackage(t, d), "Alpine", "3.19", "libcrypto3", "3.1.4-r0", "openssl", "3.1.4-r0")
	if d.Distro == nil || d.Distro.ID != "alpine" || d.Distro.VersionID != "3.19.1" {
		t.Errorf("distro %+v", d.Distro)
	}
}

func TestC17EpochQualifier(t *testing.T) {
	p, err := FromPURL("pkg:rpm/dbus@1.12.8-18.el8?arch=x86_64&epoch=1", &Distro{ID: "rhel", VersionID: "8.6"})
	if err != nil {
		t.Fatal(err)
	}
	want(t, p, "Red Hat", "8", "dbus", "1:1.12.8-18.el8", "dbus", "1:1.12.8-18.el8")
	// A zero epoch adds nothing; an epoch already in the version is kept once.
	p, _ = FromPURL("pkg:rpm/redhat/bash@5.1.8-9.el9?epoch=0&distro=rhel-9.6", nil)
	want(t, p, "Red Hat", "9", "bash", "5.1.8-9.el9", "bash", "5.1.8-9.el9")
	p, _ = FromPURL("pkg:rpm/redhat/kernel@0:5.14.0-100?distro=rhel-9.4%2Beus", nil)
	want(t, p, "Red Hat", "9", "kernel", "0:5.14.0-100", "kernel", "0:5.14.0-100")
}

func TestC20SourceRPM(t *testing.T) {
	d := mustDecode(t, `{"schema":{"version":"3.0.0"},"distro":{"id":"rhel","versionID":"7.9"},"artifacts":[
	  {"name":"perl-Pod-Escapes","version":"1.04-299.el7_9","type":"rpm","purl":"pkg:rpm/redhat/perl-Pod-Escapes@1.04-299.el7_9?arch=noarch",
	   "metadataType":"RpmMetadata","metadata":{"name":"perl-Pod-Escapes","version":"1.04","release":"299.el7_9","epoch":1,"sourceRpm":"perl-5.16.3-299.el7_9.src.rpm"}},
	  {"name":"perl-libs","version":"5.16.3-299.el7_9","type":"rpm","purl":"pkg:rpm/redhat/perl-libs@5.16.3-299.el7_9?arch=x86_64",
	   "metadataType":"RpmMetadata","metadata":{"epoch":4,"sourceRpm":"perl-5.16.3-299.el7_9.src.rpm"}}]}`)
	if len(d.Packages) != 2 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	// Epoch 1 comes from the metadata; the source inherits it.
	want(t, d.Packages[0], "Red Hat", "7", "perl-Pod-Escapes", "1:1.04-299.el7_9", "perl", "1:5.16.3-299.el7_9")
	want(t, d.Packages[1], "Red Hat", "7", "perl-libs", "4:5.16.3-299.el7_9", "perl", "4:5.16.3-299.el7_9")
	// Red Hat SPDX writes the source RPM into the upstream qualifier.
	p, _ := FromPURL("pkg:rpm/redhat/alternatives@1.24-2.el9?arch=x86_64&distro=rhel-9.6&upstream=chkconfig-1.24-2.el9.src.rpm", nil)
	want(t, p, "Red Hat", "9", "alternatives", "1.24-2.el9", "chkconfig", "1.24-2.el9")
}

func TestParseSourceRPM(t *testing.T) {
	for _, c := range []struct{ in, name, ver string }{
		{"perl-5.16.3-299.el7_9.src.rpm", "perl", "5.16.3-299.el7_9"},
		{"ca-certificates-2024.2.69_v8.0.303-91.4.el9_4.src.rpm", "ca-certificates", "2024.2.69_v8.0.303-91.4.el9_4"},
		{"dive-0.9.2-1.src.rpm", "dive", "0.9.2-1"},
		{"kernel-5.14.0-1.nosrc.rpm", "kernel", "5.14.0-1"},
		{"weird.src.rpm", "weird", ""},
	} {
		if n, v := parseSourceRPM(c.in); n != c.name || v != c.ver {
			t.Errorf("parseSourceRPM(%q) = %q %q, want %q %q", c.in, n, v, c.name, c.ver)
		}
	}
}

func TestC29PyPINames(t *testing.T) {
	for in, name := range map[string]string{
		"pkg:pypi/PyYAML@5.3":            "pyyaml",
		"pkg:pypi/Django@3.2.21":         "django",
		"pkg:pypi/zope.interface@5.0":    "zope-interface",
		"pkg:pypi/Foo__Bar-.baz@1":       "foo-bar-baz",
		"pkg:python/typing_extensions@4": "typing-extensions",
	} {
		p, err := FromPURL(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Ecosystem != "PyPI" || p.Name != name {
			t.Errorf("%s → %s %s, want PyPI %s", in, p.Ecosystem, p.Name, name)
		}
	}
}

func TestC32MavenGroupArtifact(t *testing.T) {
	p, err := FromPURL("pkg:maven/log4j/log4j@1.2.17", nil)
	if err != nil {
		t.Fatal(err)
	}
	want(t, p, "Maven", "", "log4j:log4j", "1.2.17", "", "")
	// A Syft Java artifact without purl is identified from its pom properties.
	d := mustDecode(t, `{"schema":{"version":"1.1.0"},"artifacts":[{"name":"log4j","version":"1.2.17","type":"java-archive",
	  "metadataType":"JavaMetadata","metadata":{"pomProperties":{"groupId":"log4j","artifactId":"log4j","version":"1.2.17"}}}]}`)
	want(t, onlyPackage(t, d), "Maven", "", "log4j:log4j", "1.2.17", "", "")
	if _, err := FromPURL("pkg:maven/log4j@1.2.17", nil); err == nil || !strings.Contains(err.Error(), "groupId") {
		t.Errorf("maven purl without namespace: err %v", err)
	}
}

func TestC35ScopedNPM(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	  {"type":"library","group":"@colors","name":"colors","version":"1.5.0","purl":"pkg:npm/%40colors/colors@1.5.0"},
	  {"type":"library","name":"colors","version":"1.4.0","purl":"pkg:npm/colors@1.4.0"}]}`)
	if len(d.Packages) != 2 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	want(t, d.Packages[0], "npm", "", "@colors/colors", "1.5.0", "", "")
	want(t, d.Packages[1], "npm", "", "colors", "1.4.0", "", "")
}

func TestC38C39NuGet(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.4","version":1,"components":[
	  {"type":"library","name":"Newtonsoft.Json","version":"11.0.2","purl":"pkg:nuget/Newtonsoft.Json@11.0.2"},
	  {"type":"library","name":"Example.OpenApi","version":"3.5.3","purl":"pkg:nuget/Example.OpenApi@3.5.3"}]}`)
	if len(d.Packages) != 2 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	// NuGet IDs keep their case; matching compares them case-insensitively.
	want(t, d.Packages[0], "NuGet", "", "Newtonsoft.Json", "11.0.2", "", "")
	want(t, d.Packages[1], "NuGet", "", "Example.OpenApi", "3.5.3", "", "")
	// The non-standard pkg:dotnet maps to nuget only when unambiguous.
	p, err := FromPURL("pkg:dotnet/Newtonsoft.Json@11.0.2", nil)
	if err != nil || p.Type != "nuget" || p.PURL != "pkg:nuget/Newtonsoft.Json@11.0.2" {
		t.Errorf("pkg:dotnet → %+v, %v", p, err)
	}
	if _, err := FromPURL("pkg:dotnet/runtime/Microsoft.NETCore.App@6.0.0", nil); err == nil || !strings.Contains(err.Error(), "dotnet") {
		t.Errorf("namespaced pkg:dotnet accepted: %v", err)
	}
}

const c41 = `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"lodash","version":"4.17.15","purl":"pkg:npm/lodash@4.17.15"}]}`

func TestC41CycloneDXSpecVersions(t *testing.T) {
	for _, v := range []string{"1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8"} {
		d := mustDecode(t, strings.Replace(c41, `"1.6"`, `"`+v+`"`, 1))
		if d.Format != FormatCycloneDXJSON || d.FormatVersion != v {
			t.Errorf("spec %s: format %s %s", v, d.Format, d.FormatVersion)
		}
		want(t, onlyPackage(t, d), "npm", "", "lodash", "4.17.15", "", "")
	}
}

func TestC42FormatFromContentNotName(t *testing.T) {
	dir := t.TempDir()
	for name, format := range map[string]string{"foo.json": FormatCycloneDXJSON, "bom.spdx.json": FormatCycloneDXJSON, "sbom.txt": FormatCycloneDXJSON} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(c41), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := DecodeFile(path, DefaultMaxBytes)
		if err != nil || d.Format != format {
			t.Errorf("%s: %v %v", name, d, err)
		}
	}
}

func TestC44SPDXRootWithoutPURL(t *testing.T) {
	d := mustDecode(t, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[
	  {"SPDXID":"SPDXRef-root","name":"my-app","versionInfo":"1.0.0","downloadLocation":"NOASSERTION"},
	  {"SPDXID":"SPDXRef-net","name":"golang.org/x/net","versionInfo":"v0.7.0","downloadLocation":"NOASSERTION",
	   "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/net@v0.7.0"}]}]}`)
	want(t, onlyPackage(t, d), "Go", "", "golang.org/x/net", "v0.7.0", "", "")
	if len(d.Unidentified) != 1 || d.Unidentified[0].Name != "my-app" || !strings.Contains(d.Unidentified[0].Reason, "no purl") {
		t.Errorf("unidentified %+v", d.Unidentified)
	}
}

func TestC45SPDXEpoch(t *testing.T) {
	const doc = `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"rhel","packages":[
	  {"SPDXID":"SPDXRef-nm","name":"NetworkManager","versionInfo":"1:1.40.16-15.el8_9","downloadLocation":"NOASSERTION",
	   "externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"PURL"}]}]}`
	for _, purl := range []string{
		"pkg:rpm/redhat/NetworkManager@1.40.16-15.el8_9?arch=x86_64&epoch=1&distro=rhel-8.9",
		// No epoch qualifier: versionInfo supplies it.
		"pkg:rpm/redhat/NetworkManager@1.40.16-15.el8_9?arch=x86_64&distro=rhel-8.9",
	} {
		d := mustDecode(t, strings.Replace(doc, "PURL", purl, 1))
		want(t, onlyPackage(t, d), "Red Hat", "8", "NetworkManager", "1:1.40.16-15.el8_9", "NetworkManager", "1:1.40.16-15.el8_9")
	}
}

func TestC47DistroFromPURLQualifier(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.4","version":1,"components":[
	  {"type":"library","name":"libssl1.1","version":"1.1.1n-0+deb10u3","purl":"pkg:deb/debian/libssl1.1@1.1.1n-0%2Bdeb10u3?arch=amd64&distro=debian-10&upstream=openssl"},
	  {"type":"library","name":"zlib1g","version":"1:1.2.11.dfsg-1+deb10u2","purl":"pkg:deb/debian/zlib1g@1:1.2.11.dfsg-1%2Bdeb10u2?arch=amd64"}]}`)
	if d.Distro == nil || d.Distro.ID != "debian" || d.Distro.VersionID != "10" {
		t.Fatalf("distro %+v", d.Distro)
	}
	if len(d.Packages) != 2 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	want(t, d.Packages[0], "Debian", "10", "libssl1.1", "1.1.1n-0+deb10u3", "openssl", "1.1.1n-0+deb10u3")
	// No qualifier on this one: the document's distro gives the release.
	want(t, d.Packages[1], "Debian", "10", "zlib1g", "1:1.2.11.dfsg-1+deb10u2", "zlib1g", "1:1.2.11.dfsg-1+deb10u2")
}

const c48SPDX = `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"distroless","packages":[
  {"SPDXID":"SPDXRef-os","name":"Debian GNU/Linux","versionInfo":"12 (bookworm)","primaryPackagePurpose":"OPERATING-SYSTEM","downloadLocation":"NOASSERTION"},
  {"SPDXID":"SPDXRef-a","name":"tzdata","versionInfo":"2024a-0+deb12u1","downloadLocation":"NOASSERTION"},
  {"SPDXID":"SPDXRef-b","name":"netbase","versionInfo":"6.4","downloadLocation":"NOASSERTION",
   "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:oci/netbase@sha256:abc"}]}]}`

func TestC48aNothingUsable(t *testing.T) {
	d := mustDecode(t, c48SPDX)
	if len(d.Packages) != 0 || len(d.Unidentified) != 2 {
		t.Fatalf("%d packages, %d unidentified", len(d.Packages), len(d.Unidentified))
	}
	if d.Distro == nil || d.Distro.ID != "debian" || d.Distro.VersionID != "12" {
		t.Errorf("distro %+v", d.Distro)
	}
	if !strings.Contains(d.Unidentified[1].Reason, "purl type oci has no vulnerability ecosystem") {
		t.Errorf("reason %q", d.Unidentified[1].Reason)
	}
}

func TestC48bWrappedSPDX(t *testing.T) {
	inner := strings.Replace(c48SPDX, `"pkg:oci/netbase@sha256:abc"`, `"pkg:deb/debian/netbase@6.4?distro=debian-12"`, 1)
	d := mustDecode(t, `{"sbom": `+inner+`}`)
	if d.Format != FormatSPDXJSON {
		t.Errorf("format %s", d.Format)
	}
	want(t, onlyPackage(t, d), "Debian", "12", "netbase", "6.4", "netbase", "6.4")
}

func TestC50SyftWithoutMetadata(t *testing.T) {
	d := mustDecode(t, `{"schema":{"version":"16.0.0"},"distro":{"id":"debian","versionID":"11"},"artifacts":[
	  {"name":"bash","version":"5.1-2+deb11u1","type":"deb","metadataType":"dpkg-db-entry","purl":"pkg:deb/debian/bash@5.1-2%2Bdeb11u1?arch=amd64"},
	  {"name":"libc6","version":"2.31-13","type":"deb","metadataType":"dpkg-db-entry","metadata":null,"purl":"pkg:deb/debian/libc6@2.31-13"},
	  {"name":"login","version":"1:4.8.1-1","type":"deb","metadataType":"DpkgMetadata","metadata":{"source":"shadow (1:4.8.1-1)"},"purl":"pkg:deb/debian/login@1:4.8.1-1"}]}`)
	if len(d.Packages) != 3 {
		t.Fatalf("%d packages, unidentified %+v", len(d.Packages), d.Unidentified)
	}
	want(t, d.Packages[0], "Debian", "11", "bash", "5.1-2+deb11u1", "bash", "5.1-2+deb11u1")
	want(t, d.Packages[1], "Debian", "11", "libc6", "2.31-13", "libc6", "2.31-13")
	want(t, d.Packages[2], "Debian", "11", "login", "1:4.8.1-1", "shadow", "1:4.8.1-1")
}

func TestInTotoStatementAndDSSE(t *testing.T) {
	stmt := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cyclonedx.org/bom","subject":[],"predicate":` + c41 + `}`
	for name, doc := range map[string]string{
		"statement": stmt,
		"dsse":      `{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(stmt)) + `","signatures":[]}`,
		"jsonl":     stmt + "\n" + stmt + "\n",
	} {
		d, err := Decode([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want(t, onlyPackage(t, d), "npm", "", "lodash", "4.17.15", "", "")
	}
	_, err := Decode([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`))
	if err == nil || !strings.Contains(err.Error(), "slsa.dev/provenance") {
		t.Errorf("provenance statement: %v", err)
	}
}

func TestTrivyReport(t *testing.T) {
	d := mustDecode(t, `{"SchemaVersion":2,"ArtifactName":"img","Metadata":{"OS":{"Family":"redhat","Name":"8.6"}},
	  "Results":[{"Target":"img (redhat 8.6)","Class":"os-pkgs","Type":"redhat","Packages":[
	    {"Name":"perl-Pod-Escapes","Version":"1.07","Release":"395.el8","Epoch":1,"SrcName":"perl","SrcVersion":"5.26.3","SrcRelease":"422.el8","SrcEpoch":4,
	     "Identifier":{"PURL":"pkg:rpm/redhat/perl-Pod-Escapes@1.07-395.el8?arch=noarch&distro=redhat-8.6&epoch=1"}},
	    {"Name":"bash","Version":"4.4.20","Release":"4.el8_6","SrcName":"bash","SrcVersion":"4.4.20","SrcRelease":"4.el8_6"}]},
	   {"Target":"package-lock.json","Class":"lang-pkgs","Type":"npm","Vulnerabilities":[
	    {"VulnerabilityID":"CVE-1","PkgName":"@babel/traverse","InstalledVersion":"7.22.0"},
	    {"VulnerabilityID":"CVE-2","PkgName":"jquery","InstalledVersion":"3.3.9","PkgIdentifier":{"PURL":"pkg:npm/jquery@3.3.9"}},
	    {"VulnerabilityID":"CVE-3","PkgName":"jquery","InstalledVersion":"3.3.9","PkgIdentifier":{"PURL":"pkg:npm/jquery@3.3.9"}}]}]}`)
	if d.Distro == nil || d.Distro.ID != "rhel" || d.Distro.VersionID != "8.6" {
		t.Errorf("distro %+v", d.Distro)
	}
	if len(d.Packages) != 4 {
		t.Fatalf("%d packages: %+v %+v", len(d.Packages), d.Packages, d.Unidentified)
	}
	want(t, d.Packages[0], "Red Hat", "8", "perl-Pod-Escapes", "1:1.07-395.el8", "perl", "4:5.26.3-422.el8")
	// No purl (older Trivy): built from the result type and the OS family.
	want(t, d.Packages[1], "Red Hat", "8", "bash", "4.4.20-4.el8_6", "bash", "4.4.20-4.el8_6")
	want(t, d.Packages[2], "npm", "", "@babel/traverse", "7.22.0", "", "")
	want(t, d.Packages[3], "npm", "", "jquery", "3.3.9", "", "")
}

func TestUnknownPURLTypeIsCounted(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	  {"type":"library","name":"postgresql","version":"11.15","purl":"pkg:generic/postgresql@11.15"},
	  {"type":"library","name":"x","version":"1","purl":"pkg:npm/x@1"},
	  {"type":"library","name":"x","version":"1","purl":"pkg:npm/x@1?foo=bar"}]}`)
	if len(d.Packages) != 1 || len(d.Unidentified) != 1 {
		t.Fatalf("%d packages, %d unidentified", len(d.Packages), len(d.Unidentified))
	}
	if d.Unidentified[0].Reason != "purl type generic has no vulnerability ecosystem" {
		t.Errorf("reason %q", d.Unidentified[0].Reason)
	}
}

func TestNestedCycloneDXComponents(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	  {"type":"application","name":"app.jar","purl":"pkg:maven/com.acme/app@1.0","components":[
	    {"type":"library","name":"log4j-core","group":"org.apache.logging.log4j","version":"2.14.1","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
	     "components":[{"type":"library","name":"inner","version":"0.1","purl":"pkg:maven/com.acme/inner@0.1"}]}]},
	  {"type":"operating-system","name":"ubuntu","version":"22.04"}]}`)
	if len(d.Packages) != 3 {
		t.Fatalf("%d packages", len(d.Packages))
	}
	want(t, d.Packages[1], "Maven", "", "org.apache.logging.log4j:log4j-core", "2.14.1", "", "")
	if d.Distro == nil || d.Distro.ID != "ubuntu" || d.Distro.VersionID != "22.04" {
		t.Errorf("distro %+v", d.Distro)
	}
}

func TestOneBadComponentDoesNotAbort(t *testing.T) {
	// "version" is a number: cyclonedx-go rejects the whole BOM, the
	// lenient path loses only that component.
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	  {"type":"library","name":"bad","version":7,"purl":"pkg:npm/bad@7"},
	  {"type":"library","name":"good","version":"1.0.0","purl":"pkg:npm/good@1.0.0"}]}`)
	want(t, onlyPackage(t, d), "npm", "", "good", "1.0.0", "", "")
	if len(d.Unidentified) != 1 || d.Unidentified[0].Name != "bad" || !strings.Contains(d.Unidentified[0].Reason, "component 0 is malformed") {
		t.Errorf("unidentified %+v", d.Unidentified)
	}
	// SPDX: a supplier the library rejects keeps the package's identity.
	d = mustDecode(t, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","packages":[
	  {"SPDXID":"SPDXRef-a","name":"a","versionInfo":"1","supplier":"no prefix here","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/a@1"}]},
	  {"SPDXID":"SPDXRef-b","name":"b","versionInfo":"2","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/b@2"}]}]}`)
	if len(d.Packages) != 2 {
		t.Errorf("%d packages, unidentified %+v", len(d.Packages), d.Unidentified)
	}
	// Syft: an artifact of the wrong shape.
	d = mustDecode(t, `{"schema":{"version":"16.0.0"},"artifacts":[["not","an","object"],{"name":"b","version":"2","type":"npm","purl":"pkg:npm/b@2"}]}`)
	if len(d.Packages) != 1 || len(d.Unidentified) != 1 {
		t.Errorf("%d packages, %d unidentified", len(d.Packages), len(d.Unidentified))
	}
}

func TestSPDXTagValue(t *testing.T) {
	d := mustDecode(t, `SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: tv
DocumentNamespace: https://example.invalid/tv
Creator: Tool: test
Created: 2024-01-01T00:00:00Z

PackageName: openssl-libs
SPDXID: SPDXRef-Package-1
PackageVersion: 1.0.2k
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
ExternalRef: PACKAGE-MANAGER purl pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&epoch=1&distro=centos-7.6.1810
`)
	if d.Format != FormatSPDXTagValue || d.FormatVersion != "2.3" {
		t.Errorf("format %s %s", d.Format, d.FormatVersion)
	}
	want(t, onlyPackage(t, d), "CentOS", "7", "openssl-libs", "1:1.0.2k-16.el7", "openssl-libs", "1:1.0.2k-16.el7")
}
