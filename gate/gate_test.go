package gate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const testPolicy = `version: 1
name: gate-test
trust_policy: trust.yaml
rules:
  - name: kev-critical
    type: vulnerabilities
    with: {severity: critical, kev: true}
  - name: signed-by-ci
    type: signature
    with: {signers: [ci]}
  - name: sbom
    type: sbom
    mode: warn
`

type fixture struct {
	w  *gatetest.World
	st *sqlite.Store
	g  *gate.Gate
}

func setup(t *testing.T, doc string, opts ...func(*gate.Options)) *fixture {
	return setupTB(t, doc, opts...)
}

func setupB(b *testing.B) *fixture { return setupTB(b, testPolicy) }

func setupTB(t testing.TB, doc string, opts ...func(*gate.Options)) *fixture {
	t.Helper()
	return setupWorld(t, gatetest.New(t), doc, opts...)
}

func setupWorld(t testing.TB, w *gatetest.World, doc string, opts ...func(*gate.Options)) *fixture {
	t.Helper()
	st := gatetest.Store(t, "..")
	if err := os.WriteFile(filepath.Join(w.Dir, "policy.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join(w.Dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := gate.Options{
		Policy: p, Store: st, Log: st, Caller: "test", Now: func() time.Time { return now },
		Source: &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st}}, Insecure: true},
	}
	if p.Trust != nil {
		v, err := signature.NewVerifier(p.Trust)
		if err != nil {
			t.Fatal(err)
		}
		o.Signatures = &sigstatus.Checker{Verifier: v, Store: st, Now: func() time.Time { return now }}
	}
	for _, f := range opts {
		f(&o)
	}
	g, err := gate.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{w: w, st: st, g: g}
}

func rules(d gate.Decision) string {
	var out []string
	for _, v := range d.Violations {
		out = append(out, v.Rule+"/"+v.Mode)
	}
	return strings.Join(out, ",")
}

func TestGateCases(t *testing.T) {
	fx := setup(t, testPolicy)
	ctx := context.Background()
	for _, c := range []struct {
		name, ref, verdict, rules, mention string
	}{
		{"signed and clean", fx.w.Refs["signed-clean"], gate.Allow, "", ""},
		{"unsigned", fx.w.Refs["unsigned-clean"], gate.Deny, "signed-by-ci/enforce", "is not signed"},
		// C83 with real data: Keycloak 10.0.2's tomcat-embed-core carries
		// GHSA-c9hw-wf7x-jp9j, in KEV through its alias CVE-2020-1938.
		{"C83 KEV through the CVE alias", fx.w.Refs["vulnerable"], gate.Deny, "kev-critical/enforce", "GHSA-c9hw-wf7x-jp9j (CVE-2020-1938)"},
		{"C48 0 usable packages", fx.w.Refs["unusable-sbom"], gate.Deny, "kev-critical/enforce,sbom/warn", "0 packages analysed"},
		{"C77 no SBOM", fx.w.Refs["no-sbom"], gate.Deny, "kev-critical/enforce,sbom/warn", "no SBOM"},
		{"C60 tag moved to an unsigned digest", fx.w.Refs["moved-new"], gate.Deny, "signed-by-ci/enforce", "is not signed"},
		{"C60 the old digest is still signed", fx.w.Pinned("moved-old"), gate.Allow, "", ""},
		{"C66 signed index covers its platform image", fx.w.Refs["index"], gate.Allow, "", ""},
		{"C66 pinned by index digest", fx.w.Pinned("index"), gate.Allow, "", ""},
	} {
		d := fx.g.Evaluate(ctx, c.ref, gate.Input{Environment: "production"})
		if d.Verdict != c.verdict || rules(d) != c.rules {
			t.Errorf("%s (%s): %s [%s] %+v", c.name, c.ref, d.Verdict, rules(d), d.Violations)
			continue
		}
		if c.mention != "" && !strings.Contains(d.Violations[0].Message, c.mention) {
			t.Errorf("%s: message %q lacks %q", c.name, d.Violations[0].Message, c.mention)
		}
	}
	// The decision names the digest evaluated: for C60 the tag's new digest.
	d := fx.g.Evaluate(ctx, fx.w.Refs["moved-new"], gate.Input{})
	if d.Digest != fx.w.Digests["moved-new"] || d.PolicyHash != fx.g.Policy().Hash() || d.LatencyMS <= 0 {
		t.Errorf("decision %+v", d)
	}
}

