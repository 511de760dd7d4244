package policy

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluateBaseline is the example policy over the facts of a
// known digest: 250 open findings (a large Java image), signed, pinned,
// with a base chain — what one gate decision costs once facts are loaded.
func BenchmarkEvaluateBaseline(b *testing.B) {
	p, err := Load("../examples/policy/baseline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	f := clean()
	sev := []string{"low", "medium", "high", "critical"}
	for i := range 250 {
		f.Findings = append(f.Findings, Finding{ID: fmt.Sprintf("GHSA-%04d", i), Aliases: []string{fmt.Sprintf("CVE-2024-%05d", i)}, Package: fmt.Sprintf("org.example:lib%d", i%40),
			Version: "1.0", Severity: sev[i%4], CVSS: float64(i%10) + 0.5, KEV: i == 79, Fixed: []string{"2.0"}, FirstSeen: now.AddDate(0, 0, -i)})
	}
	d := Deployment{Environment: "production", Namespace: "payments"}
	res := p.Evaluate(f, d, now)
	if res.Verdict != Deny || len(res.Violations) != 2 {
		b.Fatalf("%v %s", res.ViolatedRules(), res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Evaluate(f, d, now)
	}
}

// BenchmarkEvaluateBaselineClean is the same for a clean image.
func BenchmarkEvaluateBaselineClean(b *testing.B) {
	p, err := Load("../examples/policy/baseline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	f := clean()
	d := Deployment{Environment: "production"}
	if res := p.Evaluate(f, d, now); res.Verdict != Allow {
		b.Fatalf("%s", res)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(f, d, now)
	}
}
