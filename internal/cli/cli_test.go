package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// run executes the CLI in-process with a fixed clock and no ambient env.
func run(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow },
		getenv: func(k string) string {
			if k == "SAFEGUARD_DB" {
				return filepath.Join(t.TempDir(), "default.db")
			}
			return ""
		}}
	code = e.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file (run go test ./internal/cli -update and review the diff)\n--- got ---\n%s", name, got)
	}
}

// Bundled real data, as the README's run command uses it.
const (
	goDB    = "../../data/feeds/vulndb-data-osv.tar.gz"
	kevFile = "../../data/feeds/known_exploited_vulnerabilities.json"
	epss    = "../../data/feeds/epss-excerpt-real.csv"
	ghsa    = "../../data/feeds/ghsa-osv-356-records-maven-heavy.json"
	kubectl = "../../data/sboms/kubectl-linux-amd64.spdx.json"
)

func TestScanRealData(t *testing.T) {
	for _, format := range []string{"table", "json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := run(t, "scan", "--feed", goDB, "--feed", ghsa, "--feed", kevFile, "--feed", epss, "--format", format, kubectl)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, "scan-kubectl."+format, out)
		})
	}
}

func TestScanJSONShape(t *testing.T) {
	code, out, errOut := run(t, "scan", "--feed", goDB, "--feed", ghsa, "--feed", kevFile, "--feed", epss, "--format", "json", kubectl)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) == 0 {
		t.Fatal("no findings on kubectl 1.28 against the Go database")
	}
	kev := 0
	for _, f := range doc.Findings {
		for _, k := range []string{"vulnerability", "aliases", "package", "fixed", "severity", "cvss_score", "kev", "epss", "source"} {
			if _, ok := f[k]; !ok {
				t.Fatalf("finding lacks %q: %v", k, f)
			}
		}
		p := f["package"].(map[string]any)
		for _, k := range []string{"name", "version", "purl", "ecosystem"} {
			if s, _ := p[k].(string); s == "" {
				t.Fatalf("package lacks %q: %v", k, p)
			}
		}
		if f["kev"] == true {
			kev++
		}
	}
	if kev == 0 {
		t.Error("no KEV-listed finding flagged")
	}
	// The image's Debian packages have no Debian feed loaded: say so.
	if !strings.Contains(errOut, "3 Debian:11 packages were not checked") {
		t.Errorf("no warning about uncovered Debian packages: %q", errOut)
	}
}

func TestFailOn(t *testing.T) {
	code, _, errOut := run(t, "scan", "--feed", goDB, "--feed", ghsa, "--feed", kevFile, "--fail-on", "kev", "--format", "json", kubectl)
	if code != ExitFail || !strings.Contains(errOut, "meet --fail-on kev") {
		t.Fatalf("--fail-on kev: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "scan", "--feed", goDB, "--fail-on", "banana", kubectl)
	if code != ExitError || !strings.Contains(errOut, "banana") {
		t.Fatalf("bad --fail-on: exit %d, stderr %q", code, errOut)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// C83: a GHSA finding is joined to KEV through its CVE alias and fails
// --fail-on kev and --fail-on critical.
func TestKEVThroughAlias(t *testing.T) {
	dir := t.TempDir()
	adv := writeFile(t, dir, "ghsa.json", `{"id":"GHSA-jfh8-c2jp-5v3q","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-44228"],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
	 "affected":[{"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},
	   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.13.0"},{"fixed":"2.15.0"}]}]}]}`)
	kev := writeFile(t, dir, "kev.json", `{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2024.01.01","dateReleased":"2024-01-01T00:00:00.000Z","count":1,
	 "vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","vulnerabilityName":"Apache Log4j2 Remote Code Execution Vulnerability","dateAdded":"2021-12-10","shortDescription":"x","requiredAction":"x","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known","notes":""}]}`)
	bom := writeFile(t, dir, "app.json", `{"bomFormat":"CycloneDX","specVersion":"1.4","version":1,"components":[
	 {"type":"library","group":"org.apache.logging.log4j","name":"log4j-core","version":"2.14.1","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]}`)
	for _, failOn := range []string{"kev", "critical"} {
		code, out, errOut := run(t, "scan", "--feed", adv, "--feed", kev, "--format", "json", "--fail-on", failOn, bom)
		if code != ExitFail {
			t.Fatalf("--fail-on %s: exit %d: %s", failOn, code, errOut)
		}
		if !strings.Contains(out, `"kev": true`) || !strings.Contains(out, `"severity": "critical"`) || !strings.Contains(out, `"CVE-2021-44228"`) {
			t.Fatalf("finding not flagged: %s", out)
		}
	}
}

// C41/C42/C47: CycloneDX 1.6 in a file not named like an SBOM; a deb whose
// distro comes only from the purl qualifier.
func TestFormatFromContent(t *testing.T) {
	dir := t.TempDir()
	adv := writeFile(t, dir, "adv.json", `[{"id":"GHSA-p6mc-m468-83gw","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"lodash"},
	  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.19"}]}]}]},
	 {"id":"DSA-5139-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:10","name":"openssl"},
	  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1.1n-0+deb10u4"}]}]}]}]`)
	bom := writeFile(t, dir, "foo.json", `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
	 {"type":"library","name":"lodash","version":"4.17.15","purl":"pkg:npm/lodash@4.17.15"},
	 {"type":"library","name":"libssl1.1","version":"1.1.1n-0+deb10u3","purl":"pkg:deb/debian/libssl1.1@1.1.1n-0+deb10u3?arch=amd64&distro=debian-10&upstream=openssl"}]}`)
	code, out, errOut := run(t, "scan", "--feed", adv, "--format", "json", bom)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, id := range []string{"GHSA-p6mc-m468-83gw", "DSA-5139-1"} {
		if !strings.Contains(out, `"vulnerability": "`+id+`"`) {
			t.Errorf("missing %s in %s", id, out)
		}
	}
}

func TestBadInputLeavesStoreUnchanged(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	good := kubectl
	truncated := writeFile(t, dir, "truncated.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":`)
	empty := writeFile(t, dir, "nopkgs.spdx.json", `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://example.com/x",
	 "creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: x"]},"packages":[{"name":"app","SPDXID":"SPDXRef-app","downloadLocation":"NOASSERTION"}]}`)
	badFeed := writeFile(t, dir, "bad-osv.json", `{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Gopher","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"truncated SBOM", []string{"scan", "--db", db, "--feed", goDB, good, truncated}, "truncated.json"},
		{"zero packages", []string{"scan", "--db", db, "--feed", goDB, good, empty}, "0 packages analysed"},
		{"unknown format", []string{"scan", "--db", db, "--feed", goDB, good, "../../data/sboms/SOURCES.md"}, "unknown SBOM format"},
		{"bad feed", []string{"scan", "--db", db, "--feed", goDB, "--feed", badFeed, good}, `unknown ecosystem "Gopher"`},
		{"bad feed import", []string{"feed", "import", "--db", db, goDB, badFeed}, "bad-osv.json"},
		{"missing file", []string{"sbom", "ingest", "--db", db, filepath.Join(dir, "nope.json")}, "nope.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code != ExitError || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 naming %q", code, errOut, c.want)
			}
			if _, err := os.Stat(db); err == nil {
				st, err := sqlite.Open(context.Background(), db)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				cnt, err := st.Counts(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if cnt.SBOMs != 0 || cnt.Advisories != 0 {
					t.Fatalf("store changed: %+v", cnt)
				}
			}
		})
	}
}

