package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/safeguard-dev/safeguard/admission"
)

// DefaultSyncTimeout bounds the wait for the namespace cache at start-up.
// A webhook that cannot list namespaces (no RBAC, wrong server) stops
// with the reason instead of serving reviews that would each need a GET.
const DefaultSyncTimeout = 30 * time.Second

// Connection is what a long-running webhook runs against its cluster.
type Connection struct {
	// Namespaces goes in admission.Options.Namespaces.
	Namespaces *Namespaces
	// Reconciler runs in the background; nil when reconcile_interval is 0.
	Reconciler *Reconciler

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Close stops the informer and the reconciliation and waits for them, so
// the store can be closed after it.
func (c *Connection) Close() {
	c.cancel()
	c.wg.Wait()
}

// Start connects a long-running webhook to its cluster: it starts the
// namespace informer and waits for its cache (at most DefaultSyncTimeout),
// then, unless cfg.Kubernetes disables it, reconciles inv every interval
// in the background. Everything stops when ctx ends or at Close.
func Start(ctx context.Context, client kubernetes.Interface, cfg admission.Config, inv Inventory, log *slog.Logger, now func() time.Time) (*Connection, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	ns := NewNamespaces(client, log)
	conn := &Connection{Namespaces: ns, cancel: cancel}
	conn.wg.Add(1)
	go func() { defer conn.wg.Done(); ns.informer.RunWithContext(ctx) }()
	sctx, scancel := context.WithTimeout(ctx, DefaultSyncTimeout)
	defer scancel()
	if err := ns.WaitForCacheSync(sctx); err != nil {
		conn.Close()
		return nil, err
	}
	interval := cfg.Kubernetes.Interval()
	log.Info("connected to the cluster", "cluster", cfg.Cluster, "namespaces", len(ns.informer.GetStore().ListKeys()), "reconcile_interval", interval.String())
	if interval > 0 {
		conn.Reconciler = &Reconciler{Cluster: cfg.Cluster, Lister: New(client), Inventory: inv, Interval: interval, Logger: log, Now: now}
		conn.wg.Add(1)
		go func() { defer conn.wg.Done(); conn.Reconciler.Run(ctx) }()
	}
	return conn, nil
}
