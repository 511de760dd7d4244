package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
)

// podReview builds an AdmissionReview for a Pod with the given container
// images (name c0, c1, …) and, for UPDATE, the old images.
func podReview(t testing.TB, op string, ns string, images []string, old []string) []byte {
	t.Helper()
	pod := func(imgs []string) map[string]any {
		var cs []map[string]any
		for i, im := range imgs {
			cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": im})
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": ns},
			"spec": map[string]any{"containers": cs}}
	}
	req := map[string]any{"uid": "u-1", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
		"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
		"namespace": ns, "name": "p", "operation": op, "object": pod(images)}
	if old != nil {
		req["oldObject"] = pod(old)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ask(t testing.TB, w *Webhook, body []byte, mutate bool) (allowed bool, message string, warnings []string, ops []patchOp) {
	t.Helper()
	out, err := w.Review(context.Background(), body, mutate)
	if err != nil {
		t.Fatal(err)
	}
	r := out.Response
	if r.Result != nil {
		message = r.Result.Message
	}
	if r.Patch != nil {
		if err := json.Unmarshal(r.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	return r.Allowed, message, r.Warnings, ops
}

// Each unique reference is evaluated once per request, however many
// containers name it, and references that normalise alike share one
// decision; the denial names every container.
func TestDedupByNormalisedReference(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"nginx:1.27":    denied("sha256:"+hexA, enforce("signed", unsigned)),
		"redis:7":       allowed("sha256:" + hexB),
		"ghcr.io/a/b:1": allowed("sha256:" + hexC),
	}}
	w := newWebhook(t, g, Config{})
	body := podReview(t, "CREATE", "ns", []string{"nginx:1.27", "redis:7", "docker.io/library/nginx:1.27", "index.docker.io/library/nginx:1.27", "ghcr.io/a/b:1", "redis:7"}, nil)
	ok, msg, _, _ := ask(t, w, body, false)
	if ok {
		t.Fatal("admitted")
	}
	calls := g.callCount()
	if len(calls) != 3 || calls["nginx:1.27"] != 1 || calls["redis:7"] != 1 || calls["ghcr.io/a/b:1"] != 1 {
		t.Errorf("calls %v: want each unique image once", calls)
	}
	want := `safeguard denied Pod ns/p: spec.containers[0] (c0), spec.containers[2] (c2), spec.containers[3] (c3) image "nginx:1.27": rule signed: ` + unsigned
	if msg != want {
		t.Errorf("message\n got %s\nwant %s", msg, want)
	}
}

// Every failed enforce rule is in the denial; warn violations are
// warnings, also on a denied request; audit violations are neither.
func TestModes(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"a:1": denied("sha256:"+hexA, enforce("signed", unsigned), enforce("critical", "2 critical findings: CVE-2024-1, CVE-2024-2"),
			gate.Violation{Rule: "age", Mode: gate.ModeWarn, Message: "older than 90 days"},
			gate.Violation{Rule: "kev", Mode: gate.ModeAudit, Message: "audited only"}),
		"b:1": allowed("sha256:"+hexB, gate.Violation{Rule: "latest-base", Mode: gate.ModeWarn, Message: "base is node:latest"}),
	}}
	w := newWebhook(t, g, Config{})
	ok, msg, warns, _ := ask(t, w, podReview(t, "CREATE", "ns", []string{"a:1", "b:1"}, nil), false)
	if ok || !strings.Contains(msg, "rule signed: "+unsigned+", rule critical: 2 critical findings: CVE-2024-1, CVE-2024-2") {
		t.Errorf("denial: %v %s", ok, msg)
	}
	if strings.Contains(msg, "audited") || strings.Contains(msg, "older than") {
		t.Errorf("warn/audit in the denial: %s", msg)
	}
	wantWarns := []string{`spec.containers[0] (c0) image "a:1": age: older than 90 days`, `spec.containers[1] (c1) image "b:1": latest-base: base is node:latest`}
	if strings.Join(warns, "\n") != strings.Join(wantWarns, "\n") {
		t.Errorf("warnings %q, want %q", warns, wantWarns)
	}
	ok, _, warns, _ = ask(t, w, podReview(t, "CREATE", "ns", []string{"b:1"}, nil), false)
	if !ok || len(warns) != 1 {
		t.Errorf("warn-only image: allowed=%v warnings=%q", ok, warns)
	}
}

