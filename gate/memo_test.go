package gate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

const scopedPolicy = `version: 1
name: scoped
trust_policy: trust.yaml
rules:
  - name: signed-in-production
    type: signature
    scope: {environments: [production]}
    with: {signers: [ci]}
  - name: pci-signed
    type: cel
    with:
      expression: 'context.labels.exists(k, k == "pci" && context.labels[k] == "true") ? image.signature.status == "signed" : true'
      message: a PCI namespace runs only signed images
`

// A reused decision belongs to its reference and context: the same image
// asked about in another environment, namespace or with other labels is
// evaluated for that context, and an answer is never carried across.
func TestReusedDecisionsKeepTheirContext(t *testing.T) {
	fx := setup(t, scopedPolicy, func(o *gate.Options) { o.FactsTTL = time.Hour })
	ctx := context.Background()
	ref := fx.w.Refs["unsigned-clean"]
	for range 3 { // the second and third answers are reused ones
		for _, c := range []struct {
			name string
			in   gate.Input
			want string
		}{
			{"staging", gate.Input{Environment: "staging", Namespace: "shop"}, gate.Allow},
			{"production", gate.Input{Environment: "production", Namespace: "shop"}, gate.Deny},
			{"staging, pci label", gate.Input{Environment: "staging", Namespace: "shop", Labels: map[string]string{"pci": "true"}}, gate.Deny},
			{"staging, other label", gate.Input{Environment: "staging", Namespace: "shop", Labels: map[string]string{"pci": "false"}}, gate.Allow},
			{"no context", gate.Input{}, gate.Allow},
		} {
			d := fx.g.Evaluate(ctx, ref, c.in)
			if d.Verdict != c.want {
				t.Errorf("%s: %s %+v, want %s", c.name, d.Verdict, d.Violations, c.want)
			}
		}
	}
	// Another spelling of the reference is its own evaluation too.
	if d := fx.g.Evaluate(ctx, ref+"@"+fx.w.Digests["unsigned-clean"], gate.Input{Environment: "production"}); d.Verdict != gate.Deny || d.Reference == ref {
		t.Errorf("tag@digest in production: %+v", d)
	}
}

// A reused decision carries its own time, and the policy clock bounds
// reuse: a waiver that expired since is seen at once, however long the
// facts TTL.
func TestReusedDecisionFollowsThePolicyClock(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	at := now
	clock.Store(&at)
	fx := setup(t, `version: 1
name: waivers
rules:
  - name: kev-critical
    type: vulnerabilities
    with: {severity: critical, kev: true}
waivers:
  - {vulnerability: CVE-2020-1938, owner: sec@acme, reason: AJP connector disabled, expires: 2026-06-02}
`, func(o *gate.Options) {
		o.FactsTTL = time.Hour
		o.Now = func() time.Time { return *clock.Load() }
	})
	ctx := context.Background()
	ref := fx.w.Refs["vulnerable"]
	first := fx.g.Evaluate(ctx, ref, gate.Input{})
	if first.Verdict != gate.Allow || len(first.Suppressed) != 2 {
		t.Fatalf("waived: %+v", first)
	}
	later := now.Add(time.Second)
	clock.Store(&later)
	again := fx.g.Evaluate(ctx, ref, gate.Input{})
	if again.Verdict != gate.Allow || !again.EvaluatedAt.Equal(later) || len(again.Suppressed) != 2 {
		t.Errorf("reused within the TTL: %+v", again)
	}
	expired := now.Add(48 * time.Hour)
	clock.Store(&expired)
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Deny || len(d.ExpiredWaivers) == 0 {
		t.Errorf("after the waiver expired: %+v", d)
	}
}

// An incomplete decision is never reused: once the cause is gone (here,
// the first feed is imported) the next decision is complete, without
// waiting for the TTL or an Invalidate.
func TestIncompleteDecisionsAreNotReused(t *testing.T) {
	w := gatetest.New(t)
	g, st := emptyStoreGate(t, func(o *gate.Options) { o.FactsTTL = time.Hour })
	ref := w.Pinned("signed-clean")
	if d := g.Evaluate(context.Background(), ref, gate.Input{}); d.Incomplete != gate.IncompleteNoFeeds {
		t.Fatalf("before any feed: %+v", d)
	}
	osv := filepath.Join(t.TempDir(), "GHSA-test-0003.json")
	os.WriteFile(osv, []byte(`{"id":"GHSA-test-0003","modified":"2026-06-01T00:00:00Z","published":"2026-06-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"Maven","name":"org.example:unrelated"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}]}`), 0o644)
	gatetest.Import(t, st, osv)
	if d := g.Evaluate(context.Background(), ref, gate.Input{}); d.Incomplete != "" || d.Verdict != gate.Allow {
		t.Errorf("after the first feed: %+v", d)
	}
}

