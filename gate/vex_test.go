package gate_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vex"
)

func importVEX(t *testing.T, st *sqlite.Store, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vex.Decode(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportVEX(context.Background(), store.VEXImport{Source: path, Statements: d.Statements, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// Keycloak 10.0.2 carries tomcat-embed-core 8.5.34 and 8.5.39, both
// affected by GHSA-c9hw-wf7x-jp9j, in KEV through CVE-2020-1938. A VEX
// statement that both are not_affected takes the finding out of the
// kev-critical rule at the next decision; a later affected statement,
// naming the CVE alias, brings it back.
func TestVEXReachesTheNextDecision(t *testing.T) {
	fx := setup(t, "version: 1\nname: kev\nrules:\n  - {name: kev-critical, type: vulnerabilities, with: {severity: critical, kev: true}}\n")
	ctx := context.Background()
	ref := fx.w.Refs["vulnerable"]
	d := fx.g.Evaluate(ctx, ref, gate.Input{})
	if d.Verdict != gate.Deny || !strings.Contains(d.Violations[0].Message, "GHSA-c9hw-wf7x-jp9j (CVE-2020-1938)") {
		t.Fatalf("before VEX: %+v", d)
	}

	// Only one of the two versions: the other still carries it.
	one := writeFile(t, "one.json", `{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-11-01T10:00:00Z","statements":[
		{"vulnerability":{"name":"GHSA-c9hw-wf7x-jp9j"},"products":[{"@id":"pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@8.5.34"}],
		 "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`)
	importVEX(t, fx.st, one)
	d = fx.g.Evaluate(ctx, ref, gate.Input{})
	if d.Verdict != gate.Deny || !strings.Contains(d.Violations[0].Message, "8.5.39") || strings.Contains(d.Violations[0].Message, "8.5.34") {
		t.Fatalf("with one version not_affected: %+v", d)
	}

	importVEX(t, fx.st, "../vex/testdata/tomcat-not-affected.openvex.json")
	d = fx.g.Evaluate(ctx, ref, gate.Input{})
	if d.Verdict != gate.Allow || len(d.Violations) != 0 {
		t.Fatalf("after not_affected: %+v", d)
	}

	importVEX(t, fx.st, "../vex/testdata/tomcat-affected.openvex.json")
	d = fx.g.Evaluate(ctx, ref, gate.Input{})
	if d.Verdict != gate.Deny || !strings.Contains(d.Violations[0].Message, "GHSA-c9hw-wf7x-jp9j (CVE-2020-1938)") {
		t.Fatalf("after a later affected: %+v", d)
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A statement about packages inside an image applies to that image only:
// named by the index digest it covers a platform image's findings, named
// by reference@digest it covers that image, and another image holding the
// same package keeps its finding.
func TestVEXScopedToAnImage(t *testing.T) {
	fx := setup(t, "version: 1\nname: crit\nrules:\n  - {name: no-critical, type: vulnerabilities, with: {severity: critical}}\n")
	ctx := context.Background()
	gatetest.Import(t, fx.st, writeFile(t, "GHSA-test-0001.json", `{"id":"GHSA-test-0001","aliases":["CVE-2099-0001"],"modified":"2026-06-01T00:00:00Z","published":"2026-06-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"Maven","name":"org.example:clean"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	index, app, other := fx.w.Refs["index"], fx.w.Pinned("signed-clean"), fx.w.Pinned("unsigned-clean")
	for _, ref := range []string{index, app, other} {
		if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Deny {
			t.Fatalf("%s before VEX: %+v", ref, d)
		}
	}
	importVEX(t, fx.st, writeFile(t, "scoped.json", `{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-11-01T10:00:00Z","statements":[
		{"vulnerability":{"name":"CVE-2099-0001"},"status":"not_affected","justification":"component_not_present","products":[
			{"@id":"pkg:oci/multi@`+strings.Replace(fx.w.Digests["index"], ":", "%3A", 1)+`","subcomponents":[{"@id":"pkg:maven/org.example/clean@1.0.0?type=jar"}]},
			{"@id":"`+app+`","subcomponents":[{"@id":"pkg:maven/org.example/clean@1.0.0"}]}]}]}`))
	for _, c := range []struct{ ref, verdict string }{{index, gate.Allow}, {app, gate.Allow}, {other, gate.Deny}} {
		if d := fx.g.Evaluate(ctx, c.ref, gate.Input{}); d.Verdict != c.verdict {
			t.Errorf("%s after the scoped statement: %s %+v, want %s", c.ref, d.Verdict, d.Violations, c.verdict)
		}
	}
}