// UPDATE checks only images the change adds, exemptions apply to added
// containers, and a removed or unchanged image is never re-evaluated.
func TestUpdateChecksOnlyAdded(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"old:1":                   denied("sha256:"+hexA, enforce("signed", unsigned)), // admitted before the policy tightened
		"new:2":                   denied("sha256:"+hexB, enforce("signed", unsigned)),
		"registry.k8s.io/pause:3": denied("sha256:"+hexC, enforce("signed", unsigned)),
	}}
	w := newWebhook(t, g, Config{Exempt: Exemptions{Images: []string{"registry.k8s.io/*"}}})
	if ok, msg, _, _ := ask(t, w, podReview(t, "UPDATE", "ns", []string{"old:1"}, []string{"old:1"}), false); !ok {
		t.Errorf("unchanged image denied: %s", msg)
	}
	ok, msg, _, _ := ask(t, w, podReview(t, "UPDATE", "ns", []string{"old:1", "new:2"}, []string{"old:1"}), false)
	if ok || !strings.Contains(msg, `spec.containers[1] (c1) image "new:2"`) || strings.Contains(msg, "old:1") {
		t.Errorf("added image: allowed=%v %s", ok, msg)
	}
	if ok, msg, _, _ := ask(t, w, podReview(t, "UPDATE", "ns", []string{"old:1", "registry.k8s.io/pause:3"}, []string{"old:1"}), false); !ok {
		t.Errorf("exempt added image denied: %s", msg)
	}
	if c := g.callCount(); c["old:1"] != 0 || c["registry.k8s.io/pause:3"] != 0 || c["new:2"] != 1 {
		t.Errorf("calls %v", c)
	}
	// A namespace exemption covers everything in it.
	w = newWebhook(t, g, Config{Exempt: Exemptions{Namespaces: []string{"platform-*"}}})
	if ok, _, _, _ := ask(t, w, podReview(t, "CREATE", "platform-ops", []string{"new:2"}, nil), false); !ok {
		t.Error("exempt namespace denied")
	}
	if ok, _, _, _ := ask(t, w, podReview(t, "CREATE", "platform", []string{"new:2"}, nil), false); ok {
		t.Error("a glob must not match a shorter namespace")
	}
}

// The mutating webhook pins repo:tag to the evaluated digest with a JSON
// patch, keeps the tag, never re-pins, and obeys per-namespace config.
func TestPinPatch(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"nginx:1.27":                   allowed("sha256:" + hexA),
		"redis":                        allowed("sha256:" + hexB),
		"ghcr.io/a/b:1@sha256:" + hexC: allowed("sha256:" + hexC),
		"bad:1":                        allowed("not-a-digest"),
	}}
	w := newWebhook(t, g, Config{Pin: PinConfig{Except: []string{"legacy"}}})
	body := podReview(t, "CREATE", "ns", []string{"nginx:1.27", "redis", "ghcr.io/a/b:1@sha256:" + hexC, "bad:1"}, nil)
	ok, _, _, ops := ask(t, w, body, true)
	if !ok {
		t.Fatal("denied")
	}
	want := []patchOp{
		{Op: "replace", Path: "/spec/containers/0/image", Value: "nginx:1.27@sha256:" + hexA},
		{Op: "replace", Path: "/spec/containers/1/image", Value: "redis@sha256:" + hexB},
	}
	if fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Errorf("patch %v\nwant %v", ops, want)
	}
	if _, _, _, ops := ask(t, w, body, false); ops != nil {
		t.Errorf("validating webhook patched: %v", ops)
	}
	if _, _, _, ops := ask(t, w, podReview(t, "CREATE", "legacy", []string{"nginx:1.27"}, nil), true); ops != nil {
		t.Errorf("pinning is off in legacy: %v", ops)
	}
}

func TestPointerEscaping(t *testing.T) {
	if got := pointer([]string{"spec", "a/b", "c~d", "0"}); got != "/spec/a~1b/c~0d/0" {
		t.Errorf("pointer = %s", got)
	}
}

