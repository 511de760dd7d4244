package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultFetchTimeout bounds the GET for a namespace the informer has not
// delivered yet: the review waits for it, and the webhook's own budget
// (2 s by default) is for the images.
const DefaultFetchTimeout = time.Second

// Namespaces answers admission.NamespaceLabels from a shared informer on
// Namespaces: a watch keeps a local copy, so a label change reaches the
// next review without a restart and a review costs a map lookup, not an
// API call. A namespace the informer has not delivered yet (created a
// moment ago) is read with one GET. Build it with NewNamespaces, then
// Start and WaitForCacheSync.
type Namespaces struct {
	client       kubernetes.Interface
	informer     cache.SharedIndexInformer
	fetchTimeout time.Duration
	log          *slog.Logger

	mu      sync.Mutex
	lastErr error // the informer's last list or watch error, for WaitForCacheSync
}

// NewNamespaces builds the informer over client; log (nil: discard)
// receives the informer's list and watch errors.
func NewNamespaces(client kubernetes.Interface, log *slog.Logger) *Namespaces {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Namespaces{
		client: client,
		// No resync: nothing here reacts to events, the store is only read.
		informer:     coreinformers.NewNamespaceInformer(client, 0, cache.Indexers{}),
		fetchTimeout: DefaultFetchTimeout,
		log:          log,
	}
	// Instead of klog on stderr: the errors go to our log, and the last
	// one explains a cache that never syncs (missing RBAC, wrong server).
	_ = n.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if errors.Is(err, io.EOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			n.log.Debug("namespace watch restarted", "err", err) // routine: the reflector lists again
			return
		}
		n.mu.Lock()
		n.lastErr = err
		n.mu.Unlock()
		n.log.Warn("namespace informer", "err", err)
	})
	return n
}

// Start runs the informer until ctx ends.
func (n *Namespaces) Start(ctx context.Context) {
	go n.informer.RunWithContext(ctx)
}

// WaitForCacheSync waits until the informer holds every namespace, or ctx
// ends; the error then carries the informer's last list error.
func (n *Namespaces) WaitForCacheSync(ctx context.Context) error {
	if cache.WaitForCacheSync(ctx.Done(), n.informer.HasSynced) {
		return nil
	}
	n.mu.Lock()
	last := n.lastErr
	n.mu.Unlock()
	if last != nil {
		return fmt.Errorf("namespace cache did not sync: %w", last)
	}
	// client-go's watch-list retries what it deems transient (a refused
	// connection, a reset) without calling the error handler: one list
	// says why.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.fetchTimeout)
	defer cancel()
	if _, err := n.client.CoreV1().Namespaces().List(pctx, metav1.ListOptions{Limit: 1}); err != nil {
		return fmt.Errorf("namespace cache did not sync: %w", err)
	}
	return fmt.Errorf("namespace cache did not sync: %w", context.Cause(ctx))
}

// NamespaceLabels returns the labels of namespace. From the cache the map
// is the informer's own, not a copy: callers must not modify it (the
// webhook and the gate only read it). A namespace the API server does not
// know has no labels; an API error is returned, for the webhook's failure
// mode to decide.
func (n *Namespaces) NamespaceLabels(ctx context.Context, namespace string) (map[string]string, error) {
	if namespace == "" {
		return nil, nil // a cluster-scoped object
	}
	if obj, ok, err := n.informer.GetStore().GetByKey(namespace); err == nil && ok {
		if ns, ok := obj.(*corev1.Namespace); ok {
			return ns.Labels, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, n.fetchTimeout)
	defer cancel()
	ns, err := n.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read from the API server: %w", err)
	}
	return ns.Labels, nil
}
