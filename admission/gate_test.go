package admission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/safeguard-dev/safeguard/gate"
)

// tableGate stands in for the policy gate: it answers from a table keyed by
// the reference as the webhook passes it, and counts the calls, so tests
// check the webhook's own job (extraction, dedup, messages, warnings,
// patches, failure modes) and not a policy. A reference missing from the
// table is answered by fallback when set, else denied as not found.
type tableGate struct {
	mu       sync.Mutex
	table    map[string]answer
	fallback *answer
	calls    map[string]int
	inputs   []gate.Input
	hang     chan struct{} // answers with hang: true block until it is closed
}

type answer struct {
	digest     string // "" with fallback: the sha256 of the reference
	verdict    string
	violations []gate.Violation
	incomplete string
	hang       bool
}

func (g *tableGate) Evaluate(ctx context.Context, ref string, in gate.Input) gate.Decision {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]int{}
	}
	g.calls[ref]++
	g.inputs = append(g.inputs, in)
	a, ok := g.table[ref]
	if !ok && g.fallback != nil {
		a = *g.fallback
		if a.digest == "" {
			sum := sha256.Sum256([]byte(ref))
			a.digest = "sha256:" + hex.EncodeToString(sum[:])
		}
		ok = true
	}
	g.mu.Unlock()
	if !ok {
		return gate.Decision{Reference: ref, Verdict: gate.Deny, Incomplete: gate.IncompleteNotFound}
	}
	if a.hang {
		<-g.hang
	}
	return gate.Decision{Reference: ref, Digest: a.digest, Verdict: a.verdict, Violations: a.violations, Incomplete: a.incomplete, PolicyHash: "table"}
}

func (g *tableGate) callCount() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, v := range g.calls {
		out[k] = v
	}
	return out
}