// An evaluator's Incomplete answer says why in the denial or warning;
// one that overruns the budget gets the configured failure mode.
func TestFailureModes(t *testing.T) {
	g := &tableGate{hang: make(chan struct{}), table: map[string]answer{
		"down:1":  {verdict: gate.Deny, incomplete: gate.IncompleteUnreachable},
		"open:1":  {verdict: gate.Allow, incomplete: gate.IncompleteUnreachable},
		"stuck:1": {hang: true},
	}}
	t.Cleanup(func() { close(g.hang) })
	w := newWebhook(t, g, Config{})
	ok, msg, _, _ := ask(t, w, podReview(t, "CREATE", "ns", []string{"down:1"}, nil), false)
	if ok || !strings.Contains(msg, "not evaluated: registry_unreachable (fail-closed)") {
		t.Errorf("unreachable, fail-closed: %v %s", ok, msg)
	}
	ok, _, warns, _ := ask(t, w, podReview(t, "CREATE", "ns", []string{"open:1"}, nil), true)
	if !ok || len(warns) != 1 || !strings.Contains(warns[0], "admitted without complete facts: registry_unreachable (fail-open)") {
		t.Errorf("unreachable, fail-open: %v %q", ok, warns)
	}
	w = newWebhook(t, g, Config{Budget: 1}) // 1ns: the deadline has passed before the evaluator answers
	ok, msg, _, _ = ask(t, w, podReview(t, "CREATE", "ns", []string{"stuck:1"}, nil), false)
	if ok || !strings.Contains(msg, "not evaluated: budget_exceeded (fail-closed)") {
		t.Errorf("overrun, fail-closed: %v %s", ok, msg)
	}
	w = newWebhook(t, g, Config{Budget: 1, FailureMode: FailOpen})
	ok, _, warns, _ = ask(t, w, podReview(t, "CREATE", "ns", []string{"stuck:1"}, nil), true)
	if !ok || len(warns) != 1 || !strings.Contains(warns[0], "budget_exceeded (fail-open)") {
		t.Errorf("overrun, fail-open: %v %q", ok, warns)
	}
}

type labels map[string]map[string]string

func (l labels) NamespaceLabels(_ context.Context, ns string) (map[string]string, error) {
	if m, ok := l[ns]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("namespace %s not in the cache", ns)
}

