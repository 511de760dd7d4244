package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/safeguard-dev/safeguard/store"
)

// Cluster lists the top-level workloads deployed in a cluster now: those
// that exist, whether or not a Pod of them runs (a Deployment scaled to
// zero is still deployed), and those a running Pod traces to.
// admission/cluster implements it with client-go: it lists the workload
// kinds, and Pods followed up their controller owner references (Pod →
// ReplicaSet → Deployment; Pod → Job → CronJob).
type Cluster interface {
	DeployedWorkloads(ctx context.Context) ([]store.WorkloadKey, error)
}

// Retainer is the inventory side of a reconciliation.
type Retainer interface {
	RetainWorkloads(ctx context.Context, cluster string, running []store.WorkloadKey) (int, error)
}

// ErrEmptyListing refuses a reconciliation whose listing found nothing:
// an empty answer is far more often missing RBAC or a wrong context than
// an empty cluster, and would wipe the inventory.
var ErrEmptyListing = errors.New("the cluster listing returned no workloads; not removing the inventory")

// Reconcile removes from the inventory the workloads of cluster that are
// no longer deployed, and returns how many it removed.
func Reconcile(ctx context.Context, cluster string, c Cluster, r Retainer) (int, error) {
	deployed, err := c.DeployedWorkloads(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile %q: list workloads: %w", cluster, err)
	}
	if len(deployed) == 0 {
		return 0, fmt.Errorf("reconcile %q: %w", cluster, ErrEmptyListing)
	}
	return r.RetainWorkloads(ctx, cluster, deployed)
}
