package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// RetainSeenBefore is the inventory surface of a scheduled reconciliation.
type RetainSeenBefore interface {
	Deployments
	RetainWorkloadsSeenBefore(ctx context.Context, cluster string, running []store.WorkloadKey, before time.Time) ([]store.WorkloadKey, error)
}

// RunRetainSeenBefore checks that a reconciliation removes only what the
// listing does not name and was recorded before its cut-off, in that
// cluster, and reports what it removed.
func RunRetainSeenBefore(t *testing.T, open func(t *testing.T) RetainSeenBefore) {
	t.Run("RetainSeenBefore", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		put := func(cluster, name string, at time.Time, containers int) {
			t.Helper()
			w := store.Workload{WorkloadKey: store.WorkloadKey{Cluster: cluster, Namespace: "shop", Kind: "Deployment", Name: name}, At: at}
			for i := range containers {
				w.Containers = append(w.Containers, store.DeployedContainer{Name: fmt.Sprint("c", i), Path: fmt.Sprintf("spec.template.spec.containers[%d]", i), Image: "img", Digest: "sha256:x"})
			}
			if err := s.PutWorkload(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		cutoff := t0.Add(time.Hour)
		put("eu-1", "web", t0, 2)                        // listed: kept
		put("eu-1", "old", t0, 2)                        // not listed, recorded before the cut-off: removed
		put("eu-1", "new", cutoff, 1)                    // recorded at the cut-off: kept
		put("eu-1", "fresh", cutoff.Add(time.Minute), 1) // recorded since: kept
		put("us-1", "old", t0, 1)                        // another cluster: untouched
		gone, err := s.RetainWorkloadsSeenBefore(ctx, "eu-1", []store.WorkloadKey{{Namespace: "shop", Kind: "Deployment", Name: "web"}}, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if want := "[{eu-1 shop Deployment old}]"; fmt.Sprint(gone) != want {
			t.Errorf("removed %v, want %s", gone, want)
		}
		var left []string
		for _, d := range must(s.Deployments(ctx, store.DeploymentFilter{})) {
			left = append(left, d.Cluster+"/"+d.Workload+"/"+d.Container)
		}
		if want := "[eu-1/fresh/c0 eu-1/new/c0 eu-1/web/c0 eu-1/web/c1 us-1/old/c0]"; fmt.Sprint(left) != want {
			t.Errorf("left %v\nwant %s", left, want)
		}
	})
}
