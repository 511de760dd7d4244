// Package cluster connects the admission webhook to its Kubernetes cluster
// with client-go: namespace labels from a watched cache (Namespaces, for
// the environment and the policy's context.labels), and what is deployed
// now, for reconciling the deployment inventory (Lister, admission.Reconcile,
// run on a schedule by Reconciler; Start wires both from the admission
// config). The inventory records top-level workloads — the object admission
// saw, a Deployment rather than its ReplicaSets and Pods. A workload of
// record that exists is deployed whether or not a Pod of it runs: a
// Deployment scaled to zero comes back through the scale sub-resource
// (kubectl scale, an autoscaler), which admission never sees, and its Pods
// are owned, so nothing would record it again. A running Pod is also
// traced up its controller owner references — Pod → ReplicaSet →
// Deployment, Pod → Job → CronJob, Pod → StatefulSet, DaemonSet or
// ReplicationController — and a Pod without a controller is its own
// workload.
package cluster

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/safeguard-dev/safeguard/store"
)

// pageSize bounds each list call, so a large cluster is read in pages.
const pageSize = 500

// Lister answers admission.Cluster from the Kubernetes API. It needs
// list permission on pods, replicationcontrollers, deployments,
// replicasets, statefulsets, daemonsets, jobs and cronjobs
// (admission.ClusterRules).
type Lister struct {
	client kubernetes.Interface
}

// New returns a Lister over a clientset.
func New(client kubernetes.Interface) *Lister { return &Lister{client: client} }

// DeployedWorkloads returns the workloads of record that exist — every
// Deployment, StatefulSet, DaemonSet, ReplicationController, ReplicaSet,
// CronJob and unfinished Job that no controller owns, however many
// replicas it has — and the top-level workload of every Pod that has not
// finished. An object with a controller is not a workload of record (the
// webhook records its owner), and a finished Job runs nothing again: a
// re-run is a new Job, which admission records.
func (l *Lister) DeployedWorkloads(ctx context.Context) ([]store.WorkloadKey, error) {
	seen := map[store.WorkloadKey]bool{}
	var out []store.WorkloadKey
	add := func(k store.WorkloadKey) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	// top adds obj when it is a workload of record, and reports whether it is.
	top := func(obj metav1.Object, kind string) bool {
		if metav1.GetControllerOf(obj) != nil {
			return false
		}
		add(store.WorkloadKey{Namespace: obj.GetNamespace(), Kind: kind, Name: obj.GetName()})
		return true
	}
	rsOwner := map[string]metav1.OwnerReference{} // namespace/name of a ReplicaSet → its controller
	if err := l.eachPage(ctx, "replicasets", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.AppsV1().ReplicaSets("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			rs := &list.Items[i]
			if o := metav1.GetControllerOf(rs); o != nil {
				rsOwner[rs.Namespace+"/"+rs.Name] = *o
			} else {
				top(rs, "ReplicaSet")
			}
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	jobOwner := map[string]metav1.OwnerReference{}
	if err := l.eachPage(ctx, "jobs", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.BatchV1().Jobs("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			j := &list.Items[i]
			if o := metav1.GetControllerOf(j); o != nil {
				jobOwner[j.Namespace+"/"+j.Name] = *o
			} else if !finished(j) {
				top(j, "Job") // a suspended Job, or one between Pods, still runs
			}
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	if err := l.eachPage(ctx, "deployments", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.AppsV1().Deployments("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			top(&list.Items[i], "Deployment")
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	if err := l.eachPage(ctx, "statefulsets", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.AppsV1().StatefulSets("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			top(&list.Items[i], "StatefulSet")
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	if err := l.eachPage(ctx, "daemonsets", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.AppsV1().DaemonSets("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			top(&list.Items[i], "DaemonSet")
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	if err := l.eachPage(ctx, "replicationcontrollers", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.CoreV1().ReplicationControllers("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			top(&list.Items[i], "ReplicationController")
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	if err := l.eachPage(ctx, "cronjobs", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.BatchV1().CronJobs("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			top(&list.Items[i], "CronJob") // runs on its schedule even when no Pod of it runs now
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	// Last, so the owner maps are complete: a Pod names the workload that
	// runs it even while that workload is being deleted, or is of a kind
	// not listed above (a custom controller's ReplicaSets).
	if err := l.eachPage(ctx, "pods", func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			p := &list.Items[i]
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue // finished: runs nothing
			}
			add(topOf(p, rsOwner, jobOwner))
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// finished reports whether a Job has completed or failed for good.
func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// topOf follows a Pod's controller owners to the workload of record.
func topOf(p *corev1.Pod, rsOwner, jobOwner map[string]metav1.OwnerReference) store.WorkloadKey {
	o := metav1.GetControllerOf(p)
	if o == nil {
		return store.WorkloadKey{Namespace: p.Namespace, Kind: "Pod", Name: p.Name}
	}
	k := store.WorkloadKey{Namespace: p.Namespace, Kind: o.Kind, Name: o.Name}
	var next map[string]metav1.OwnerReference
	switch o.Kind {
	case "ReplicaSet":
		next = rsOwner
	case "Job":
		next = jobOwner
	}
	if up, ok := next[p.Namespace+"/"+o.Name]; ok {
		k.Kind, k.Name = up.Kind, up.Name
	}
	return k
}

// eachPage calls list with continue tokens until the last page; what
// names the resource in an error.
func (l *Lister) eachPage(ctx context.Context, what string, list func(metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, err := list(opts)
		if err != nil {
			return fmt.Errorf("list %s: %w", what, err)
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}
