package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/gate"
)

const envLabel = "safeguard.dev/environment"

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// recorder is the policy gate as a table: it admits every image, with the
// digest the table names, and keeps the context each question came with.
type recorder struct {
	mu     sync.Mutex
	inputs []gate.Input
}

func (r *recorder) Evaluate(_ context.Context, ref string, in gate.Input) gate.Decision {
	r.mu.Lock()
	r.inputs = append(r.inputs, in)
	r.mu.Unlock()
	return gate.Decision{Reference: ref, Digest: "sha256:" + strings.Repeat("a", 64), Verdict: gate.Allow, PolicyHash: "table"}
}

func (r *recorder) last(t *testing.T) gate.Input {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inputs) == 0 {
		t.Fatal("the gate was not asked")
	}
	return r.inputs[len(r.inputs)-1]
}

// podReview is an AdmissionReview creating a one-container Pod.
func podReview(t *testing.T, ns string) []byte {
	t.Helper()
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": ns},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/shop/web:2.1"}}}}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "u-1", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
		"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
		"namespace": ns, "name": "p", "operation": "CREATE", "object": pod}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type reply struct {
	allowed  bool
	message  string
	warnings []string
}

func review(t *testing.T, w *admission.Webhook, ns string) reply {
	t.Helper()
	out, err := w.Review(context.Background(), podReview(t, ns), false)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{allowed: out.Response.Allowed, warnings: out.Response.Warnings}
	if out.Response.Result != nil {
		r.message = out.Response.Result.Message
	}
	return r
}

// started returns namespace labels from a running, synced informer.
func started(t *testing.T, client *fake.Clientset) *Namespaces {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ns := NewNamespaces(client, nil)
	ns.Start(ctx)
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if err := ns.WaitForCacheSync(sctx); err != nil {
		t.Fatal(err)
	}
	return ns
}

func gets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "namespaces" {
			n++
		}
	}
	return n
}