// Reused decisions share slices; an append by one caller must not show
// up in another's answer.
func TestReusedDecisionsDoNotShareAppends(t *testing.T) {
	fx := setup(t, testPolicy, func(o *gate.Options) { o.FactsTTL = time.Hour })
	ctx := context.Background()
	ref := fx.w.Refs["unsigned-clean"]
	a := fx.g.Evaluate(ctx, ref, gate.Input{})
	b := fx.g.Evaluate(ctx, ref, gate.Input{})
	n := len(b.Violations)
	a.Violations = append(a.Violations, gate.Violation{Rule: "mine"})
	_ = append(b.Violations, gate.Violation{Rule: "yours"})
	if c := fx.g.Evaluate(ctx, ref, gate.Input{}); len(c.Violations) != n || (n > 0 && c.Violations[n-1].Rule == "mine") {
		t.Errorf("a caller's append reached the shared answer: %+v", c.Violations)
	}
}

// Through a BatchLog, the decisions reused from one evaluation become one
// row that counts them; nothing is lost, and each row's detail is the
// whole decision. Without reuse every decision is its own row.
func TestBatchLogCoalescesReusedDecisions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ttl      time.Duration
		wantRows func(rows int) bool
	}{
		{"reused", time.Hour, func(rows int) bool { return rows >= 2 && rows <= 20 }},
		{"fresh every time", 0, func(rows int) bool { return rows == 2*250 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := gatetest.Store(t, "..")
			b := gate.NewBatchLog(st, nil)
			fx := setupWorld(t, gatetest.New(t), testPolicy, func(o *gate.Options) {
				o.Store, o.Log, o.FactsTTL, o.Caller = st, b, tc.ttl, "admission"
				o.Source = &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st}}, Insecure: true}
			})
			ctx := context.Background()
			refs := []string{fx.w.Pinned("signed-clean"), fx.w.Pinned("unsigned-clean")}
			const each = 250
			var wg sync.WaitGroup
			for i := range 2 * each {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fx.g.Evaluate(ctx, refs[i%2], gate.Input{Environment: "production", Namespace: "shop"})
				}()
			}
			wg.Wait()
			b.Close()
			rows, err := st.Decisions(ctx, store.DecisionFilter{Limit: store.MaxDecisions})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantRows(len(rows)) {
				t.Errorf("%d rows", len(rows))
			}
			count := map[string]int{}
			for _, r := range rows {
				count[r.Reference] += r.Repeats
				var d gate.Decision
				if err := json.Unmarshal(r.Detail, &d); err != nil || d.Reference != r.Reference || d.Verdict != r.Verdict {
					t.Errorf("row detail %s: %v", r.Detail, err)
				}
				if r.LastAt.Before(r.At) || r.Source != "admission" || r.Environment != "production" || r.Namespace != "shop" {
					t.Errorf("row %+v", r)
				}
			}
			for _, ref := range refs {
				if count[ref] != each {
					t.Errorf("%s: the rows count %d decisions, want %d", ref, count[ref], each)
				}
			}
		})
	}
}

// blockingStore is the real store with a hook: a read of an image's SBOMs
// can be held, to change the store while a decision is being made.
type blockingStore struct {
	*sqlite.Store
	mu      sync.Mutex
	reads   int
	hold    chan struct{} // when set, a read waits for it to close
	entered chan struct{}
}

func (s *blockingStore) ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error) {
	s.mu.Lock()
	s.reads++
	hold, entered := s.hold, s.entered
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		close(entered)
		<-hold
	}
	return s.Store.ImageSBOMs(ctx, digest)
}

