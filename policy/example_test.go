package policy

import (
	"os"
	"path/filepath"
	"strings"
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

// A test file with a second YAML document, or a policy lying among the
// tests, is refused: its cases would otherwise silently never run.
func TestLoadTestFileRefusesWhatItWouldIgnore(t *testing.T) {
	dir := t.TempDir()
	one := "cases:\n  - {name: a, facts: {digest: \"sha256:1\"}, expect: {verdict: deny, violations: [sbom]}}\n"
	for name, c := range map[string]struct{ doc, want string }{
		"two documents": {one + "---\n" + one, "more than one YAML document"},
		"a policy":      {"version: 1\nname: t\nrules: [{type: sbom}]\n", "this is a policy, not a policy test file"},
		"empty":         {"", "empty file"},
	} {
		path := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(path, []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTestFile(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want …%s…", name, err, c.want)
		}
	}
}