// The environment comes from the namespace label, else the config's
// namespace globs, else the default; the gate sees it with the namespace.
func TestEnvironment(t *testing.T) {
	g := &tableGate{fallback: &answer{verdict: gate.Allow}}
	cfg := Config{Cluster: "eu-1", EnvironmentLabel: "safeguard.dev/environment", DefaultEnvironment: "dev",
		Environments: []NamespaceEnvironment{{Namespace: "prod-*", Environment: "production"}}}
	w, err := New(Options{Evaluator: g, Config: cfg, Namespaces: labels{
		"prod-web": {}, "shop": {"safeguard.dev/environment": "staging"}, "misc": {}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"prod-web", "shop", "misc"} {
		ask(t, w, podReview(t, "CREATE", ns, []string{"x:" + ns}, nil), false)
	}
	var got []string
	for _, in := range g.inputs {
		got = append(got, in.Cluster+"/"+in.Namespace+"="+in.Environment)
	}
	if strings.Join(got, " ") != "eu-1/prod-web=production eu-1/shop=staging eu-1/misc=dev" {
		t.Errorf("inputs %v", got)
	}
	// Labels that cannot be read fail closed by default.
	if ok, msg, _, _ := ask(t, w, podReview(t, "CREATE", "unknown", []string{"x:1"}, nil), false); ok || !strings.Contains(msg, "labels unavailable") {
		t.Errorf("label lookup failure: %v %s", ok, msg)
	}
}

func TestDeleteAndConnectPass(t *testing.T) {
	g := &tableGate{}
	w := newWebhook(t, g, Config{})
	for _, op := range []string{"DELETE", "CONNECT"} {
		if ok, _, _, _ := ask(t, w, podReview(t, op, "ns", []string{"x:1"}, nil), false); !ok {
			t.Errorf("%s denied", op)
		}
	}
	if len(g.callCount()) != 0 {
		t.Error("DELETE/CONNECT evaluated images")
	}
}

// An operation the webhook does not know (or none) carries an object it
// has not judged: denied, never allowed unevaluated.
func TestUnknownOperationDenied(t *testing.T) {
	g := &tableGate{fallback: &answer{verdict: gate.Allow}}
	w := newWebhook(t, g, Config{})
	for _, op := range []string{"", "create", "PATCH"} {
		if ok, msg, _, _ := ask(t, w, podReview(t, op, "ns", []string{"x:1"}, nil), false); ok || !strings.Contains(msg, "operation") {
			t.Errorf("operation %q: allowed=%v %s", op, ok, msg)
		}
	}
}

// A kind the webhook does not know is searched everywhere for container
// lists: every pod template is checked, at whatever path, however many.
func TestUnknownKindsWalked(t *testing.T) {
	g := &tableGate{fallback: &answer{verdict: gate.Allow}, table: map[string]answer{"evil:1": denied("sha256:"+hexA, enforce("signed", unsigned))}}
	w := newWebhook(t, g, Config{})
	wrap := func(group, kind, object string) []byte {
		return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"odd","kind":{"group":"` + group +
			`","version":"v1","kind":"` + kind + `"},"namespace":"ns","operation":"CREATE","object":` + object + `}}`)
	}
	for _, tc := range []struct{ name, group, kind, object, where string }{
		{"second template", "acme.example", "Thing", `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"ok:1"}]}},"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"evil:1"}]}}}}}}`, "spec.jobTemplate.spec.template.spec.containers[0] (b)"},
		{"unusual path", "acme.example", "Thing", `{"spec":{"workload":{"template":{"spec":{"initContainers":[{"name":"b","image":"evil:1"}]}}}}}`, "spec.workload.template.spec.initContainers[0] (b)"},
		{"list of templates", "acme.example", "Pipeline", `{"spec":{"jobs":[{"template":{"spec":{"containers":[{"image":"ok:1"}]}}},{"template":{"spec":{"containers":[{"name":"c","image":"evil:1"}]}}}]}}`, "spec.jobs[1].template.spec.containers[0] (c)"},
		{"a Pod of another group", "acme.example", "Pod", `{"spec":{"containers":[{"name":"a","image":"evil:1"}]}}`, "spec.containers[0] (a)"},
		{"top-level list", "acme.example", "Debug", `{"ephemeralContainers":[{"name":"d","image":"evil:1"}]}`, "ephemeralContainers[0] (d)"},
	} {
		ok, msg, _, _ := ask(t, w, wrap(tc.group, tc.kind, tc.object), false)
		if ok || !strings.Contains(msg, tc.where+` image "evil:1"`) {
			t.Errorf("%s: allowed=%v %s", tc.name, ok, msg)
		}
	}
	// The pin patch points at the container where it is.
	_, _, _, ops := ask(t, w, wrap("acme.example", "Pipeline", `{"spec":{"jobs":[{"template":{"spec":{"containers":[{"image":"ok:1"}]}}}]}}`), true)
	if len(ops) != 1 || ops[0].Path != "/spec/jobs/0/template/spec/containers/0/image" {
		t.Errorf("patch for a list of templates: %+v", ops)
	}
}

// countingGate allows everything and records how many evaluations ran at
// once.
type countingGate struct {
	mu        sync.Mutex
	running   int
	max       int
	evaluated int
}

func (g *countingGate) Evaluate(ctx context.Context, ref string, _ gate.Input) gate.Decision {
	g.mu.Lock()
	g.running++
	g.evaluated++
	g.max = max(g.max, g.running)
	g.mu.Unlock()
	time.Sleep(time.Millisecond)
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	return gate.Decision{Reference: ref, Verdict: gate.Allow}
}

// A Pod naming thousands of distinct images is evaluated a bounded number
// at a time, not as thousands of concurrent registry fetches; every image
// is still evaluated.
func TestEvaluationsBounded(t *testing.T) {
	g := &countingGate{}
	w := newWebhook(t, g, Config{Budget: 10 * time.Second})
	images := make([]string, 2000)
	for i := range images {
		images[i] = fmt.Sprintf("registry.example.com/app%d:1", i)
	}
	if ok, msg, _, _ := ask(t, w, podReview(t, "CREATE", "ns", images, nil), false); !ok {
		t.Fatalf("denied: %s", msg)
	}
	if g.evaluated != len(images) || g.max > maxParallel {
		t.Errorf("evaluated %d of %d images, %d at once (at most %d wanted)", g.evaluated, len(images), g.max, maxParallel)
	}
}

// A budget the API server never waits for is refused.
func TestConfigBudgetWithinKubernetesTimeout(t *testing.T) {
	if err := (Config{Budget: 29500 * time.Millisecond}).Validate(); err == nil || !strings.Contains(err.Error(), "30 s") {
		t.Errorf("29.5 s budget: %v", err)
	}
	if err := (Config{Budget: 20 * time.Second}).Validate(); err != nil {
		t.Errorf("20 s budget: %v", err)
	}
}

func TestConfigParse(t *testing.T) {
	c, err := ParseConfig([]byte("cluster: eu-1\nbudget: 1500ms\nfailure_mode: fail-open\nexempt:\n  namespaces: [kube-system]\n"))
	if err != nil || c.Cluster != "eu-1" || c.budget().Milliseconds() != 1500 || !c.failOpen() || c.Exempt.Namespaces[0] != "kube-system" {
		t.Errorf("%+v %v", c, err)
	}
	for _, bad := range []string{"failure_mode: closed\n", "clustr: x\n", "environments: [{namespace: a}]\n"} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if c, err := ParseConfig(nil); err != nil || c.budget() != DefaultBudget {
		t.Errorf("empty config: %+v %v", c, err)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{{"*", "", true}, {"registry.k8s.io/*", "registry.k8s.io/pause:3.9", true}, {"kube-*", "kube-system", true},
		{"kube-*", "kube", false}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*:latest", "docker.io/x/y:latest", true}, {"x", "xy", false}} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// The parse cache stays bounded and answers as the parser does.
func TestRefCache(t *testing.T) {
	var c refCache
	for i := range refCacheSize + 10 {
		c.parse(fmt.Sprintf("registry.example.com/app-%d:1", i))
	}
	if len(c.m) > refCacheSize {
		t.Errorf("cache holds %d entries, bound %d", len(c.m), refCacheSize)
	}
	if p := c.parse("nginx"); p.key != "docker.io/library/nginx:latest" || !p.parsed || p.pinned {
		t.Errorf("nginx: %+v", p)
	}
	if p := c.parse("Nginx:1"); p.parsed || p.key != "Nginx:1" {
		t.Errorf("malformed: %+v", p)
	}
	if p := c.parse("nginx@sha256:" + hexA); !p.pinned {
		t.Errorf("pinned: %+v", p)
	}
}

// Objects that do not fit the one-pass shape: a known kind is denied with
// the reason, an unknown kind is still searched for its pod template.
func TestOddObjects(t *testing.T) {
	g := &tableGate{table: map[string]answer{"bad:1": denied("sha256:"+hexA, enforce("signed", unsigned))}}
	w := newWebhook(t, g, Config{})
	wrap := func(group, kind, object string) []byte {
		return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"odd","kind":{"group":"` + group +
			`","version":"v1","kind":"` + kind + `"},"namespace":"ns","operation":"CREATE","object":` + object + `}}`)
	}
	ok, msg, _, _ := ask(t, w, wrap("", "Pod", `{"metadata":{"name":"p"},"spec":{"containers":"bad:1"}}`), false)
	if ok || !strings.Contains(msg, "Pod: object does not decode") {
		t.Errorf("Pod with a string for containers: %v %s", ok, msg)
	}
	ok, msg, _, _ = ask(t, w, wrap("acme.example", "Rollout", `{"metadata":{"name":"r"},"spec":{"containers":7,"template":{"spec":{"containers":[{"name":"a","image":"bad:1"}]}}}}`), false)
	if ok || !strings.Contains(msg, `spec.template.spec.containers[0] (a) image "bad:1"`) {
		t.Errorf("unknown kind, odd spec, real template: %v %s", ok, msg)
	}
	if ok, msg, _, _ := ask(t, w, wrap("acme.example", "Widget", `{"spec":{"template":"not a pod"}}`), false); !ok {
		t.Errorf("unknown kind without a pod template denied: %s", msg)
	}
	ok, msg, _, _ = ask(t, w, wrap("acme.example", "Rollout", `{"metadata":{"name":"r"},"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"bad:1"}]}}}}`), false)
	if ok || !strings.Contains(msg, "spec.template.spec.initContainers[0]") {
		t.Errorf("unknown kind with a pod template: %v %s", ok, msg)
	}
	if ok, msg, _, _ := ask(t, w, wrap("", "Pod", `null`), false); ok || !strings.Contains(msg, "no object") {
		t.Errorf("null object: %v %s", ok, msg)
	}
}

// reusingGate answers some references from "a decision made a moment
// ago" (Reuse), the rest through Evaluate, as gate.Gate does.
type reusingGate struct {
	tableGate
	reusable map[string]bool
	reused   map[string]int
}

func (g *reusingGate) Reuse(ref string, in gate.Input) (gate.Decision, bool) {
	if !g.reusable[ref] {
		return gate.Decision{}, false
	}
	g.mu.Lock()
	if g.reused == nil {
		g.reused = map[string]int{}
	}
	g.reused[ref]++
	g.mu.Unlock()
	a := g.table[ref]
	return gate.Decision{Reference: ref, Digest: a.digest, Verdict: a.verdict, Violations: a.violations}, true
}

// An image the evaluator can answer at once is not sent to a worker;
// the others are, and the answer combines both: a reused denial denies,
// a reused warning warns, an evaluated pin is patched.
func TestReusedAnswersJoinEvaluatedOnes(t *testing.T) {
	g := &reusingGate{tableGate: tableGate{table: map[string]answer{
		"registry.example.com/a:1": allowed("sha256:"+strings.Repeat("a", 64), gate.Violation{Rule: "known-base", Mode: gate.ModeWarn, Message: "unknown base"}),
		"registry.example.com/b:1": {digest: "sha256:" + strings.Repeat("b", 64), verdict: gate.Deny, violations: []gate.Violation{{Rule: "signed", Mode: gate.ModeEnforce, Message: "not signed"}}},
		"registry.example.com/c:1": allowed("sha256:" + strings.Repeat("c", 64)),
	}}, reusable: map[string]bool{"registry.example.com/a:1": true, "registry.example.com/b:1": true}}
	w := newWebhook(t, g, Config{})
	images := []string{"registry.example.com/a:1", "registry.example.com/b:1", "registry.example.com/c:1"}
	ok, msg, warnings, _ := ask(t, w, podReview(t, "CREATE", "shop", images, nil), false)
	if ok || !strings.Contains(msg, "rule signed: not signed") || !strings.Contains(msg, `"registry.example.com/b:1"`) {
		t.Errorf("denial: %v %q", ok, msg)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "known-base: unknown base") {
		t.Errorf("warnings %q", warnings)
	}
	if g.calls["registry.example.com/a:1"] != 0 || g.calls["registry.example.com/b:1"] != 0 || g.calls["registry.example.com/c:1"] != 1 {
		t.Errorf("evaluated %v, want only c", g.calls)
	}
	if g.reused["registry.example.com/a:1"] != 1 || g.reused["registry.example.com/b:1"] != 1 {
		t.Errorf("reused %v", g.reused)
	}
	// Without the denied image, the mutating answer pins both others: the
	// reused one and the evaluated one.
	_, _, _, ops := ask(t, w, podReview(t, "CREATE", "shop", []string{images[0], images[2]}, nil), true)
	if len(ops) != 2 || !strings.HasSuffix(ops[0].Value, strings.Repeat("a", 64)) || !strings.HasSuffix(ops[1].Value, strings.Repeat("c", 64)) {
		t.Errorf("patch %+v", ops)
	}
}

// quote matches strconv.Quote on every reference, plain or not.
func TestQuoteMatchesStrconv(t *testing.T) {
	for _, s := range []string{"nginx:1.27", "", `a"b`, `a\b`, "tab\there", "ünïcode", "\x7f", "registry.example.com:5000/x/y@sha256:" + strings.Repeat("0", 64)} {
		if got, want := quote(s), fmt.Sprintf("%q", s); got != want {
			t.Errorf("quote(%q) = %s, want %s", s, got, want)
		}
	}
}

// The config example in the README parses, strictly.
func TestREADMEConfigExampleParses(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "- **Config** (`--config`, strict YAML):")
	if i < 0 {
		t.Fatal("README has no admission config example")
	}
	s = s[i:]
	start := strings.Index(s, "```yaml\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README config example is not a yaml block")
	}
	var lines []string
	for _, l := range strings.Split(s[start+8:start+8+end], "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	c, err := ParseConfig([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("README config example: %v", err)
	}
	if c.Cluster != "eu-1" || c.Kubernetes == nil {
		t.Errorf("README config example parsed as %+v", c)
	}
}
