package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/store"
)

// DecisionLog is the decision-log surface of a backend.
type DecisionLog interface {
	PutDecision(ctx context.Context, d store.DecisionRecord) (int64, error)
	PutDecisions(ctx context.Context, ds []store.DecisionRecord) error
	Decisions(ctx context.Context, f store.DecisionFilter) ([]store.DecisionRecord, error)
	PruneDecisions(ctx context.Context, cutoff time.Time) (int64, error)
}

// RunDecisions runs the decision-log part of the suite.
func RunDecisions(t *testing.T, open func(t *testing.T) DecisionLog) {
	t.Run("DecisionLogFilters", func(t *testing.T) { testDecisions(t, open(t)) })
	t.Run("DecisionBatch", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		batch := []store.DecisionRecord{
			{At: t0, Reference: "r:1", Digest: "sha256:x", Verdict: "allow", Source: "admission", Detail: []byte(`{}`)},
			{At: t0.Add(time.Second), Reference: "r:2", Digest: "sha256:y", Verdict: "deny", Source: "admission", Detail: []byte(`{"v":1}`)},
		}
		if err := s.PutDecisions(ctx, batch); err != nil {
			t.Fatal(err)
		}
		got := must(s.Decisions(ctx, store.DecisionFilter{}))
		if len(got) != 2 || got[0].Digest != "sha256:y" || got[1].Verdict != "allow" || string(got[0].Detail) != `{"v":1}` {
			t.Errorf("batch round trip: %+v", got)
		}
		// One bad record stores none of the batch.
		bad := append(batch, store.DecisionRecord{At: t0, Detail: []byte("{no")})
		if err := s.PutDecisions(ctx, bad); err == nil {
			t.Error("a batch with a non-JSON detail was stored")
		}
		if n := len(must(s.Decisions(ctx, store.DecisionFilter{}))); n != 2 {
			t.Errorf("after a refused batch: %d decisions, want 2", n)
		}
	})
	t.Run("DecisionRepeats", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		// A coalesced row keeps its count and last time; a plain one is one
		// decision made once.
		coalesced := store.DecisionRecord{At: t0, Reference: "r:1", Digest: "sha256:x", Verdict: "allow", Source: "admission", LatencyMS: 2.5,
			Repeats: 4812, LastAt: t0.Add(900 * time.Millisecond), Detail: []byte(`{}`)}
		plain := store.DecisionRecord{At: t0.Add(time.Second), Reference: "r:2", Digest: "sha256:y", Verdict: "deny", Source: "cli", Detail: []byte(`{}`)}
		if err := s.PutDecisions(ctx, []store.DecisionRecord{coalesced}); err != nil {
			t.Fatal(err)
		}
		must(s.PutDecision(ctx, plain))
		got := must(s.Decisions(ctx, store.DecisionFilter{}))
		if len(got) != 2 {
			t.Fatalf("%d decisions, want 2", len(got))
		}
		if got[1].Repeats != 4812 || !got[1].LastAt.Equal(coalesced.LastAt) || got[1].LatencyMS != 2.5 {
			t.Errorf("coalesced row: repeats %d, last_at %v, latency %v", got[1].Repeats, got[1].LastAt, got[1].LatencyMS)
		}
		if got[0].Repeats != 1 || !got[0].LastAt.Equal(plain.At) {
			t.Errorf("plain row: repeats %d, last_at %v, want 1 and %v", got[0].Repeats, got[0].LastAt, plain.At)
		}
	})
	t.Run("DecisionRetention", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		rows := []store.DecisionRecord{
			{At: t0, Reference: "old", Verdict: "allow", Detail: []byte(`{}`)},
			// Began before the cut-off, last made after it: kept.
			{At: t0, LastAt: t0.Add(2 * time.Hour), Repeats: 9, Reference: "spanning", Verdict: "allow", Detail: []byte(`{}`)},
			{At: t0.Add(3 * time.Hour), Reference: "new", Verdict: "deny", Detail: []byte(`{}`)},
		}
		if err := s.PutDecisions(ctx, rows); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneDecisions(ctx, t0.Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		var left []string
		for _, d := range must(s.Decisions(ctx, store.DecisionFilter{})) {
			left = append(left, d.Reference)
		}
		if len(left) != 2 || left[0] != "new" || left[1] != "spanning" {
			t.Errorf("left %v, want [new spanning]", left)
		}
	})
	t.Run("DecisionDetailMustBeJSON", func(t *testing.T) {
		if _, err := open(t).PutDecision(context.Background(), store.DecisionRecord{At: t0, Detail: []byte("{not json")}); err == nil {
			t.Fatal("a decision whose detail is not JSON was stored")
		}
	})
}