func (s *blockingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Facts read, and a decision made, while an Invalidate happens are not
// kept: they may predate the change it announced (a feed import that
// lands mid-decision is seen by the next decision, not 2 s later).
func TestInvalidateDuringADecisionIsNotKept(t *testing.T) {
	var bs *blockingStore
	fx := setup(t, testPolicy, func(o *gate.Options) {
		bs = &blockingStore{Store: o.Store.(*sqlite.Store)}
		o.Store, o.FactsTTL = bs, time.Hour
	})
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	fx.g.Evaluate(ctx, ref, gate.Input{}) // fetched into the store
	fx.g.Invalidate()

	hold, entered := make(chan struct{}), make(chan struct{})
	bs.mu.Lock()
	bs.hold, bs.entered = hold, entered
	bs.mu.Unlock()
	done := make(chan gate.Decision)
	go func() { done <- fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	<-entered
	fx.g.Invalidate() // the store changed while the decision was reading it
	close(hold)
	if d := <-done; d.Verdict != gate.Allow {
		t.Fatalf("decision during the change: %+v", d)
	}
	before := bs.count()
	fx.g.Evaluate(ctx, ref, gate.Input{})
	if bs.count() == before {
		t.Error("the next decision reused facts read before the Invalidate")
	}
	// Without a change in between, facts and decision are kept.
	after := bs.count()
	fx.g.Evaluate(ctx, ref, gate.Input{})
	if bs.count() != after {
		t.Error("a decision with nothing invalidated was not reused")
	}
}

// flakyWriter is the real store, failing its first writes as a locked
// database would.
type flakyWriter struct {
	st       *sqlite.Store
	mu       sync.Mutex
	failures int
}

func (f *flakyWriter) PutDecisions(ctx context.Context, ds []store.DecisionRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return errors.New("database is locked")
	}
	return f.st.PutDecisions(ctx, ds)
}

// A batch whose write fails is written again after a wait, not dropped;
// a store that never recovers loses it after the last try, and says so.
func TestBatchLogRetriesFailedWrites(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		stored   int
		waits    int
	}{
		{"recovers", 2, 3, 2},
		{"never recovers", 100, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := gatetest.Store(t, "..")
			var waits []time.Duration
			var logs strings.Builder
			var logMu sync.Mutex
			b := gate.NewBatchLogForTest(&flakyWriter{st: st, failures: tc.failures},
				slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)),
				func(d time.Duration) { waits = append(waits, d) })
			for i := range 3 {
				b.PutDecision(context.Background(), store.DecisionRecord{At: now, Reference: fmt.Sprintf("r:%d", i), Verdict: gate.Allow, Detail: []byte(`{}`)})
			}
			// A row whose detail is not JSON is refused alone, not with its batch.
			b.PutDecision(context.Background(), store.DecisionRecord{At: now, Reference: "bad", Verdict: gate.Allow, Detail: []byte(`{no`)})
			b.Close()
			got, err := st.Decisions(context.Background(), store.DecisionFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.stored || len(waits) != tc.waits {
				t.Errorf("%d stored after %d waits, want %d after %d", len(got), len(waits), tc.stored, tc.waits)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if tc.stored == 0 && !strings.Contains(logs.String(), "decisions lost") {
				t.Errorf("a lost batch is not reported: %s", logs.String())
			}
		})
	}
}

type lockedWriter struct {
	w  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Callers waiting for an evaluation that comes back incomplete (the
// registry answers 503) share its answer: one evaluation's requests reach
// the struggling registry, not one per waiter.
func TestWaitersShareAnIncompleteAnswer(t *testing.T) {
	var requests atomic.Int64
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		time.Sleep(100 * time.Millisecond) // slow as well: the waiters join while it answers
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	ref := strings.TrimPrefix(sick.URL, "http://") + "/acme/app:1.0"
	fx := setup(t, testPolicy, func(o *gate.Options) {
		o.FactsTTL, o.Budget = time.Hour, 30*time.Second
		st := o.Store.(*sqlite.Store)
		o.Source = &gate.Registries{Insecure: true, Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st},
			Retry: registry.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}}
	})
	ctx := context.Background()
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Incomplete != gate.IncompleteUnreachable {
		t.Fatalf("alone: %+v", d)
	}
	alone := requests.Swap(0)
	const waiters = 8
	var wg sync.WaitGroup
	ds := make([]gate.Decision, waiters)
	for i := range waiters {
		wg.Add(1)
		go func() { defer wg.Done(); ds[i] = fx.g.Evaluate(ctx, ref, gate.Input{}) }()
	}
	wg.Wait()
	for i, d := range ds {
		if d.Verdict != gate.Deny || d.Incomplete != gate.IncompleteUnreachable {
			t.Errorf("caller %d: %+v", i, d)
		}
	}
	if n := requests.Load(); n > 2*alone {
		t.Errorf("%d callers sent %d requests; one evaluation sends %d", waiters, n, alone)
	}
}
