package gate_test

import (
	"context"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
)

// A reused decision must never cross to another context, however the
// context's strings are spelled: label keys and values, and the
// environment, namespace and cluster, are the caller's (POST /api/v1/gate
// takes them as JSON strings, so "=" and NUL are possible). Each pair asks
// first in a context the policy allows, then in another that it denies;
// the second must be evaluated, not answered from the first.
func TestReusedDecisionsDoNotCollideAcrossContexts(t *testing.T) {
	for _, c := range []struct {
		name         string
		lenient, pci gate.Input
	}{
		{"NUL inside a label value",
			gate.Input{Environment: "staging", Labels: map[string]string{"a": "1\x00pci=true"}},
			gate.Input{Environment: "staging", Labels: map[string]string{"a": "1", "pci": "true"}}},
		{"= inside a label key",
			gate.Input{Environment: "staging", Labels: map[string]string{"pci=true": ""}},
			gate.Input{Environment: "staging", Labels: map[string]string{"pci": "true="}}},
		{"NUL moving a field into the next",
			gate.Input{Environment: "staging\x00shop", Namespace: ""},
			gate.Input{Environment: "staging", Namespace: "shop\x00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A CEL rule that denies an unsigned image where any label key
			// is "pci" with value "true", or starts "pci" with a value
			// ending "=" (so both inputs of each pair are judged apart).
			fx := setup(t, `version: 1
name: labels
rules:
  - name: pci-signed
    type: cel
    with:
      expression: '(context.labels.exists(k, k == "pci" && (context.labels[k] == "true" || context.labels[k] == "true=")) || context.namespace == "shop\u0000") ? image.signature.status == "signed" : true'
      message: a PCI namespace runs only signed images
`, func(o *gate.Options) { o.FactsTTL = time.Hour })
			ctx := context.Background()
			ref := fx.w.Refs["unsigned-clean"]
			if d := fx.g.Evaluate(ctx, ref, c.lenient); d.Verdict != gate.Allow {
				t.Fatalf("lenient context %q: %s %+v", c.lenient, d.Verdict, d.Violations)
			}
			if d := fx.g.Evaluate(ctx, ref, c.pci); d.Verdict != gate.Deny {
				t.Errorf("strict context %q answered from the lenient one: %s %+v", c.pci, d.Verdict, d.Violations)
			}
			if d, ok := fx.g.Reuse(ref, c.pci); ok && d.Verdict != gate.Deny {
				t.Errorf("Reuse in the strict context %q: %s", c.pci, d.Verdict)
			}
		})
	}
}