func testDecisions(t *testing.T, s DecisionLog) {
	ctx := context.Background()
	put := func(at time.Time, digest, verdict, env string) int64 {
		detail, _ := json.Marshal(map[string]any{"digest": digest, "verdict": verdict})
		return must(s.PutDecision(ctx, store.DecisionRecord{At: at, Reference: "registry.example/app:1", Digest: digest, Verdict: verdict,
			PolicyHash: "sha256:p", Environment: env, Namespace: "ns", Source: "cli", LatencyMS: 0.5, Detail: detail}))
	}
	a := put(t0, "sha256:a", "allow", "staging")
	b := put(t0.Add(time.Minute), "sha256:b", "deny", "production")
	c := put(t0.Add(2*time.Minute), "sha256:a", "deny", "production")
	ids := func(f store.DecisionFilter) []int64 {
		var out []int64
		for _, d := range must(s.Decisions(ctx, f)) {
			out = append(out, d.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.DecisionFilter
		want []int64
	}{
		{"all, newest first", store.DecisionFilter{}, []int64{c, b, a}},
		{"by digest", store.DecisionFilter{Digest: "sha256:a"}, []int64{c, a}},
		{"by verdict", store.DecisionFilter{Verdict: "deny"}, []int64{c, b}},
		{"by environment and digest", store.DecisionFilter{Environment: "production", Digest: "sha256:a"}, []int64{c}},
		{"since", store.DecisionFilter{Since: t0.Add(time.Minute)}, []int64{c, b}},
		{"limit", store.DecisionFilter{Limit: 1}, []int64{c}},
		{"none", store.DecisionFilter{Namespace: "other"}, nil},
	} {
		got := ids(tc.f)
		if len(got) != len(tc.want) {
			t.Errorf("%s: ids %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: ids %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	d := must(s.Decisions(ctx, store.DecisionFilter{Digest: "sha256:b"}))[0]
	var detail map[string]any
	if err := json.Unmarshal(d.Detail, &detail); err != nil || detail["verdict"] != "deny" || !d.At.Equal(t0.Add(time.Minute)) || d.Environment != "production" || d.LatencyMS != 0.5 {
		t.Errorf("round trip: %+v %v", d, err)
	}
}

// Published is the disclosure-date surface the gate reads.
type Published interface {
	ImportFeed(ctx context.Context, in store.FeedData) (store.FeedResult, error)
	AdvisoriesPublished(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// RunPublished checks that advisory publication dates round-trip.
func RunPublished(t *testing.T, open func(t *testing.T) Published) {
	t.Run("AdvisoriesPublished", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		pub := t0.Add(-48 * time.Hour)
		a := rangeAdv("GHSA-p", "Go", "example.com/m", "1.1.0")
		a.Published = &pub
		b := rangeAdv("GHSA-q", "Go", "example.com/n", "1.1.0") // no date
		must(s.ImportFeed(ctx, store.FeedData{Source: "f", At: t0, Advisories: []advisory.Advisory{a, b}}))
		got := must(s.AdvisoriesPublished(ctx, []string{"GHSA-p", "GHSA-q", "GHSA-none"}))
		if len(got) != 1 || !got["GHSA-p"].Equal(pub) {
			t.Errorf("published %v", got)
		}
	})
}