func TestStoreWorkflow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if code, _, errOut := run(t, "sbom", "ingest", "--db", db, "--image", "registry.example/kubectl:1.28", kubectl); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	// No advisories yet: nothing found. Importing the feed re-matches the stored SBOM.
	code, out, _ := run(t, "findings", "--db", db, "--format", "json")
	if code != 0 || !strings.Contains(out, `"findings": []`) {
		t.Fatalf("findings before feed: %d %s", code, out)
	}
	if code, _, errOut := run(t, "feed", "import", "--db", db, goDB, ghsa, kevFile); code != 0 {
		t.Fatalf("feed import: %s", errOut)
	}
	code, out, errOut := run(t, "findings", "--db", db, "--kev", "--format", "json")
	if code != 0 {
		t.Fatalf("findings: %s", errOut)
	}
	if !strings.Contains(out, `"kev": true`) || !strings.Contains(out, `"image": "registry.example/kubectl:1.28"`) {
		t.Fatalf("stored SBOM not re-matched on feed import: %s", out)
	}
	code, out, _ = run(t, "findings", "--db", db, "--package", "golang.org/x/net", "--format", "json")
	if code != 0 || !strings.Contains(out, "golang.org/x/net") || strings.Contains(out, "k8s.io/kubernetes") {
		t.Fatalf("--package filter: %s", out)
	}
}

// feed sync against local servers standing in for osv.dev, CISA and EPSS.
func TestFeedSync(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("GO-2023-2102.json")
	w.Write([]byte(`{"id":"GO-2023-2102","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2023-39325"],"affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.17.0"}]}]}]}`))
	zw.Close()
	kevBody, err := os.ReadFile(kevFile)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/osv/Go/all.zip", func(w http.ResponseWriter, r *http.Request) { w.Write(zbuf.Bytes()) })
	mux.HandleFunc("/kev.json", func(w http.ResponseWriter, r *http.Request) { w.Write(kevBody) })
	mux.HandleFunc("/epss.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#model_version:v2025.03.14,score_date:2026-12-01T12:55:00Z\ncve,epss,percentile\nCVE-2023-39325,0.72,0.98\n"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "s.db")
	code, _, errOut := run(t, "feed", "sync", "--db", db, "--ecosystem", "Go", "--osv-url", srv.URL+"/osv", "--kev-url", srv.URL+"/kev.json", "--epss-url", srv.URL+"/epss.csv")
	if code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"1 advisories: 1 added", "1404 entries", "1 scores"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("sync report lacks %q: %s", want, errOut)
		}
	}
	code, out, errOut := run(t, "scan", "--db", db, "--format", "json", kubectl)
	if code != 0 || !strings.Contains(out, `"vulnerability": "GO-2023-2102"`) || !strings.Contains(out, `"epss": 0.72`) {
		t.Fatalf("scan after sync: %d %s %s", code, errOut, out)
	}
	// A server error is an error, and the store keeps what it had.
	code, _, errOut = run(t, "feed", "sync", "--db", db, "--ecosystem", "npm", "--osv-url", srv.URL+"/osv", "--no-kev", "--no-epss")
	if code != ExitError || !strings.Contains(errOut, "npm") {
		t.Fatalf("sync of a missing export: exit %d: %s", code, errOut)
	}
}

// An advisory event that is not a version would make its range match
// nothing; the import refuses it instead of failing open.
func TestFeedWithNonVersionRejected(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad-fix.json", `{"id":"BAD-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},
	 "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"not a version"}]}]}]}`)
	code, _, errOut := run(t, "scan", "--feed", bad, kubectl)
	if code != ExitError || !strings.Contains(errOut, `fixed "not a version"`) || !strings.Contains(errOut, "BAD-1") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "feed", "sync", "--ecosystem", "Bananas")
	if code != ExitError || !strings.Contains(errOut, "Bananas") {
		t.Fatalf("sync of an unknown ecosystem: exit %d: %s", code, errOut)
	}
}
