package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func owned(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: "v1", Kind: kind, Name: name, UID: types.UID("u-" + name), Controller: &yes}}
}

func pod(ns, name string, phase corev1.PodPhase, owners []metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners}, Status: corev1.PodStatus{Phase: phase}}
}

// The fake clientset is the cluster; the inventory is the real store.
func TestReconcileAgainstCluster(t *testing.T) {
	objs := []runtime.Object{
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d9", OwnerReferences: owned("Deployment", "web")}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "report-2891", OwnerReferences: owned("CronJob", "report")}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly"}},
		pod("shop", "web-5d9-abc", corev1.PodRunning, owned("ReplicaSet", "web-5d9")),
		pod("shop", "web-5d9-def", corev1.PodRunning, owned("ReplicaSet", "web-5d9")),
		pod("shop", "report-2891-x", corev1.PodPending, owned("Job", "report-2891")),
		pod("shop", "db-0", corev1.PodRunning, owned("StatefulSet", "db")),
		pod("shop", "debug", corev1.PodRunning, nil),
		pod("shop", "migrate-x", corev1.PodSucceeded, owned("Job", "migrate")), // finished
	}
	l := New(fake.NewSimpleClientset(objs...))
	ctx := context.Background()
	got, err := l.RunningWorkloads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range got {
		names = append(names, k.Namespace+"/"+k.Kind+"/"+k.Name)
	}
	sort.Strings(names)
	want := "[shop/CronJob/nightly shop/CronJob/report shop/Deployment/web shop/Pod/debug shop/StatefulSet/db]"
	if fmt.Sprint(names) != want {
		t.Errorf("running %v\nwant %s", names, want)
	}

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, k := range []store.WorkloadKey{
		{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"},
		{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "old-web"}, // deleted while the webhook was down
		{Cluster: "eu-1", Namespace: "shop", Kind: "Job", Name: "migrate"},        // finished
	} {
		if err := st.PutWorkload(ctx, store.Workload{WorkloadKey: k, Containers: []store.DeployedContainer{{Name: "c", Path: "spec.template.spec.containers[0]", Image: "x", Digest: "sha256:x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := admission.Reconcile(ctx, "eu-1", l, st)
	if err != nil || n != 2 {
		t.Fatalf("removed %d (%v), want old-web and migrate", n, err)
	}
	left, _ := st.Deployments(ctx, store.DeploymentFilter{})
	if len(left) != 1 || left[0].Workload != "web" {
		t.Errorf("left %+v", left)
	}
}
