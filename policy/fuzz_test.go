package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse: a policy file is outside input. Parsing never panics, and a
// policy that loads evaluates (rules, CEL, waivers) without panicking and
// with a verdict consistent with its violations.
func FuzzParse(f *testing.F) {
	base, _ := os.ReadFile("../examples/policy/baseline.yaml")
	f.Add(strings.ReplaceAll(string(base), "trust_policy: trust.yaml\n", ""))
	f.Add("version: 1\nname: x\nrules:\n  - {type: cel, with: {expression: 'image.findings.exists(f, f.kev)', message: m}}\n")
	f.Add("version: 1\nname: x\nrules: [{type: vulnerabilities, with: {min_age: 1d12h, min_epss: 0.5}}]\nwaivers: [{rule: vulnerabilities, owner: o, reason: r, expires: 2026-01-01}]\n")
	facts := clean()
	facts.Findings = []Finding{{ID: "CVE-1", Package: "p", Severity: "critical", KEV: true}}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse([]byte(doc), t.TempDir())
		if err != nil {
			return
		}
		res := p.Evaluate(facts, Deployment{Environment: "production"}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		deny := false
		for _, v := range res.Violations {
			deny = deny || v.Mode == ModeEnforce
		}
		if (res.Verdict == Deny) != deny {
			t.Fatalf("verdict %s with violations %v", res.Verdict, res.Violations)
		}
	})
}

// FuzzLoadTestFile: policy test files are outside input too.
func FuzzLoadTestFile(f *testing.F) {
	ex, _ := os.ReadFile("../examples/policy/tests/baseline.yaml")
	f.Add(string(ex))
	f.Add(`{"cases": [{"name": "x", "facts": {"digest": "sha256:1"}, "expect": {"verdict": "deny", "violations": ["sbom"]}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(t.TempDir(), "t.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		tf, err := LoadTestFile(path)
		if err != nil {
			return
		}
		for _, c := range tf.Cases {
			if c.Expect.Verdict != Allow && c.Expect.Verdict != Deny {
				t.Fatal(fmt.Sprintf("accepted verdict %q", c.Expect.Verdict))
			}
		}
	})
}