// The informer's labels reach the environment (label first, then the
// globs) and the gate's context labels, with no API call per review.
func TestNamespaceLabelsReachTheGate(t *testing.T) {
	client := fake.NewClientset(
		namespace("shop", map[string]string{envLabel: "production", "pci": "true"}),
		namespace("dev-alice", map[string]string{"team": "payments"}),
	)
	g := &recorder{}
	w, err := admission.New(admission.Options{Evaluator: g, Namespaces: started(t, client), Config: admission.Config{
		Cluster: "eu-1", EnvironmentLabel: envLabel, DefaultEnvironment: "unknown",
		Environments: []admission.NamespaceEnvironment{{Namespace: "dev-*", Environment: "development"}, {Namespace: "shop", Environment: "staging"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns, env, labels string
	}{
		{"shop", "production", "map[pci:true safeguard.dev/environment:production]"}, // the label wins over the glob
		{"dev-alice", "development", "map[team:payments]"},                           // no label: the glob
	} {
		if r := review(t, w, c.ns); !r.allowed {
			t.Fatalf("%s: denied: %s", c.ns, r.message)
		}
		in := g.last(t)
		if in.Environment != c.env || fmt.Sprint(in.Labels) != c.labels || in.Namespace != c.ns || in.Cluster != "eu-1" {
			t.Errorf("%s: gate asked with %+v, want environment %s labels %s", c.ns, in, c.env, c.labels)
		}
	}
	if n := gets(client); n != 0 {
		t.Errorf("%d GETs for namespaces the informer holds", n)
	}
}

// A label change reaches a later review through the watch, without a
// restart.
func TestNamespaceLabelChangeSeenByLaterReview(t *testing.T) {
	client := fake.NewClientset(namespace("shop", map[string]string{envLabel: "staging"}))
	g := &recorder{}
	w, err := admission.New(admission.Options{Evaluator: g, Namespaces: started(t, client), Config: admission.Config{EnvironmentLabel: envLabel}})
	if err != nil {
		t.Fatal(err)
	}
	review(t, w, "shop")
	if env := g.last(t).Environment; env != "staging" {
		t.Fatalf("environment %q before the change", env)
	}
	if _, err := client.CoreV1().Namespaces().Update(context.Background(),
		namespace("shop", map[string]string{envLabel: "production", "pci": "true"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The watch delivers the change asynchronously: poll (bounded) for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		review(t, w, "shop")
		in := g.last(t)
		if in.Environment == "production" {
			if in.Labels["pci"] != "true" {
				t.Errorf("labels %v after the change", in.Labels)
			}
			break
		}
		if in.Environment != "staging" {
			t.Fatalf("environment %q: neither the old nor the new label", in.Environment)
		}
		if time.Now().After(deadline) {
			t.Fatal("the label change never reached a review")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := gets(client); n != 0 {
		t.Errorf("%d GETs: the change should come through the watch", n)
	}
}

// A namespace the informer does not hold yet is read with one GET; one the
// API server does not know has no labels.
func TestNamespaceNotCachedIsFetched(t *testing.T) {
	client := fake.NewClientset(namespace("new-team", map[string]string{envLabel: "production"}))
	ns := NewNamespaces(client, nil) // not started: nothing is cached
	labels, err := ns.NamespaceLabels(context.Background(), "new-team")
	if err != nil || labels[envLabel] != "production" {
		t.Errorf("new-team: %v %v", labels, err)
	}
	if n := gets(client); n != 1 {
		t.Errorf("%d GETs, want 1", n)
	}
	labels, err = ns.NamespaceLabels(context.Background(), "gone")
	if err != nil || labels != nil {
		t.Errorf("missing namespace: %v %v, want no labels and no error", labels, err)
	}
	if n := gets(client); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}
	// Through the webhook: the fetched label is the environment.
	g := &recorder{}
	w, err := admission.New(admission.Options{Evaluator: g, Namespaces: ns, Config: admission.Config{EnvironmentLabel: envLabel, DefaultEnvironment: "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	review(t, w, "new-team")
	if env := g.last(t).Environment; env != "production" {
		t.Errorf("environment %q, want the fetched label's production", env)
	}
	review(t, w, "gone")
	if in := g.last(t); in.Environment != "dev" || in.Labels != nil {
		t.Errorf("missing namespace: %+v, want the default environment and no labels", in)
	}
}

// syncBuffer is a log destination tests read while the code writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An API error is the webhook's failure mode to decide: fail-closed denies
// naming the namespace and the error, fail-open admits (with the globs'
// environment), warns the client and logs a warning.
func TestNamespaceAPIErrorFollowsFailureMode(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("RBAC: access denied"))
	})
	ns := NewNamespaces(client, nil)
	if _, err := ns.NamespaceLabels(context.Background(), "shop"); !apierrors.IsForbidden(err) {
		t.Fatalf("error %v, want the API server's forbidden", err)
	}
	for _, mode := range []string{admission.FailClosed, admission.FailOpen} {
		g := &recorder{}
		var logs syncBuffer
		w, err := admission.New(admission.Options{Evaluator: g, Namespaces: ns, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Config: admission.Config{FailureMode: mode, EnvironmentLabel: envLabel, Environments: []admission.NamespaceEnvironment{{Namespace: "*", Environment: "fallback"}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := review(t, w, "shop")
		switch mode {
		case admission.FailClosed:
			if r.allowed || !strings.Contains(r.message, "namespace shop") || !strings.Contains(r.message, "access denied") || !strings.Contains(r.message, "fail-closed") {
				t.Errorf("fail-closed: allowed=%v %q", r.allowed, r.message)
			}
			if len(g.inputs) != 0 {
				t.Error("fail-closed asked the gate anyway")
			}
		case admission.FailOpen:
			if !r.allowed {
				t.Errorf("fail-open denied: %s", r.message)
			}
			if len(r.warnings) != 1 || !strings.Contains(r.warnings[0], "namespace shop: labels unavailable") || !strings.Contains(r.warnings[0], "fail-open") {
				t.Errorf("fail-open warnings %q: want one naming the namespace", r.warnings)
			}
			if in := g.last(t); in.Environment != "fallback" || in.Labels != nil {
				t.Errorf("fail-open asked with %+v, want the glob's environment and no labels", in)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "namespace=shop") || !strings.Contains(l, "access denied") {
				t.Errorf("fail-open log %q: want a warning naming the namespace and the error", l)
			}
		}
	}
}

// A cache that never fills says why.
func TestWaitForCacheSyncReportsTheListError(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("no RBAC for namespaces"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ns := NewNamespaces(client, nil)
	ns.Start(ctx)
	err := ns.WaitForCacheSync(ctx)
	if err == nil || !strings.Contains(err.Error(), "no RBAC for namespaces") {
		t.Errorf("error %v, want the list error", err)
	}
}

// The cached answer is the informer's own map: nothing is allocated per
// review (the webhook asks on every request).
func TestNamespaceLabelsCachedDoesNotAllocate(t *testing.T) {
	ns := started(t, fake.NewClientset(namespace("shop", map[string]string{envLabel: "production"})))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if l, err := ns.NamespaceLabels(ctx, "shop"); err != nil || l[envLabel] != "production" {
			t.Fatalf("labels %v %v", l, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per cached lookup", allocs)
	}
}

func BenchmarkNamespaceLabelsCached(b *testing.B) {
	client := fake.NewClientset(namespace("shop", map[string]string{envLabel: "production", "team": "payments"}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := NewNamespaces(client, nil)
	ns.Start(ctx)
	if err := ns.WaitForCacheSync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ns.NamespaceLabels(ctx, "shop"); err != nil {
			b.Fatal(err)
		}
	}
}
