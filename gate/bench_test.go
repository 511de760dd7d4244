package gate_test

import (
	"context"
	"testing"

	"github.com/safeguard-dev/safeguard/gate"
)

// BenchmarkEvaluateKnownDigest is one in-process gate decision for a digest
// the store knows (Keycloak: 226 findings), decision log included.
func BenchmarkEvaluateKnownDigest(b *testing.B) {
	fx := setupB(b)
	ctx := context.Background()
	ref := fx.w.Pinned("vulnerable")
	if d := fx.g.Evaluate(ctx, ref, gate.Input{Environment: "production"}); d.Verdict != gate.Deny || d.Incomplete != "" {
		b.Fatalf("%+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		fx.g.Evaluate(ctx, ref, gate.Input{Environment: "production"})
	}
}
