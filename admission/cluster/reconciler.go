package cluster

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/store"
)

// RecentGrace keeps a workload recorded this shortly before a listing
// although the listing does not show it: admission records a Deployment
// (or a bare Pod) before the API server stores it, so a listing taken in
// between cannot see it.
const RecentGrace = 5 * time.Minute

// Inventory is the store side of a scheduled reconciliation.
type Inventory interface {
	RetainWorkloadsSeenBefore(ctx context.Context, cluster string, running []store.WorkloadKey, before time.Time) ([]store.WorkloadKey, error)
}

// Reconciler runs admission.Reconcile for one cluster on a schedule.
type Reconciler struct {
	Cluster   string            // the admission config's cluster name
	Lister    admission.Cluster // usually a *Lister
	Inventory Inventory
	Interval  time.Duration    // between runs; not positive: Run reconciles once
	Logger    *slog.Logger     // default: discard
	Now       func() time.Time // default: time.Now
}

// Run reconciles at once — what was deleted while no webhook ran goes
// first — then every Interval until ctx ends. Failures are logged and
// retried on the next tick.
func (r *Reconciler) Run(ctx context.Context) {
	if r.Interval <= 0 {
		_, _ = r.Once(ctx)
		return
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		_, _ = r.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once reconciles now and logs what it removed. An empty listing removes
// nothing (admission.ErrEmptyListing).
func (r *Reconciler) Once(ctx context.Context) ([]store.WorkloadKey, error) {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ret := &retainer{inv: r.Inventory, before: now().Add(-RecentGrace)}
	n, err := admission.Reconcile(ctx, r.Cluster, r.Lister, ret)
	switch {
	case errors.Is(err, admission.ErrEmptyListing):
		log.Warn("inventory reconciliation skipped", "cluster", r.Cluster, "err", err)
		return nil, err
	case err != nil:
		if ctx.Err() == nil {
			log.Error("inventory reconciliation", "cluster", r.Cluster, "err", err)
		}
		return nil, err
	case n > 0:
		names := make([]string, 0, min(n, maxLogged))
		for _, k := range ret.gone[:min(n, maxLogged)] {
			names = append(names, k.Namespace+"/"+k.Kind+"/"+k.Name)
		}
		log.Info("inventory reconciled", "cluster", r.Cluster, "removed", n, "workloads", names)
	default:
		log.Debug("inventory reconciled", "cluster", r.Cluster, "removed", 0)
	}
	return ret.gone, nil
}

// maxLogged bounds the workloads named in one log line.
const maxLogged = 50

// retainer is admission.Retainer over RetainWorkloadsSeenBefore, keeping
// what it removed for the log.
type retainer struct {
	inv    Inventory
	before time.Time
	gone   []store.WorkloadKey
}

func (r *retainer) RetainWorkloads(ctx context.Context, cluster string, running []store.WorkloadKey) (int, error) {
	gone, err := r.inv.RetainWorkloadsSeenBefore(ctx, cluster, running, r.before)
	r.gone = gone
	return len(gone), err
}
