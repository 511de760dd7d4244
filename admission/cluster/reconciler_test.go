package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func putWorkload(t *testing.T, st *sqlite.Store, name string, at time.Time) {
	t.Helper()
	err := st.PutWorkload(context.Background(), store.Workload{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: name}, At: at,
		Containers: []store.DeployedContainer{{Name: "app", Path: "spec.template.spec.containers[0]", Image: "r/" + name + ":1", Digest: "sha256:" + strings.Repeat("a", 64)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func workloads(t *testing.T, st *sqlite.Store) string {
	t.Helper()
	ds, err := st.Deployments(context.Background(), store.DeploymentFilter{Cluster: "eu-1"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Workload)
	}
	return fmt.Sprint(names)
}

// waitFor polls cond (bounded): the loop runs on its own ticker.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The fake clientset is the cluster, the store is real: a Deployment
// scaled to zero (its Pods gone) stays in the inventory tick after tick,
// since scaling it up again is no admission; once deleted it leaves on the
// loop's next tick; one recorded a moment ago (not stored by the API server
// yet) stays; an empty listing removes nothing.
func TestReconcilerLoop(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	client := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "old"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d9", OwnerReferences: owned("Deployment", "web")}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "old-7f1", OwnerReferences: owned("Deployment", "old")}},
		pod("shop", "web-5d9-abc", "Running", owned("ReplicaSet", "web-5d9")),
		pod("shop", "old-7f1-abc", "Running", owned("ReplicaSet", "old-7f1")),
	)
	st := openStore(t)
	putWorkload(t, st, "web", now.Add(-time.Hour))
	putWorkload(t, st, "old", now.Add(-time.Hour))
	putWorkload(t, st, "new", now.Add(-time.Minute)) // admitted a minute ago; not stored yet
	var logs syncBuffer
	r := &Reconciler{Cluster: "eu-1", Lister: New(client), Inventory: st, Interval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: func() time.Time { return now }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	runs := func() int { return strings.Count(logs.String(), "inventory reconciled") }

	waitFor(t, "a first reconciliation", func() bool { return runs() > 0 })
	if got := workloads(t, st); got != "[new old web]" {
		t.Fatalf("after the first run: %s, want everything (all deployed or recent)", got)
	}
	// Scaled to zero: its Pod goes, the Deployment stays.
	if err := client.CoreV1().Pods("shop").Delete(ctx, "old-7f1-abc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	after := runs()
	waitFor(t, "two runs after the scale to zero", func() bool { return runs() >= after+2 })
	if got := workloads(t, st); got != "[new old web]" {
		t.Fatalf("after a scale to zero: %s, want [new old web]", got)
	}
	if err := client.AppsV1().Deployments("shop").Delete(ctx, "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "old removed", func() bool { return workloads(t, st) == "[new web]" })
	waitFor(t, "the removal logged", func() bool { return strings.Contains(logs.String(), "removed=1 workloads=[shop/Deployment/old]") })

	// Nothing deployed at all: a listing that is far more often missing
	// RBAC than an empty cluster. Nothing is removed, tick after tick.
	if err := client.CoreV1().Pods("shop").Delete(ctx, "web-5d9-abc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.AppsV1().Deployments("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the empty listing refused twice", func() bool { return strings.Count(logs.String(), "inventory reconciliation skipped") >= 2 })
	if got := workloads(t, st); got != "[new web]" {
		t.Errorf("after empty listings: %s, want [new web]", got)
	}
}

func TestReconcilerOnceRefusesEmptyListing(t *testing.T) {
	st := openStore(t)
	putWorkload(t, st, "web", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := &Reconciler{Cluster: "eu-1", Lister: New(fake.NewClientset()), Inventory: st}
	if _, err := r.Once(context.Background()); !errors.Is(err, admission.ErrEmptyListing) {
		t.Errorf("error %v, want ErrEmptyListing", err)
	}
	if got := workloads(t, st); got != "[web]" {
		t.Errorf("left %s", got)
	}
}

// Start connects the informer and the loop from the config: unset is
// every 10 minutes, 0 starts no loop.
func TestStartFromConfig(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		block    string
		interval time.Duration // 0: no loop
	}{
		{"{in_cluster: true, reconcile_interval: 1m}", time.Minute},
		{"{in_cluster: true}", admission.DefaultReconcileInterval},
		{"{in_cluster: true, reconcile_interval: 0}", 0},
	} {
		t.Run(c.block, func(t *testing.T) {
			cfg, err := admission.ParseConfig([]byte("cluster: eu-1\nkubernetes: " + c.block + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			client := fake.NewClientset(namespace("shop", map[string]string{envLabel: "production"}), pod("shop", "web", "Running", nil))
			st := openStore(t)
			putWorkload(t, st, "old", now.Add(-time.Hour))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn, err := Start(ctx, client, cfg, st, nil, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if l, err := conn.Namespaces.NamespaceLabels(ctx, "shop"); err != nil || l[envLabel] != "production" {
				t.Errorf("labels %v %v", l, err)
			}
			if c.interval == 0 {
				if conn.Reconciler != nil {
					t.Errorf("reconcile_interval 0 started a loop every %s", conn.Reconciler.Interval)
				}
				return
			}
			if conn.Reconciler == nil || conn.Reconciler.Interval != c.interval || conn.Reconciler.Cluster != "eu-1" {
				t.Fatalf("reconciler %+v, want cluster eu-1 every %s", conn.Reconciler, c.interval)
			}
			// The loop runs once at start: old (no Pod) goes.
			waitFor(t, "old removed", func() bool { return workloads(t, st) == "[]" })
		})
	}
}

func TestNewClient(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	os.WriteFile(good, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	noContext := filepath.Join(dir, "empty")
	os.WriteFile(noContext, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("{{{ not yaml"), 0o600)
	if _, err := NewClient(&admission.KubernetesConfig{Kubeconfig: good}); err != nil {
		t.Errorf("good kubeconfig: %v", err)
	}
	for _, c := range []struct {
		k    admission.KubernetesConfig
		want string
	}{
		{admission.KubernetesConfig{Kubeconfig: filepath.Join(dir, "missing")}, "missing: no such file"},
		{admission.KubernetesConfig{Kubeconfig: noContext}, "kubeconfig " + noContext},
		{admission.KubernetesConfig{Kubeconfig: garbage}, "kubeconfig " + garbage},
		{admission.KubernetesConfig{InCluster: true}, "in_cluster"},
	} {
		if _, err := NewClient(&c.k); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.k, err, c.want)
		}
	}
}