// Known digests are answered from the store; unknown ones are fetched once.
func TestKnownDigestIsNotFetchedAgain(t *testing.T) {
	fx := setup(t, testPolicy)
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	first := fx.g.Evaluate(ctx, ref, gate.Input{})
	if first.Verdict != gate.Allow {
		t.Fatalf("%+v", first)
	}
	before := fx.w.Requests()
	again := fx.g.Evaluate(ctx, ref, gate.Input{})
	if again.Verdict != gate.Allow || fx.w.Requests() != before {
		t.Errorf("second evaluation of a known digest made %d registry requests (%+v)", fx.w.Requests()-before, again)
	}
	// A tag within the TTL is resolved once.
	tag := fx.w.Refs["signed-clean"]
	fx.g.Evaluate(ctx, tag, gate.Input{})
	before = fx.w.Requests()
	fx.g.Evaluate(ctx, tag, gate.Input{})
	if fx.w.Requests() != before {
		t.Errorf("a cached tag was resolved again")
	}
}

func TestTagCacheExpires(t *testing.T) {
	clock := now
	fx := setup(t, testPolicy, func(o *gate.Options) { o.Now = func() time.Time { return clock }; o.TagTTL = time.Minute })
	ctx := context.Background()
	tag := fx.w.Refs["signed-clean"]
	fx.g.Evaluate(ctx, tag, gate.Input{})
	clock = clock.Add(2 * time.Minute)
	before := fx.w.Requests()
	fx.g.Evaluate(ctx, tag, gate.Input{})
	if fx.w.Requests() != before+1 {
		t.Errorf("after the TTL the tag must be resolved again with one HEAD: %d requests", fx.w.Requests()-before)
	}
}

func TestIncomplete(t *testing.T) {
	ctx := context.Background()
	closed := setup(t, testPolicy)
	d := closed.g.Evaluate(ctx, closed.w.Host+"/acme/app:9.9", gate.Input{})
	if d.Verdict != gate.Deny || d.Incomplete != gate.IncompleteNotFound || rules(d) != "gate/enforce" || !strings.Contains(d.Violations[0].Message, "fail-closed") {
		t.Errorf("not found, fail-closed: %+v", d)
	}
	open := setup(t, testPolicy, func(o *gate.Options) { o.FailureMode = gate.FailOpen })
	d = open.g.Evaluate(ctx, open.w.Host+"/acme/app:9.9", gate.Input{})
	if d.Verdict != gate.Allow || d.Incomplete != gate.IncompleteNotFound || rules(d) != "gate/warn" {
		t.Errorf("not found, fail-open: %+v", d)
	}
	// A registry that does not answer within the budget.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer stall.Close()
	slow := setup(t, testPolicy, func(o *gate.Options) { o.Budget = 100 * time.Millisecond })
	d = slow.g.Evaluate(ctx, strings.TrimPrefix(stall.URL, "http://")+"/acme/app:1", gate.Input{})
	if d.Verdict != gate.Deny || d.Incomplete != gate.IncompleteBudget {
		t.Errorf("budget: %+v", d)
	}
	// Nothing listens on this port.
	down := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	d = slow.g.Evaluate(ctx, addr+"/acme/app:1", gate.Input{})
	if d.Verdict != gate.Deny || d.Incomplete != gate.IncompleteUnreachable {
		t.Errorf("unreachable: %+v", d)
	}
}

