package policy

import (
	"testing"
	"time"
)

// The example policy's own tests run here, so a change to the baseline or
// to the engine that breaks them fails CI.
func TestExamplePolicy(t *testing.T) {
	outs, err := RunTests("../examples/policy/tests", nil, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) < 9 {
		t.Fatalf("%d cases ran", len(outs))
	}
	for _, o := range outs {
		if !o.Pass {
			t.Errorf("%s: %s: %v (%s)", o.File, o.Name, o.Problems, o.Result)
		}
	}
}

// A wrong expectation is reported, with what was got.
func TestPolicyTestFailureIsReported(t *testing.T) {
	p := parse(t, "version: 1\nname: t\nrules: [{type: sbom}]\n")
	o := p.Run(TestCase{Name: "x", Expect: Expect{Verdict: Allow}}, time.Now())
	if o.Pass || len(o.Problems) != 2 || o.Problems[0] != "verdict deny, want allow" || o.Problems[1] != "violated rules [sbom], want []" {
		t.Fatalf("%+v", o)
	}
}
