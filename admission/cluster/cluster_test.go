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

func meta(ns, name string, owners []metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners}
}

func job(name string, owners []metav1.OwnerReference, suspend bool, done batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: meta("shop", name, owners), Spec: batchv1.JobSpec{Suspend: &suspend}}
	if done != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: done, Status: corev1.ConditionTrue}}
	}
	return j
}

// The fake clientset is the cluster; the inventory is the real store. The
// workloads of record that exist are deployed however many replicas they
// have (scaled to zero, no Pod); what a running Pod traces to is deployed;
// owned objects, finished Jobs and finished Pods are not.
func TestReconcileAgainstCluster(t *testing.T) {
	zero := int32(0)
	objs := []runtime.Object{
		&appsv1.Deployment{ObjectMeta: meta("shop", "web", nil)},
		&appsv1.ReplicaSet{ObjectMeta: meta("shop", "web-5d9", owned("Deployment", "web"))},
		// Scaled to zero: no Pod, its ReplicaSet at 0.
		&appsv1.Deployment{ObjectMeta: meta("shop", "idle", nil), Spec: appsv1.DeploymentSpec{Replicas: &zero}},
		&appsv1.ReplicaSet{ObjectMeta: meta("shop", "idle-7c4", owned("Deployment", "idle")), Spec: appsv1.ReplicaSetSpec{Replicas: &zero}},
		&appsv1.Deployment{ObjectMeta: meta("shop", "operated", owned("Thing", "op"))}, // its owner is the workload of record
		&appsv1.ReplicaSet{ObjectMeta: meta("shop", "legacy", nil), Spec: appsv1.ReplicaSetSpec{Replicas: &zero}},
		&appsv1.StatefulSet{ObjectMeta: meta("shop", "cache", nil), Spec: appsv1.StatefulSetSpec{Replicas: &zero}},
		&appsv1.DaemonSet{ObjectMeta: meta("shop", "logs", nil)},
		&corev1.ReplicationController{ObjectMeta: meta("shop", "old-rc", nil), Spec: corev1.ReplicationControllerSpec{Replicas: &zero}},
		job("report-2891", owned("CronJob", "report"), false, ""),
		job("backfill", nil, true, ""), // suspended: runs when resumed, which admission does not see
		job("migrate", nil, false, batchv1.JobComplete),
		job("broken", nil, false, batchv1.JobFailed),
		&batchv1.CronJob{ObjectMeta: meta("shop", "nightly", nil)},
		pod("shop", "web-5d9-abc", corev1.PodRunning, owned("ReplicaSet", "web-5d9")),
		pod("shop", "web-5d9-def", corev1.PodRunning, owned("ReplicaSet", "web-5d9")),
		pod("shop", "report-2891-x", corev1.PodPending, owned("Job", "report-2891")),
		pod("shop", "db-0", corev1.PodRunning, owned("StatefulSet", "db")), // its StatefulSet not listed (being deleted)
		pod("shop", "debug", corev1.PodRunning, nil),
		pod("shop", "migrate-x", corev1.PodSucceeded, owned("Job", "migrate")), // finished
		pod("shop", "oneshot", corev1.PodSucceeded, nil),                       // finished
	}
	l := New(fake.NewClientset(objs...))
	ctx := context.Background()
	got, err := l.DeployedWorkloads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range got {
		names = append(names, k.Namespace+"/"+k.Kind+"/"+k.Name)
	}
	sort.Strings(names)
	want := "[shop/CronJob/nightly shop/CronJob/report shop/DaemonSet/logs shop/Deployment/idle shop/Deployment/web shop/Job/backfill " +
		"shop/Pod/debug shop/ReplicaSet/legacy shop/ReplicationController/old-rc shop/StatefulSet/cache shop/StatefulSet/db]"
	if fmt.Sprint(names) != want {
		t.Errorf("deployed %v\nwant %s", names, want)
	}
	if len(names) != len(got) {
		t.Errorf("%d keys for %d workloads: a workload listed twice", len(got), len(names))
	}

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, k := range []store.WorkloadKey{
		{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"},
		{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "idle"},    // scaled to zero
		{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "old-web"}, // deleted while the webhook was down
		{Cluster: "eu-1", Namespace: "shop", Kind: "Job", Name: "migrate"},        // finished
		{Cluster: "eu-1", Namespace: "shop", Kind: "Job", Name: "backfill"},       // suspended
		{Cluster: "eu-1", Namespace: "shop", Kind: "Pod", Name: "debug"},
		{Cluster: "eu-1", Namespace: "shop", Kind: "Pod", Name: "oneshot"}, // finished
	} {
		if err := st.PutWorkload(ctx, store.Workload{WorkloadKey: k, Containers: []store.DeployedContainer{{Name: "c", Path: "spec.template.spec.containers[0]", Image: "x", Digest: "sha256:x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := admission.Reconcile(ctx, "eu-1", l, st)
	if err != nil || n != 3 {
		t.Fatalf("removed %d (%v), want old-web, migrate and oneshot", n, err)
	}
	ds, _ := st.Deployments(ctx, store.DeploymentFilter{})
	var left []string
	for _, d := range ds {
		left = append(left, d.Kind+"/"+d.Workload)
	}
	sort.Strings(left)
	if fmt.Sprint(left) != "[Deployment/idle Deployment/web Job/backfill Pod/debug]" {
		t.Errorf("left %v", left)
	}
}
