package gate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
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

// hangingSource is a registry that never answers: Resolve returns when
// its context ends, and records the deadline it was given.
type hangingSource struct {
	mu        sync.Mutex
	deadlines []time.Time
	entered   chan struct{} // receives once per Resolve
}

func (s *hangingSource) Resolve(ctx context.Context, _ imageref.Ref) (string, error) {
	dl, _ := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, dl)
	s.mu.Unlock()
	s.entered <- struct{}{}
	<-ctx.Done()
	return "", ctx.Err()
}

func (s *hangingSource) Fetch(ctx context.Context, _ imageref.Ref) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// The budget bounds one Evaluate call, waiting for the same question in
// flight included: a caller that joins an evaluation which then runs out
// of time must not start a second full budget of its own (two concurrent
// POST /api/v1/gate calls for an image on a registry that hangs would
// otherwise answer the second after twice the budget).
func TestWaitingForAnEvaluationStaysWithinTheBudget(t *testing.T) {
	const budget = 400 * time.Millisecond
	src := &hangingSource{entered: make(chan struct{}, 4)}
	fx := setup(t, testPolicy, func(o *gate.Options) {
		o.FactsTTL, o.Budget, o.Source = time.Hour, budget, src
	})
	ctx := context.Background()
	ref := "registry.invalid/team/app:1.0" // a tag: resolved by the hanging registry
	first := make(chan gate.Decision)
	go func() { first <- fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	<-src.entered // the first evaluation is in flight
	asked := time.Now()
	second := make(chan gate.Decision)
	go func() { second <- fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	if d := <-first; d.Incomplete != gate.IncompleteBudget {
		t.Fatalf("first: %+v", d)
	}
	d := <-second
	if d.Incomplete != gate.IncompleteBudget || d.Verdict != gate.Deny {
		t.Errorf("second: %+v", d)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	// The second call may try the registry itself with what is left of
	// its budget, never with a new one.
	for _, dl := range src.deadlines[1:] {
		if over := dl.Sub(asked.Add(budget)); over > budget/4 {
			t.Errorf("the waiting call asked the registry with a deadline %v past its own budget", over)
		}
	}
}

// A question asked after an Invalidate is answered from facts read after
// it: it does not wait for, and take the answer of, an evaluation that
// began before the change (which the epoch already keeps out of the
// cache).
func TestQuestionAfterInvalidateDoesNotJoinAnOlderEvaluation(t *testing.T) {
	var bs *blockingStore
	fx := setup(t, testPolicy, func(o *gate.Options) {
		bs = &blockingStore{Store: o.Store.(*sqlite.Store)}
		o.Store, o.FactsTTL, o.Budget = bs, time.Hour, time.Minute
	})
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	fx.g.Evaluate(ctx, ref, gate.Input{}) // fetched into the store
	fx.g.Invalidate()

	hold, entered := make(chan struct{}), make(chan struct{})
	bs.mu.Lock()
	bs.hold, bs.entered = hold, entered
	bs.mu.Unlock()
	older := make(chan gate.Decision)
	go func() { older <- fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	<-entered // the older evaluation is reading the store
	fx.g.Invalidate()
	before := bs.count()
	newer := make(chan gate.Decision)
	go func() { newer <- fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	select {
	case d := <-newer:
		if d.Verdict != gate.Allow || bs.count() == before {
			t.Errorf("newer decision %+v without reading the store", d)
		}
	case <-time.After(10 * time.Second): // liveness, not speed: it needs nothing the older one holds
		t.Error("a question asked after the Invalidate waited for the evaluation begun before it")
		close(hold)
		<-newer
		<-older
		return
	}
	close(hold)
	<-older
}

// panickyStore is the real store whose image-SBOM read panics once.
type panickyStore struct {
	*sqlite.Store
	mu    sync.Mutex
	armed bool
}

func (s *panickyStore) ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error) {
	s.mu.Lock()
	armed := s.armed
	s.armed = false
	s.mu.Unlock()
	if armed {
		panic("store driver bug")
	}
	return s.Store.ImageSBOMs(ctx, digest)
}

// An evaluation that panics (net/http recovers it for the API) must not
// leave its question in flight for ever: the next caller would wait the
// whole budget for an answer that never comes, then be denied for want
// of time.
func TestPanickedEvaluationDoesNotHoldItsQuestion(t *testing.T) {
	var ps *panickyStore
	fx := setup(t, testPolicy, func(o *gate.Options) {
		ps = &panickyStore{Store: o.Store.(*sqlite.Store)}
		o.Store, o.FactsTTL, o.Budget = ps, time.Hour, time.Minute
	})
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	fx.g.Evaluate(ctx, ref, gate.Input{}) // fetched into the store
	fx.g.Invalidate()
	ps.mu.Lock()
	ps.armed = true
	ps.mu.Unlock()
	func() {
		defer func() { _ = recover() }()
		fx.g.Evaluate(ctx, ref, gate.Input{Namespace: "shop"})
		t.Fatal("the store's panic did not reach the caller")
	}()
	done := make(chan gate.Decision)
	go func() { done <- fx.g.Evaluate(ctx, ref, gate.Input{Namespace: "shop"}) }()
	select {
	case d := <-done:
		if d.Incomplete != "" || d.Verdict != gate.Allow {
			t.Errorf("after the panic: %+v", d)
		}
	case <-time.After(10 * time.Second): // liveness: nothing is in flight any more
		t.Error("the next caller waits for the evaluation that panicked")
		<-done
	}
}

// Missing and empty labels share a key, so they must mean the same to the
// policy; a label with an empty value is another context.
func TestMissingAndEmptyLabelsAreOneContext(t *testing.T) {
	fx := setup(t, `version: 1
name: labels
rules:
  - name: labelled
    type: cel
    with:
      expression: 'size(context.labels) == 0 || image.signature.status == "signed"'
      message: a labelled namespace runs only signed images
`, func(o *gate.Options) { o.FactsTTL = time.Hour })
	ctx := context.Background()
	ref := fx.w.Refs["unsigned-clean"]
	for _, in := range []gate.Input{{}, {Labels: map[string]string{}}, {Labels: nil}} {
		if d := fx.g.Evaluate(ctx, ref, in); d.Verdict != gate.Allow {
			t.Errorf("labels %#v: %s", in.Labels, d.Verdict)
		}
	}
	if d := fx.g.Evaluate(ctx, ref, gate.Input{Labels: map[string]string{"team": ""}}); d.Verdict != gate.Deny {
		t.Errorf("a label with an empty value answered as no labels: %s", d.Verdict)
	}
}
