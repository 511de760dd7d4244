// Package cluster connects the admission webhook to its Kubernetes cluster
// with client-go: namespace labels from a watched cache (Namespaces, for
// the environment and the policy's context.labels), and what runs now, for
// reconciling the deployment inventory (Lister, admission.Reconcile, run
// on a schedule by Reconciler; Start wires both from the admission
// config). The inventory records top-level workloads — the object admission saw, a
// Deployment rather than its ReplicaSets and Pods — so a running Pod is
// traced up its controller owner references: Pod → ReplicaSet →
// Deployment, Pod → Job → CronJob, Pod → StatefulSet, DaemonSet or
// ReplicationController; a Pod without a controller is its own workload.
package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/safeguard-dev/safeguard/store"
)

// pageSize bounds each list call, so a large cluster is read in pages.
const pageSize = 500

// Lister answers admission.Cluster from the Kubernetes API. It needs
// list permission on pods, replicasets, jobs and cronjobs.
type Lister struct {
	client kubernetes.Interface
}

// New returns a Lister over a clientset.
func New(client kubernetes.Interface) *Lister { return &Lister{client: client} }

// RunningWorkloads returns the top-level workloads of every Pod that has
// not finished, and every CronJob (it runs on its schedule even when no
// Pod of it runs now).
func (l *Lister) RunningWorkloads(ctx context.Context) ([]store.WorkloadKey, error) {
	rsOwner := map[string]metav1.OwnerReference{} // namespace/name of a ReplicaSet → its controller
	if err := l.eachPage(ctx, func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.AppsV1().ReplicaSets("").List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("list replicasets: %w", err)
		}
		for _, rs := range list.Items {
			if o := metav1.GetControllerOf(&rs); o != nil {
				rsOwner[rs.Namespace+"/"+rs.Name] = *o
			}
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	jobOwner := map[string]metav1.OwnerReference{}
	if err := l.eachPage(ctx, func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.BatchV1().Jobs("").List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("list jobs: %w", err)
		}
		for _, j := range list.Items {
			if o := metav1.GetControllerOf(&j); o != nil {
				jobOwner[j.Namespace+"/"+j.Name] = *o
			}
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	seen := map[store.WorkloadKey]bool{}
	var out []store.WorkloadKey
	add := func(k store.WorkloadKey) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if err := l.eachPage(ctx, func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("list pods: %w", err)
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
	if err := l.eachPage(ctx, func(opts metav1.ListOptions) (string, error) {
		list, err := l.client.BatchV1().CronJobs("").List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("list cronjobs: %w", err)
		}
		for _, c := range list.Items {
			add(store.WorkloadKey{Namespace: c.Namespace, Kind: "CronJob", Name: c.Name})
		}
		return list.Continue, nil
	}); err != nil {
		return nil, err
	}
	return out, nil
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

// eachPage calls list with continue tokens until the last page.
func (l *Lister) eachPage(ctx context.Context, list func(metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, err := list(opts)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}