func TestReferenceDecidedBeforeTheRegistry(t *testing.T) {
	fx := setup(t, testPolicy+`  - name: refs
    type: references
    with: {deny_typosquats: true}
`)
	ctx := context.Background()
	d := fx.g.Evaluate(ctx, "node:-16", gate.Input{})
	if d.Verdict != gate.Deny || rules(d) != "references/enforce" || !strings.Contains(d.Violations[0].Message, "tag must start with a letter") {
		t.Errorf("malformed: %+v", d)
	}
	before := fx.w.Requests()
	d = fx.g.Evaluate(ctx, "ghrc.io/acme/tool:1.0", gate.Input{})
	if d.Verdict != gate.Deny || rules(d) != "refs/enforce" || d.Incomplete != "" || d.Digest != "" {
		t.Errorf("typosquat: %+v", d)
	}
	if fx.w.Requests() != before {
		t.Error("the registry was contacted for a typosquatted reference")
	}
}

func TestDecisionLog(t *testing.T) {
	fx := setup(t, testPolicy)
	ctx := context.Background()
	fx.g.Evaluate(ctx, fx.w.Refs["signed-clean"], gate.Input{Environment: "production", Namespace: "payments"})
	fx.g.Evaluate(ctx, fx.w.Refs["unsigned-clean"], gate.Input{Environment: "staging"})
	all, err := fx.st.Decisions(ctx, store.DecisionFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("%d decisions, %v", len(all), err)
	}
	denied, _ := fx.st.Decisions(ctx, store.DecisionFilter{Verdict: gate.Deny})
	if len(denied) != 1 || denied[0].Digest != fx.w.Digests["unsigned-clean"] || denied[0].Environment != "staging" || denied[0].Source != "test" {
		t.Fatalf("denied %+v", denied)
	}
	var d gate.Decision
	if err := json.Unmarshal(denied[0].Detail, &d); err != nil || d.Verdict != gate.Deny || len(d.Violations) != 1 || d.Violations[0].Rule != "signed-by-ci" {
		t.Errorf("logged detail %s %v", denied[0].Detail, err)
	}
}

// C78 through the gate: both criticals of an image waived → allowed, and
// shown as suppressed.
func TestWaivedFindingsAreSuppressed(t *testing.T) {
	fx := setup(t, `version: 1
name: waivers
rules:
  - name: kev-critical
    type: vulnerabilities
    with: {severity: critical, kev: true}
waivers:
  - {vulnerability: CVE-2020-1938, owner: sec@acme, reason: AJP connector disabled, expires: 2026-12-31}
`)
	d := fx.g.Evaluate(context.Background(), fx.w.Refs["vulnerable"], gate.Input{})
	if d.Verdict != gate.Allow || len(d.Suppressed) != 2 {
		t.Fatalf("%+v", d)
	}
	for _, s := range d.Suppressed {
		if s.Finding != "GHSA-c9hw-wf7x-jp9j" || s.Owner != "sec@acme" {
			t.Errorf("suppressed %+v", s)
		}
	}
}

func TestOptions(t *testing.T) {
	p, err := policy.Parse([]byte("version: 1\nname: x\nrules: [{type: sbom}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gate.New(gate.Options{Policy: p}); err == nil {
		t.Error("a gate without a store")
	}
	if _, err := gate.New(gate.Options{Policy: p, Store: &sqlite.Store{}, FailureMode: "fail-sometimes"}); err == nil || !strings.Contains(err.Error(), "fail-sometimes") {
		t.Errorf("bad failure mode: %v", err)
	}
}

// Findings are cached per feed generation: an import that makes a clean
// image vulnerable changes the next decision.
func TestFeedImportReachesTheNextDecision(t *testing.T) {
	fx := setup(t, "version: 1\nname: crit\nrules:\n  - {name: no-critical, type: vulnerabilities, with: {severity: critical}}\n")
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Allow {
		t.Fatalf("before: %+v", d)
	}
	osv := filepath.Join(t.TempDir(), "GHSA-test-0001.json")
	os.WriteFile(osv, []byte(`{"id":"GHSA-test-0001","aliases":["CVE-2099-0001"],"modified":"2026-06-01T00:00:00Z","published":"2026-06-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"Maven","name":"org.example:clean"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`), 0o644)
	gatetest.Import(t, fx.st, osv)
	d := fx.g.Evaluate(ctx, ref, gate.Input{})
	if d.Verdict != gate.Deny || !strings.Contains(d.Violations[0].Message, "GHSA-test-0001 (CVE-2099-0001) in org.example:clean 1.0.0") {
		t.Fatalf("after the import: %+v", d)
	}
}

// A scope naming a tag applies to the digest asked for by digest when the
// tag points at it now (the store's tags), and not to other digests.
func TestTagScopeThroughStoreTags(t *testing.T) {
	w := gatetest.New(t)
	fx := setupWorld(t, w, "version: 1\nname: tags\ntrust_policy: trust.yaml\nrules:\n  - {name: release-signed, type: signature, scope: {images: [\""+w.Host+"/acme/unsigned:1.*\"]}, with: {signers: [ci]}}\n")
	ctx := context.Background()
	// Seen by tag first, so the store knows the tag.
	if d := fx.g.Evaluate(ctx, w.Refs["unsigned-clean"], gate.Input{}); d.Verdict != gate.Deny {
		t.Fatalf("by tag: %+v", d)
	}
	if d := fx.g.Evaluate(ctx, w.Pinned("unsigned-clean"), gate.Input{}); d.Verdict != gate.Deny || d.Violations[0].Rule != "release-signed" {
		t.Errorf("by digest, tag from the store: %+v", d)
	}
	if d := fx.g.Evaluate(ctx, w.Pinned("moved-new"), gate.Input{}); d.Verdict != gate.Allow {
		t.Errorf("another unsigned digest, out of scope: %+v", d)
	}
}

// A tag where a digest pin is required is denied, and the decision names
// the digest the tag points at (what to pin).
func TestUnpinnedDeniedWithTheDigest(t *testing.T) {
	fx := setup(t, "version: 1\nname: pins\nrules:\n  - {name: pinned, type: references, with: {require_digest: true}}\n")
	d := fx.g.Evaluate(context.Background(), fx.w.Refs["signed-clean"], gate.Input{})
	if d.Verdict != gate.Deny || d.Digest != fx.w.Digests["signed-clean"] || d.Violations[0].Rule != "pinned" || !strings.Contains(d.Violations[0].Message, "not pinned to a digest") {
		t.Errorf("%+v", d)
	}
	if d := fx.g.Evaluate(context.Background(), fx.w.Pinned("signed-clean"), gate.Input{}); d.Verdict != gate.Allow {
		t.Errorf("pinned: %+v", d)
	}
}

// Age since disclosure uses the advisory's published date: Ghostcat
// (GHSA-c9hw-wf7x-jp9j, published 2020) is years old even though the
// image was scanned today.
func TestAgeSinceDisclosure(t *testing.T) {
	fx := setup(t, "version: 1\nname: age\nrules:\n  - {name: old-kev, type: vulnerabilities, with: {kev: true, min_age: 365d}}\n")
	d := fx.g.Evaluate(context.Background(), fx.w.Refs["vulnerable"], gate.Input{})
	if d.Verdict != gate.Deny || !strings.Contains(d.Violations[0].Message, "GHSA-c9hw-wf7x-jp9j") {
		t.Fatalf("%+v", d)
	}
	young := setup(t, "version: 1\nname: age\nrules:\n  - {name: old-kev, type: vulnerabilities, with: {kev: true, min_age: 36500d}}\n")
	if d := young.g.Evaluate(context.Background(), young.w.Refs["vulnerable"], gate.Input{}); d.Verdict != gate.Allow {
		t.Errorf("nothing is a century old: %+v", d)
	}
}

// With FactsTTL a digest's facts are reused, so a feed import is seen only
// after the TTL or an Invalidate — what serve calls after its own imports.
func TestFactsCacheAndInvalidate(t *testing.T) {
	fx := setup(t, "version: 1\nname: crit\nrules:\n  - {name: no-critical, type: vulnerabilities, with: {severity: critical}}\n",
		func(o *gate.Options) { o.FactsTTL = time.Hour })
	ctx := context.Background()
	ref := fx.w.Pinned("signed-clean")
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Allow {
		t.Fatalf("before: %+v", d)
	}
	osv := filepath.Join(t.TempDir(), "GHSA-test-0002.json")
	os.WriteFile(osv, []byte(`{"id":"GHSA-test-0002","modified":"2026-06-01T00:00:00Z","published":"2026-06-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"Maven","name":"org.example:clean"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`), 0o644)
	gatetest.Import(t, fx.st, osv)
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Allow {
		t.Fatalf("within the TTL the cached facts decide: %+v", d)
	}
	// The cache is per digest, not per reference: another spelling of the
	// same digest reuses it and keeps its own reference facts.
	if d := fx.g.Evaluate(ctx, fx.w.Refs["signed-clean"]+"@"+fx.w.Digests["signed-clean"], gate.Input{}); d.Verdict != gate.Allow || d.Reference == ref {
		t.Fatalf("tag@digest spelling: %+v", d)
	}
	fx.g.Invalidate()
	if d := fx.g.Evaluate(ctx, ref, gate.Input{}); d.Verdict != gate.Deny {
		t.Fatalf("after Invalidate: %+v", d)
	}
}

// BatchLog stores every decision, from many goroutines, by Close.
func TestBatchLogStoresEveryDecision(t *testing.T) {
	st := gatetest.Store(t, "..")
	b := gate.NewBatchLog(st, nil)
	ctx := context.Background()
	const n = 900 // more than one batch, fewer than a listing holds
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.PutDecision(ctx, store.DecisionRecord{At: now, Reference: fmt.Sprintf("r:%d", i), Verdict: gate.Allow, Source: "test", Detail: []byte(`{}`)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b.Close()
	got, err := st.Decisions(ctx, store.DecisionFilter{Limit: store.MaxDecisions})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.Reference] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct decisions stored, want %d", len(seen), n)
	}
}

// A store that never imported a feed makes every image look clean: a
// policy that reads findings is incomplete there — denied fail-closed,
// allowed with the reason fail-open — never a clean allow.
func TestNoFeedsFailsClosed(t *testing.T) {
	for _, mode := range []string{gate.FailClosed, gate.FailOpen} {
		w := gatetest.New(t)
		g, _ := emptyStoreGate(t, func(o *gate.Options) { o.FailureMode = mode })
		d := g.Evaluate(context.Background(), w.Refs["vulnerable"], gate.Input{})
		want := gate.Deny
		if mode == gate.FailOpen {
			want = gate.Allow
		}
		if d.Verdict != want || d.Incomplete != gate.IncompleteNoFeeds || len(d.Violations) != 1 || !strings.Contains(d.Violations[0].Message, "no vulnerability feed has been imported") {
			t.Errorf("%s: %+v", mode, d)
		}
	}
}

// emptyStoreGate is a gate over a store that never imported a feed, with
// a policy that reads findings and the loopback registries as its source.
func emptyStoreGate(t *testing.T, opts ...func(*gate.Options)) (*gate.Gate, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := policy.Parse([]byte("version: 1\nname: crit\nrules:\n  - {name: no-critical, type: vulnerabilities, with: {severity: critical}}\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := gate.Options{Policy: p, Store: st, Now: func() time.Time { return now },
		Source: &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st}}, Insecure: true}}
	for _, f := range opts {
		f(&o)
	}
	g, err := gate.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g, st
}
